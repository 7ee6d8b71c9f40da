"""``check_billed_days --commune SLUG --period YYYY-MM [--repair]``: audit a month's
billed days (kept by the database, treasury 0006) against the bookings, attendance and
absences they come from; ``--repair`` recomputes them all (journalled)."""

from django.core.management.base import BaseCommand, CommandError

from core.journal import Actor
from tenants.management.options import add_commune_argument, commune_from_option
from treasury.management.commands.run_invoicing import parse_period

SHOWN = 20
COLUMNS = ("family", "child", "unit", "tariff", "grid", "quotient", "category", "days")


class Command(BaseCommand):
    help = "Compare a month's billed days with their sources; --repair recomputes them."

    def add_arguments(self, parser):
        add_commune_argument(parser)
        parser.add_argument("--period", required=True, help="the month, YYYY-MM")
        parser.add_argument("--repair", action="store_true",
                            help="recompute every billed day of the commune if they differ")

    def handle(self, *args, commune, period, repair, **options):
        from treasury.facts_sources import billed_days_differences
        from treasury.services.billed_days import billed_days_rebuild

        month = parse_period(period)
        tenant = commune_from_option(commune)
        with tenant:
            missing, extra = billed_days_differences(month)
            if not missing and not extra:
                self.stdout.write(f"{month:%Y-%m}: the billed days match their sources")
                return
            for label, rows in (("missing", missing), ("extra", extra)):
                for row in sorted(rows, key=str)[:SHOWN]:
                    self.stdout.write(f"  {label}: " + ", ".join(
                        f"{column} {value}" for column, value in zip(COLUMNS, row, strict=True)))
            summary = (f"{month:%Y-%m}: {sum(missing.values())} rows missing, "
                       f"{sum(extra.values())} extra")
            if not repair:
                raise CommandError(f"{summary}; --repair recomputes them")
            rows = billed_days_rebuild(actor=Actor.system("check_billed_days"))
            missing, extra = billed_days_differences(month)
            if missing or extra:
                raise CommandError(f"{summary}; still different after the repair")
            self.stdout.write(f"{summary}; repaired ({rows} rows recomputed)")
