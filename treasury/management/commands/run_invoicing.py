"""``run_invoicing --commune SLUG --period YYYY-MM [--issue]``: the invoicing run from the
command line (the same services as the finance page, computed in this process)."""

from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.journal import Actor
from tenants.management.options import add_commune_argument, commune_from_option
from treasury.pricing import format_cents


def parse_period(value: str) -> date:
    try:
        year, month = (int(part) for part in value.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise CommandError(f"--period must be YYYY-MM, not {value!r}") from None


class Command(BaseCommand):
    help = "Compute a month's invoices for a commune (drafts), and issue them with --issue."

    def add_arguments(self, parser):
        add_commune_argument(parser)
        parser.add_argument("--period", required=True, help="the month, YYYY-MM")
        parser.add_argument("--issue", action="store_true", help="issue the drafts")

    def handle(self, *args, commune, period, issue, **options):
        from treasury.services.runs import (
            invoicing_run_compute,
            invoicing_run_issue,
            invoicing_run_start,
        )

        month = parse_period(period)
        tenant = commune_from_option(commune)
        actor = Actor.system("run_invoicing")
        with tenant:
            try:
                run = invoicing_run_start(period=month, actor=actor)
                run = invoicing_run_compute(run_id=run.pk)
                summary = run.summary
                self.stdout.write(
                    f"{run.period:%Y-%m}: {summary['invoices']} invoices "
                    f"({format_cents(summary['total_cents'])}), "
                    f"{summary['credit_notes']} credit notes, "
                    f"{summary['anomaly_count']} families with anomalies")
                for unit, days in summary["untariffed_days"].items():
                    self.stdout.write(f"  no tariff: {unit} ({days} days not billed)")
                if issue:
                    run = invoicing_run_issue(run_id=run.pk, actor=actor)
                    self.stdout.write(f"issued (run {run.pk})")
                else:
                    self.stdout.write(f"drafts to review (run {run.pk}); --issue to issue")
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
