"""Catching what webhooks missed: attempts whose PaymentIntent never reported back are
re-read from the API; attempts abandoned before the card was charged are closed."""

import logging
from datetime import timedelta

import stripe
from django.utils import timezone

from core.journal import Actor
from payments.models import (
    OPEN_ATTEMPT_STATUSES,
    AttemptStatus,
    EventStatus,
    PaymentAttempt,
    WebhookEvent,
)
from payments.provider import PaymentsNotConfigured, online_payment_ready, stripe_client
from payments.services.attempts import ForeignObject, _attempt_close, payment_intent_sync

logger = logging.getLogger(__name__)
QUIET_AFTER = timedelta(minutes=10)
ABANDONED_AFTER = timedelta(hours=24)


def attempts_sweep(*, now=None) -> dict:
    """Re-read every open attempt with a PaymentIntent quiet for ``QUIET_AFTER``; close
    attempts that never reached the card after ``ABANDONED_AFTER``."""
    now = now or timezone.now()
    if not online_payment_ready():
        return {"synced": 0, "abandoned": 0, "events_processed": 0, "events_failed": 0}
    synced = abandoned = 0
    stale = PaymentAttempt.objects.filter(status__in=OPEN_ATTEMPT_STATUSES,
                                          updated_at__lt=now - QUIET_AFTER)
    for attempt in stale.exclude(payment_intent_id="").order_by("pk")[:500]:
        try:
            payment_intent_sync(payment_intent_id=attempt.payment_intent_id,
                                actor=Actor.system("Parvis (contrôle des paiements)"))
            synced += 1
        except (ForeignObject, stripe.StripeError) as error:
            logger.warning("Sweep: attempt %s not synced: %s", attempt.pk, error)
    for attempt in stale.filter(payment_intent_id="",
                                created_at__lt=now - ABANDONED_AFTER).order_by("pk")[:500]:
        _attempt_close(attempt, AttemptStatus.CANCELED, Actor.system("Parvis"))
        abandoned += 1
    return {"synced": synced, "abandoned": abandoned, **{
        f"events_{key}": value for key, value in webhook_events_sweep(now=now).items()}}


STUCK_PROCESSING_AFTER = timedelta(hours=1)
MAX_EVENT_ATTEMPTS = 20


def webhook_events_sweep(*, now=None) -> dict:
    """Process events whose task was lost (broker down at commit, worker killed) or whose
    retries ran out: received or failed for ``QUIET_AFTER``, or stuck in processing for
    ``STUCK_PROCESSING_AFTER``. Each is claimed as usual, so nothing is applied twice."""
    from payments.services.events import webhook_event_process

    now = now or timezone.now()
    WebhookEvent.objects.filter(status=EventStatus.PROCESSING,
                                received_at__lt=now - STUCK_PROCESSING_AFTER).update(
        status=EventStatus.FAILED, error="stuck in processing: retried by the sweep")
    stale = (WebhookEvent.objects.filter(status__in=[EventStatus.RECEIVED, EventStatus.FAILED],
                                         received_at__lt=now - QUIET_AFTER,
                                         attempts__lt=MAX_EVENT_ATTEMPTS)
             .order_by("received_at").values_list("pk", flat=True)[:500])
    processed = failed = 0
    for event_pk in list(stale):
        try:
            webhook_event_process(event_pk=event_pk)
            processed += 1
        except Exception as error:  # recorded on the event; the next sweep tries again
            logger.warning("Sweep: event %s failed again: %s", event_pk, error)
            failed += 1
    return {"processed": processed, "failed": failed}


def payment_intent_cancel(*, payment_intent_id: str) -> str:
    """Cancel a PaymentIntent another attempt made useless (if it can still be)."""
    try:
        client = stripe_client()
        intent = client.v1.payment_intents.retrieve(payment_intent_id)
        if intent.status in ("requires_payment_method", "requires_confirmation",
                             "requires_action"):
            intent = client.v1.payment_intents.cancel(payment_intent_id)
        return intent.status
    except PaymentsNotConfigured:
        return "not-configured"
