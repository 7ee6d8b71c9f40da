"""Reads for the finance staff's card-payment page (a handful of queries)."""

from django.http import Http404

from payments.models import (
    OPEN_ATTEMPT_STATUSES,
    AttemptStatus,
    Dispute,
    DisputeStatus,
    EventStatus,
    PaymentAttempt,
    Payout,
    WebhookEvent,
)


def card_overview() -> dict:
    attempts = PaymentAttempt.objects.select_related("family", "payment")
    return {
        "to_review": list(attempts.filter(needs_review=True).order_by("created_at")[:200]),
        "open_disputes": list(Dispute.objects.select_related("payment", "payment__family")
                              .filter(status=DisputeStatus.OPEN)[:200]),
        "problem_events": list(WebhookEvent.objects.filter(
            status__in=[EventStatus.FOREIGN, EventStatus.FAILED]).defer("payload")[:100]),
        "pending": list(attempts.filter(status__in=OPEN_ATTEMPT_STATUSES)
                        .exclude(payment_intent_id="")[:100]),
        "recent": list(attempts.filter(status=AttemptStatus.SUCCEEDED)[:50]),
        "payouts": list(Payout.objects.defer("payload")[:24]),
    }


def attempt_to_review(attempt_id: int) -> PaymentAttempt:
    try:
        return PaymentAttempt.objects.get(pk=attempt_id, needs_review=True)
    except PaymentAttempt.DoesNotExist:
        raise Http404 from None


def reconciliation_overview(period) -> dict:
    """The month's payouts, its anomalies (open first) and whether it is closed."""
    from payments.models import Anomaly, AnomalyStatus, MonthClose
    from payments.services.month_close import month_payouts

    anomalies = Anomaly.objects.filter(period=period).select_related(
        "family", "payment", "payout", "resolved_by")
    return {
        "period": period,
        "payouts": list(month_payouts(period)),
        "unreconciled_payouts": list(Payout.objects.filter(
            status="paid", reconciled_at__isnull=True).defer("payload")[:50]),
        "open_anomalies": list(anomalies.filter(status=AnomalyStatus.OPEN)[:500]),
        "resolved_anomalies": list(anomalies.filter(status=AnomalyStatus.RESOLVED)
                                   .order_by("-resolved_at")[:200]),
        "closed": MonthClose.objects.filter(period=period).first(),
        "closes": list(MonthClose.objects.all()[:24]),
    }


def payout_for_finance(payout_id: int) -> Payout:
    try:
        return Payout.objects.get(pk=payout_id)
    except Payout.DoesNotExist:
        raise Http404 from None


def payout_lines(payout: Payout) -> list:
    """The payout's balance transactions with their payment, family and the invoices
    the payment settles (three queries)."""
    from payments.models import PayoutTransaction

    lines = list(PayoutTransaction.objects.filter(payout=payout).select_related(
        "payment", "payment__family").prefetch_related("payment__settlements__invoice"))
    return lines


def anomaly_for_finance(anomaly_id: int):
    from payments.models import Anomaly

    try:
        return Anomaly.objects.get(pk=anomaly_id)
    except Anomaly.DoesNotExist:
        raise Http404 from None
