"""Provider webhooks: verified on the raw body, stored once under their event id, then
processed by a task that re-reads the object from the API and moves states forward.

A commune's endpoint is verified with that commune's webhook secret, so an event can
only ever be applied in the commune whose secret signed it; an event whose object names
another commune (or none we know) is stored as ``foreign`` and reported, never applied.
"""

import json
import logging

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.journal import Actor, journal_record
from payments.models import EventStatus, WebhookEvent
from payments.provider import commune_payment_settings
from payments.services.attempts import ForeignObject, payment_intent_sync
from payments.services.refunds import charge_refunds_sync, dispute_sync, payout_sync

logger = logging.getLogger(__name__)


class BadWebhook(Exception):
    """Unsigned, forged, stale or malformed: answered 400, nothing recorded."""


def _handlers():
    return {
        "payment_intent.succeeded": lambda obj: payment_intent_sync(payment_intent_id=obj["id"]),
        "payment_intent.payment_failed": lambda obj: payment_intent_sync(
            payment_intent_id=obj["id"]),
        "payment_intent.canceled": lambda obj: payment_intent_sync(payment_intent_id=obj["id"]),
        "payment_intent.processing": lambda obj: payment_intent_sync(
            payment_intent_id=obj["id"]),
        "payment_intent.requires_action": lambda obj: payment_intent_sync(
            payment_intent_id=obj["id"]),
        "charge.refunded": lambda obj: charge_refunds_sync(charge_id=obj["id"]),
        "charge.dispute.created": dispute_sync,
        "charge.dispute.updated": dispute_sync,
        "charge.dispute.closed": dispute_sync,
        "payout.created": lambda obj: payout_sync(payout_id=obj["id"]),
        "payout.updated": lambda obj: payout_sync(payout_id=obj["id"]),
        "payout.paid": lambda obj: payout_sync(payout_id=obj["id"]),
        "payout.failed": lambda obj: payout_sync(payout_id=obj["id"]),
    }


HANDLED_TYPES = frozenset(_handlers())


def webhook_receive(*, payload: bytes, signature: str | None) -> tuple[WebhookEvent, bool]:
    """Verify and store one event (the event id once); queue its processing after
    commit. Returns the event and whether it was new."""
    current = commune_payment_settings()
    secret = current.webhook_secret if current else ""
    if not secret or not signature:
        raise BadWebhook("no signature or no webhook secret for this commune")
    try:
        stripe.Webhook.construct_event(payload, signature, secret,
                                       tolerance=settings.STRIPE_WEBHOOK_TOLERANCE)
        data = json.loads(payload)
        event_id, event_type = data["id"], data["type"]
        obj = data["data"]["object"]
    except (stripe.SignatureVerificationError, ValueError, KeyError, TypeError) as error:
        raise BadWebhook(str(error)) from error
    from payments.tasks import webhook_event_process_task

    try:
        with transaction.atomic():
            event, created = WebhookEvent.objects.get_or_create(
                event_id=event_id, defaults={
                    "type": event_type, "payload": data,
                    "object_id": str(obj.get("id", ""))[:100] if isinstance(obj, dict) else "",
                    "status": EventStatus.RECEIVED if event_type in HANDLED_TYPES
                    else EventStatus.IGNORED})
            # A new event, or a redelivery of one still unprocessed (its task may have
            # been lost): queue its processing (the task claims it once).
            if event.status in (EventStatus.RECEIVED, EventStatus.FAILED):
                webhook_event_process_task.delay_on_commit(event.pk)
    except IntegrityError:  # the same event delivered twice at the same instant
        return WebhookEvent.objects.get(event_id=event_id), False
    return event, created


def webhook_event_process(*, event_pk: int) -> WebhookEvent:
    """Claim the event (a conditional update: one worker only) and apply it. An
    exception marks it failed and propagates, for the task to retry."""
    claimed = WebhookEvent.objects.filter(
        pk=event_pk, status__in=[EventStatus.RECEIVED, EventStatus.FAILED]).update(
        status=EventStatus.PROCESSING, attempts=F("attempts") + 1)
    event = WebhookEvent.objects.get(pk=event_pk)
    if not claimed:
        return event
    handler = _handlers().get(event.type)
    try:
        if handler is None:
            status, error = EventStatus.IGNORED, ""
        else:
            handler(event.payload["data"]["object"])
            status, error = EventStatus.PROCESSED, ""
    except ForeignObject as foreign:
        status, error = EventStatus.FOREIGN, str(foreign)
        logger.warning("Webhook event %s not applied: %s", event.event_id, foreign)
        journal_record(actor=Actor.system("Stripe"), action="payments.webhook_foreign",
                       target=event, summary=f"{event.type} {event.event_id}: {foreign}"[:255],
                       changes={"event": event.event_id})
    except Exception as failure:
        WebhookEvent.objects.filter(pk=event_pk).update(
            status=EventStatus.FAILED, error=repr(failure)[:2000])
        raise
    WebhookEvent.objects.filter(pk=event_pk).update(status=status, error=error,
                                                    processed_at=timezone.now())
    event.refresh_from_db()
    return event
