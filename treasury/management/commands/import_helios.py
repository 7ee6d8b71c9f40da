"""``import_helios --commune SLUG FILE``: import a Hélios acknowledgement (PES_Ack) or
return file (PES_RecetteRetour), as the finance page does."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.journal import Actor
from tenants.management.options import add_commune_argument, commune_from_option


class Command(BaseCommand):
    help = "Import a file received from Hélios (acknowledgement or return file)."

    def add_arguments(self, parser):
        add_commune_argument(parser)
        parser.add_argument("file", help="the XML file received")

    def handle(self, *args, commune, file, **options):
        from treasury.services.helios_imports import helios_file_import

        tenant = commune_from_option(commune)
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
