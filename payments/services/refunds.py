"""Money going back: refunds decided by the régisseur, refunds seen on the provider,
disputes (a lost one gives the money back and re-opens the invoices), and payouts
(recorded for the reconciliation)."""

from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_record
from payments.models import Dispute, DisputeStatus, Payout, RefundRequest
from payments.provider import as_dict, object_id, stripe_client
from treasury.models import Channel, Payment
from treasury.pricing import format_cents
from treasury.services.refunds import payment_refund, payment_refundable

ERROR_NOT_CARD = gettext_lazy("Only a card payment made online can be refunded to the card.")
ERROR_TOO_MUCH = gettext_lazy("At most %(left)s of this payment can still be refunded.")
ERROR_REASON = gettext_lazy("Give the reason of the refund.")
ERROR_AMOUNT = gettext_lazy("The amount must be more than 0,00 €.")


def _foreign():
    from payments.services.attempts import ForeignObject

    return ForeignObject


def card_refund(*, payment: Payment, amount_cents: int, reason: str, token: str,
                actor: Actor) -> RefundRequest:
    """Refund (part of) an online card payment to the card, then in the ledger. The
    form's ``token`` makes a double submission one refund."""
    reason = reason.strip()
    if payment.channel != Channel.ONLINE_CARD or not payment.reference:
        raise ValidationError(ERROR_NOT_CARD)
    if not reason:
        raise ValidationError(ERROR_REASON)
    if not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValidationError(ERROR_AMOUNT)
    client = stripe_client()
    with transaction.atomic():
        Payment.objects.select_for_update().get(pk=payment.pk)
        request, created = RefundRequest.objects.get_or_create(token=token, defaults={
            "payment": payment, "amount_cents": amount_cents, "reason": reason,
            "requested_by": actor.user if actor.user is not None else None})
        if not created:
            return request
        left = payment_refundable(payment)
        if amount_cents > left:
            raise ValidationError(ERROR_TOO_MUCH % {"left": format_cents(left)})
        refund = client.v1.refunds.create(
            params={"payment_intent": payment.reference, "amount": amount_cents,
                    "metadata": {"commune": connection.schema_name, "payment": str(payment.pk),
                                 "reason": reason[:400]}},
            options={"idempotency_key": f"parvis:{connection.schema_name}:refund:{token}"})
        request.refund_id = refund.id
        request.save(update_fields=["refund_id"])
        payment_refund(payment=payment, amount_cents=amount_cents, reason=reason, actor=actor,
                       reference=refund.id)
    return request


def charge_refunds_sync(*, charge_id: str) -> int:
    """Re-read a charge and record each of its succeeded refunds once (refunds made in
    the provider's dashboard too). Returns how many were new."""
    charge = as_dict(stripe_client().v1.charges.retrieve(charge_id,
                                                         params={"expand": ["refunds"]}))
    payment = Payment.objects.filter(channel=Channel.ONLINE_CARD,
                                     reference=object_id(charge.get("payment_intent"))).first()
    if payment is None:
        raise _foreign()(f"{charge_id}: no card payment of this commune")
    refunds = (charge.get("refunds") or {}).get("data") or []
    new = 0
    for refund in refunds:
        if refund.get("status") not in (None, "succeeded", "pending"):
            continue
        if payment.refunds.filter(reference=refund["id"]).exists():
            continue
        reason = (refund.get("metadata") or {}).get("reason") or _("Refund to the card")
        payment_refund(payment=payment, amount_cents=refund["amount"], reason=reason,
                       actor=Actor.system("Stripe"), reference=refund["id"])
        new += 1
    return new


_DISPUTE_STATUS = {"lost": DisputeStatus.LOST, "won": DisputeStatus.WON,
                   "warning_closed": DisputeStatus.WON}


def dispute_sync(obj: dict) -> Dispute:
    """Open, then close a dispute (forward only). Lost: the disputed amount leaves the
    ledger as a refund of the payment and its invoices are due again. The dispute is
    read from the signed event (localstripe has no dispute API; the signature proves
    the sender)."""
    intent_id = object_id(obj.get("payment_intent"))
    payment = Payment.objects.filter(channel=Channel.ONLINE_CARD, reference=intent_id).first() \
        if intent_id else None
    if payment is None:
        raise _foreign()(f"{obj.get('id')}: no card payment of this commune")
    status = _DISPUTE_STATUS.get(obj.get("status"), DisputeStatus.OPEN)
    actor = Actor.system("Stripe")
    with transaction.atomic():
        dispute, created = Dispute.objects.select_for_update().get_or_create(
            dispute_id=obj["id"], defaults={
                "payment": payment, "payment_intent_id": intent_id,
                "amount_cents": obj["amount"], "reason": obj.get("reason") or ""})
        if created:
            journal_record(actor=actor, action="payments.dispute_open", target=payment,
                           summary=_("Card payment %(receipt)s disputed (%(amount)s)") % {
                               "receipt": payment.receipt_number,
                               "amount": format_cents(dispute.amount_cents)},
                           changes={"dispute": dispute.dispute_id, "reason": dispute.reason})
        if dispute.status != DisputeStatus.OPEN or status == DisputeStatus.OPEN:
            return dispute
        dispute.status, dispute.closed_at = status, timezone.now()
        dispute.save(update_fields=["status", "closed_at"])
        if status == DisputeStatus.LOST:
            payment_refund(payment=payment, amount_cents=min(dispute.amount_cents,
                                                             payment_refundable(payment)),
                           reason=_("Card dispute lost (%(reason)s)") % {
                               "reason": dispute.reason or "-"},
                           actor=actor, reference=dispute.dispute_id)
        journal_record(actor=actor, action=f"payments.dispute_{status}", target=payment,
                       summary=_("Dispute on %(receipt)s closed: %(status)s") % {
                           "receipt": payment.receipt_number,
                           "status": dispute.get_status_display()},
                       changes={"dispute": dispute.dispute_id})
    return dispute


_PAYOUT_RANK = {"pending": 0, "in_transit": 1, "paid": 2, "failed": 2, "canceled": 2}


def payout_sync(*, payout_id: str) -> Payout:
    """Re-read a payout and record it (forward only), for the reconciliation."""
    payout = as_dict(stripe_client().v1.payouts.retrieve(payout_id))
    arrival = payout.get("arrival_date")
    with transaction.atomic():
        row, created = Payout.objects.select_for_update().get_or_create(
            payout_id=payout_id, defaults={"amount_cents": payout["amount"],
                                           "status": payout.get("status", "pending")})
        if created or _PAYOUT_RANK.get(payout.get("status"), 0) >= _PAYOUT_RANK.get(
                row.status, 0):
            before = None if created else row.status
            row.amount_cents = payout["amount"]
            row.currency = payout.get("currency", "eur")
            row.status = payout.get("status", row.status)
            row.arrival_date = (datetime.fromtimestamp(arrival, tz=UTC).date()
                                if arrival else None)
            changed = created or before != row.status
            row.payload = payout
            row.save()
            if changed:
                journal_record(actor=Actor.system("Stripe"), action="payments.payout",
                               target=row, summary=_("Payout %(id)s of %(amount)s: %(status)s")
                               % {"id": payout_id, "amount": format_cents(row.amount_cents),
                                  "status": row.status},
                               changes={"status": row.status,
                                        "arrival_date": str(row.arrival_date)})
                if row.status == "paid":  # its contents are final: reconcile it
                    from payments.tasks import payout_reconcile_task

                    payout_reconcile_task.delay_on_commit(row.pk)
    return row
