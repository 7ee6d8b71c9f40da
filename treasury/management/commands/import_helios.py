"""``import_helios --commune SLUG FILE``: import a Hélios acknowledgement (PES_Ack) or
return file (PES_RecetteRetour), as the finance page does."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.journal import Actor
from tenants.models import Commune


class Command(BaseCommand):
    help = "Import a file received from Hélios (acknowledgement or return file)."

    def add_arguments(self, parser):
        parser.add_argument("--commune", required=True, help="the commune's slug (schema)")
        parser.add_argument("file", help="the XML file received")

    def handle(self, *args, commune, file, **options):
        from treasury.services.helios_imports import helios_file_import

        try:
            tenant = Commune.objects.get(schema_name=commune)
        except Commune.DoesNotExist:
            raise CommandError(f"unknown commune {commune!r}") from None
        try:
            content = Path(file).read_bytes()
        except OSError as error:
            raise CommandError(str(error)) from None
        with tenant:
            try:
                record = helios_file_import(content=content, file_name=Path(file).name,
                                            actor=Actor.system("import_helios"))
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"{record.get_kind_display()} imported:\n{record.summary}")
