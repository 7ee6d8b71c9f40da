from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.selectors import tenant_schemas_behind
from tenants.services import platform_setup


class Command(BaseCommand):
    help = (
        "Deploy step: migrate the public schema, ensure the vendor hosts and the template "
        "schema, then migrate every commune schema (template included) in parallel if any "
        "of them misses a migration."
    )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        platform_setup(vendor_hosts=settings.VENDOR_HOSTS)
        behind = tenant_schemas_behind()
        if behind:
            if verbosity:
                self.stdout.write(f"{len(behind)} schema(s) behind the code: "
                                  f"{', '.join(behind[:10])}{'…' if len(behind) > 10 else ''}")
            call_command("migrate_schemas", tenant=True, executor="multiprocessing",
                         interactive=False, verbosity=verbosity)
        elif verbosity:
            self.stdout.write("Every commune schema is up to date: nothing to migrate.")
        self.stdout.write(self.style.SUCCESS("Platform ready."))
