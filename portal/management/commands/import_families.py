"""Import families from a legacy CSV export into one commune (see docs/import-format.md)."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core.journal import Actor
from portal.importer import families_import
from tenants.models import Commune, CommuneKind


class Command(BaseCommand):
    help = ("Import families, guardians, children and family quotients from a CSV file "
            "(one row per child). With a rejected line nothing is saved, unless --skip-invalid.")

    def add_arguments(self, parser):
        parser.add_argument("--commune", required=True, help="the commune's identifier (slug)")
        parser.add_argument("file", help="CSV file, ';' or ',' separated")
        parser.add_argument("--dry-run", action="store_true",
                            help="check and count, save nothing")
        parser.add_argument("--skip-invalid", action="store_true",
                            help="save the valid lines and report the rejected ones")

    def handle(self, *args, **options):
        commune = Commune.objects.filter(schema_name=options["commune"],
                                         kind=CommuneKind.COMMUNE).first()
        if commune is None:
            raise CommandError(_("Unknown commune: %(slug)s.") % {"slug": options["commune"]})
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(_("Cannot read %(file)s: %(error)s")
                               % {"file": path, "error": exc.strerror}) from None
        with commune:
            try:
                report = families_import(
                    data=data, filename=path.name, dry_run=options["dry_run"],
                    skip_invalid=options["skip_invalid"],
                    actor=Actor.system(f"import_families {path.name}"),
                )
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(report.render())
        if options["verbosity"] >= 2:
            self.stdout.write(f"{report.seconds:.2f} s")
        if report.has_errors and not options["skip_invalid"]:
            raise CommandError(_("%(count)d lines rejected: nothing was saved. Correct them, "
                                 "or run again with --skip-invalid to save the valid lines.")
                               % {"count": len(report.rejected)})
