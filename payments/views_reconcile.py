"""Finance staff: card payouts reconciled against the ledger, the queue of anomalies,
and the month's close with its CSV and PDF report."""

from datetime import date

import stripe
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import actor_from_request, capability_required
from accounts.roles import Capability
from payments import selectors
from payments.provider import PaymentsNotConfigured
from payments.report import report_context, report_csv, report_pdf
from payments.services.month_close import month_close, month_report
from payments.services.reconcile import anomalies_detect, anomaly_resolve, payout_reconcile

FINANCE = Capability.MANAGE_FINANCE


def _period(value: str | None) -> date:
    """``"2026-04"`` → 1 April 2026; nothing or nonsense → the current month."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return timezone.localdate().replace(day=1)


def _month(year: int, month: int) -> date:
    try:
        return date(year, month, 1)
    except ValueError:
        raise Http404 from None


def _overview_url(period: date) -> str:
    return f"{reverse('payments:reconciliation')}?mois={period:%Y-%m}"


@capability_required(FINANCE)
def reconciliation(request):
    period = _period(request.GET.get("mois"))
    return render(request, "payments/agent/reconciliation.html",
                  selectors.reconciliation_overview(period))


@capability_required(FINANCE)
@require_POST
def anomalies_detect_view(request):
    period = _period(request.POST.get("mois"))
    count = anomalies_detect(period=period, actor=actor_from_request(request))
    messages.success(request, _("%(count)s new anomalies.") % {"count": count})
    return redirect(_overview_url(period))


@capability_required(FINANCE)
def payout_detail(request, payout_id):
    payout = selectors.payout_for_finance(payout_id)
    return render(request, "payments/agent/payout.html", {
        "payout": payout, "lines": selectors.payout_lines(payout),
        "anomalies": list(payout.anomalies.select_related("family"))})


@capability_required(FINANCE)
@require_POST
def payout_reconcile_view(request, payout_id):
    payout = selectors.payout_for_finance(payout_id)
    try:
        payout = payout_reconcile(payout=payout, actor=actor_from_request(request))
    except PaymentsNotConfigured:
        messages.error(request, _("Online payment is not configured for this commune."))
    except stripe.StripeError as error:
        messages.error(request, _("The provider did not give the payout's contents: "
                                  "%(error)s") % {"error": getattr(error, "user_message", "")
                                                  or str(error)[:200]})
    else:
        if payout.ties_out:
            messages.success(request, _("The payout ties out."))
        else:
            messages.warning(request, _("The payout does not tie out: see the anomalies."))
    return redirect("payments:payout", payout.pk)


@capability_required(FINANCE)
@require_POST
def anomaly_resolve_view(request, anomaly_id):
    anomaly = selectors.anomaly_for_finance(anomaly_id)
    try:
        anomaly_resolve(anomaly=anomaly, note=request.POST.get("note", ""),
                        actor=actor_from_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Anomaly resolved."))
    return redirect(_overview_url(anomaly.period))


@capability_required(FINANCE)
@require_http_methods(["GET", "POST"])
def month_close_view(request, year, month):
    period, errors = _month(year, month), []
    if request.method == "POST":
        try:
            month_close(period=period, actor=actor_from_request(request))
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, _("Month %(month)s closed.") % {
                "month": f"{period:%m/%Y}"})
            return redirect("payments:month_close", period.year, period.month)
    context = report_context(month_report(period))
    return render(request, "payments/agent/month_close.html", {**context, "errors": errors},
                  status=400 if errors else 200)


def _download(data, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@capability_required(FINANCE)
def month_report_csv(request, year, month):
    period = _month(year, month)
    return _download(report_csv(month_report(period)).encode("utf-8-sig"),
                     "text/csv; charset=utf-8", f"cloture-{period:%Y-%m}.csv")


@capability_required(FINANCE)
def month_report_pdf(request, year, month):
    period = _month(year, month)
    return _download(report_pdf(month_report(period)), "application/pdf",
                     f"cloture-{period:%Y-%m}.pdf")
