from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.services import platform_setup


class Command(BaseCommand):
    help = (
        "Deploy step: migrate the public schema, ensure the vendor hosts and the template "
        "schema, then migrate every commune schema (template included) in parallel."
    )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        platform_setup(vendor_hosts=settings.VENDOR_HOSTS)
        call_command("migrate_schemas", tenant=True, executor="multiprocessing", interactive=False,
                     verbosity=verbosity)
        self.stdout.write(self.style.SUCCESS("Platform ready."))
