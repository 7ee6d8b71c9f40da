"""Catching what webhooks missed: attempts whose PaymentIntent never reported back are
re-read from the API; attempts abandoned before the card was charged are closed."""

import logging
from datetime import timedelta

import stripe
from django.utils import timezone

from core.journal import Actor
from payments.models import OPEN_ATTEMPT_STATUSES, AttemptStatus, PaymentAttempt
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
        return {"synced": 0, "abandoned": 0}
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
    return {"synced": synced, "abandoned": abandoned}


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
