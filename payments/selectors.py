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
