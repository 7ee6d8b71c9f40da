"""Giving back (part of) one payment: a card refund, a lost card dispute, a bounced
cheque. What the payment had settled is released, newest invoice first, so those
invoices are due again; the ledger identity payments = paid + refunded + unallocated
holds throughout."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_record
from core.models import ActorKind
from treasury.models import Payment, Refund, Settlement
from treasury.pricing import format_cents
from treasury.services.payments import _lock_family, _payment_unallocated, checked_reason

ERROR_PAYMENT_REFUND_TOO_BIG = gettext_lazy(
    "At most %(left)s of this payment can still be given back: %(amount)s is too much.")


def payment_refundable(payment: Payment) -> int:
    refunded = payment.refunds.aggregate(total=Sum("amount_cents", default=0))["total"]
    return payment.amount_cents - refunded


def payment_refund(*, payment: Payment, amount_cents: int, reason: str, actor: Actor,
                   reference: str = "") -> Refund:
    """Give back ``amount_cents`` of ``payment``. Taken first from what the payment left
    unallocated, then released from the invoices it settled (latest first). A known
    ``reference`` (e.g. a provider's refund id) is recorded once."""
    reason = checked_reason(reason, amount_cents)
    with transaction.atomic():
        _lock_family(payment.family_id)
        if reference:
            existing = Refund.objects.filter(payment=payment, reference=reference).first()
            if existing:
                return existing
        payment = Payment.objects.get(pk=payment.pk)
        left = payment_refundable(payment)
        if amount_cents > left:
            raise ValidationError(ERROR_PAYMENT_REFUND_TOO_BIG % {
                "left": format_cents(left), "amount": format_cents(amount_cents)})
        to_release = amount_cents - max(_payment_unallocated([payment.pk])[payment.pk], 0)
        released = []
        settlements = (Settlement.objects.select_related("invoice").filter(payment=payment)
                       .order_by("-invoice__due_date", "-invoice__sequence", "-pk"))
        for settlement in settlements:
            if to_release <= 0:
                break
            take = min(settlement.amount_cents, to_release)
            released.append((settlement.invoice.number, take))
            if take == settlement.amount_cents:
                settlement.delete()
            else:
                settlement.amount_cents -= take
                settlement.save(update_fields=["amount_cents"])
            to_release -= take
        refund = Refund.objects.create(
            payment=payment, amount_cents=amount_cents, reason=reason, reference=reference,
            decided_by=actor.user if actor.kind in (ActorKind.AGENT, ActorKind.PARENT) else None)
        journal_record(actor=actor, action="treasury.payment_refund", target=payment,
                       summary=_("%(amount)s of payment %(receipt)s given back (%(reason)s)") % {
                           "amount": format_cents(amount_cents),
                           "receipt": payment.receipt_number, "reason": reason},
                       changes={"refund": refund.pk, "reference": reference,
                                "released": released, "family": payment.family_id})
    return refund
