"""Closing a month of the régie: refused unless every family's invoices of the month
are accounted for to the cent, every payout of the month ties out, and no anomaly of
the month is open (anomalies are detected again first)."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_record
from payments.models import Anomaly, AnomalyStatus, MonthClose, Payout
from payments.services.reconcile import anomalies_detect, month_end, month_start
from treasury.pricing import format_cents
from treasury.selectors_close import MonthFigures, month_figures

ERROR_CLOSED = gettext_lazy("Month %(month)s is already closed.")
ERROR_NOT_OVER = gettext_lazy("A month can only be closed once it is over.")
ERROR_ANOMALIES = gettext_lazy(
    "%(count)s anomalies of this month are still open: resolve them first.")
ERROR_DIFFERENCE = gettext_lazy(
    "The month does not tie out: a difference of %(amount)s (%(families)s families).")
ERROR_PAYOUTS = gettext_lazy(
    "%(count)s payouts of this month are not reconciled or do not tie out.")


def month_payouts(period: date):
    """Payouts arriving in the month (failed or cancelled ones never arrive)."""
    return (Payout.objects.filter(arrival_date__gte=period, arrival_date__lt=month_end(period))
            .exclude(status__in=["failed", "canceled"]).defer("payload")
            .order_by("arrival_date", "id"))


def month_report(period: date) -> dict:
    """What the close page, the CSV and the PDF show for ``period``."""
    period = month_start(period)
    figures = month_figures(period)
    payouts = list(month_payouts(period))
    anomalies = list(Anomaly.objects.filter(period=period).select_related(
        "family", "payment", "payout", "resolved_by").order_by("status", "created_at", "id"))
    totals = {name: sum(getattr(payout, name) for payout in payouts) for name in (
        "amount_cents", "gross_cents", "refunds_cents", "disputes_cents", "fees_cents",
        "other_cents")}
    return {"period": period, "figures": figures, "payouts": payouts,
            "payout_totals": totals, "anomalies": anomalies,
            "open_anomalies": [a for a in anomalies if a.status == AnomalyStatus.OPEN],
            "unreconciled": [p for p in payouts if not p.ties_out],
            "closed": MonthClose.objects.filter(period=period).select_related(
                "closed_by").first()}


def _refusals(report: dict) -> list[str]:
    figures: MonthFigures = report["figures"]
    errors = []
    if not figures.ties_out:
        difference = figures.total.difference or sum(
            line.difference for line in figures.differences)
        errors.append(ERROR_DIFFERENCE % {"amount": format_cents(difference),
                                          "families": len(figures.differences)})
    if report["unreconciled"]:
        errors.append(ERROR_PAYOUTS % {"count": len(report["unreconciled"])})
    if report["open_anomalies"]:
        errors.append(ERROR_ANOMALIES % {"count": len(report["open_anomalies"])})
    return errors


def figures_json(report: dict) -> dict:
    figures: MonthFigures = report["figures"]
    total = figures.total
    return {"invoiced": total.invoiced, "paid": total.paid, "at_treasury": total.at_treasury,
            "credited": total.credited, "outstanding": total.outstanding,
            "receipts": figures.receipts_by_channel, "refunds": figures.refunds_cents,
            "payouts": report["payout_totals"], "families": len(figures.families),
            "anomalies_resolved": len(report["anomalies"])}


def month_close(*, period: date, actor: Actor) -> MonthClose:
    """Close ``period`` (journalled), or raise ``ValidationError`` listing why not."""
    period = month_start(period)
    label = f"{period:%m/%Y}"
    if MonthClose.objects.filter(period=period).exists():
        raise ValidationError(ERROR_CLOSED % {"month": label})
    if month_end(period) > timezone.localdate():
        raise ValidationError(ERROR_NOT_OVER)
    anomalies_detect(period=period)
    report = month_report(period)
    errors = _refusals(report)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            closed = MonthClose.objects.create(
                period=period, figures=figures_json(report),
                closed_by=actor.user if getattr(actor.user, "pk", None) else None)
            journal_record(actor=actor, action="payments.month_close", target=closed,
                           summary=_("Month %(month)s closed: %(invoiced)s invoiced, "
                                     "%(receipts)s received") % {
                               "month": label,
                               "invoiced": format_cents(report["figures"].total.invoiced),
                               "receipts": format_cents(report["figures"].receipts_cents)},
                           changes=closed.figures)
    except IntegrityError:  # closed meanwhile by someone else
        raise ValidationError(ERROR_CLOSED % {"month": label}) from None
    return closed
