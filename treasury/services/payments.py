"""The payments ledger: desk (and later online) payments, their allocation to invoices,
family credit, credit notes and refunds.

Every function locks the family row first (``SELECT … FOR UPDATE``): two agents, or an
agent and a webhook, settling the same family's invoices queue up, so an invoice is
never settled beyond its total and a payment never allocated beyond its amount.
"""

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_record
from core.models import ActorKind
from portal.models import Family
from treasury.models import (
    Channel,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    NumberSeries,
    Payment,
    Refund,
    Settlement,
)
from treasury.pricing import format_cents
from treasury.services.credits import (  # noqa: F401
    _family_credit_apply,
    family_credits_apply,
    greedy_allocation,
)
from treasury.services.numbering import number_format, numbers_reserve

ERROR_AMOUNT = gettext_lazy("The amount must be more than 0,00 €.")
ERROR_CHANNEL = gettext_lazy("Unknown means of payment.")
ERROR_CHEQUE = gettext_lazy("A cheque needs its number and its bank.")
ERROR_FUTURE = gettext_lazy("A payment cannot be received in the future.")
ERROR_NOT_PAYABLE = gettext_lazy("Invoice %(number)s cannot be paid here (it is not open).")
ERROR_OTHER_FAMILY = gettext_lazy("This invoice belongs to another family.")
ERROR_REASON = gettext_lazy("Give the reason (it is printed on the credit note).")
ERROR_NOT_CREDITABLE = gettext_lazy("Only an issued invoice can be reduced or cancelled.")
ERROR_CREDIT_TOO_BIG = gettext_lazy(
    "A credit note of %(amount)s is more than what is left to credit (%(left)s).")
ERROR_REFUND_TOO_BIG = gettext_lazy(
    "The family's refundable credit is %(credit)s: %(amount)s cannot be refunded.")


def checked_reason(reason: str, amount_cents: int | None = None) -> str:
    """The stripped reason of a credit note, cancellation or refund (required), after
    checking ``amount_cents`` when given (integer cents, more than zero)."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(ERROR_REASON)
    if amount_cents is not None and (not isinstance(amount_cents, int) or amount_cents <= 0):
        raise ValidationError(ERROR_AMOUNT)
    return reason


def _lock_family(family_id: int) -> Family:
    return Family.objects.select_for_update().get(pk=family_id)


def _settled(invoice_ids) -> dict[int, int]:
    rows = (Settlement.objects.filter(invoice_id__in=invoice_ids).values("invoice_id")
            .annotate(total=Sum("amount_cents")))
    return {row["invoice_id"]: row["total"] for row in rows}


def _open_invoices(family_id: int, chosen: list[Invoice] | None = None) -> list[tuple]:
    """(invoice, remaining) of the family's issued invoices still due, oldest first
    (or in the chosen order)."""
    if chosen is not None:
        invoices = [Invoice.objects.get(pk=invoice.pk) for invoice in chosen]
    else:
        invoices = list(Invoice.objects.filter(
            family_id=family_id, kind=InvoiceKind.INVOICE, status=InvoiceStatus.ISSUED,
            sent_to_treasury_at__isnull=True)
            .order_by("due_date", "issue_date", "sequence"))
    settled = _settled([invoice.pk for invoice in invoices])
    result = []
    for invoice in invoices:
        remaining = invoice.total_cents - settled.get(invoice.pk, 0)
        if remaining > 0:
            result.append((invoice, remaining))
    return result


def _payment_unallocated(payment_ids) -> dict[int, int]:
    payments = dict(Payment.objects.filter(pk__in=payment_ids).values_list("pk", "amount_cents"))
    used = (Settlement.objects.filter(payment_id__in=payment_ids).values("payment_id")
            .annotate(total=Sum("amount_cents")))
    refunded = (Refund.objects.filter(payment_id__in=payment_ids).values("payment_id")
                .annotate(total=Sum("amount_cents")))
    for row in list(used) + list(refunded):
        payments[row["payment_id"]] -= row["total"]
    return payments


def _allocate(*, sources: list[tuple[str, int, int]], invoices: list[tuple]) -> list[Settlement]:
    """Settle ``invoices`` ((invoice, remaining) in order) from ``sources``
    ((kind, id, available) in order): greedy, never beyond either side."""
    settlements = [
        Settlement(invoice=invoice, amount_cents=amount,
                   payment_id=source_id if kind == "payment" else None,
                   credit_note_id=source_id if kind == "credit_note" else None)
        for invoice, kind, source_id, amount in greedy_allocation(
            [list(source) for source in sources], invoices)]
    Settlement.objects.bulk_create(settlements)
    return settlements


@dataclass(frozen=True)
class PaymentOutcome:
    payment: Payment
    settlements: list[Settlement]
    credit_cents: int  # what is left as the family's credit
    created: bool = True


def payment_record(*, family: Family, channel: str, amount_cents: int, received_on: date,
                   actor: Actor, cheque_number: str = "", bank: str = "", reference: str = "",
                   note: str = "", invoices: list[Invoice] | None = None,
                   allocate: bool = True) -> PaymentOutcome:
    """Record a payment and allocate it to the family's invoices: ``invoices`` in that
    order, else the oldest due first (unless ``allocate`` is false: money that came for
    invoices no longer payable stays as the family's credit, for the régisseur to
    decide). What is left is the family's credit, used on its next invoices. A known
    ``reference`` (e.g. a card payment id) is recorded once."""
    if channel not in Channel.values:
        raise ValidationError(ERROR_CHANNEL)
    if not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValidationError(ERROR_AMOUNT)
    if channel == Channel.CHEQUE and not (cheque_number.strip() and bank.strip()):
        raise ValidationError(ERROR_CHEQUE)
    if received_on > timezone.localdate():
        raise ValidationError(ERROR_FUTURE)
    for invoice in invoices or []:
        if invoice.family_id != family.pk:
            raise ValidationError(ERROR_OTHER_FAMILY)
    with transaction.atomic():
        _lock_family(family.pk)
        if reference:
            existing = Payment.objects.filter(channel=channel, reference=reference).first()
            if existing:
                return PaymentOutcome(payment=existing, settlements=[], credit_cents=0,
                                      created=False)
        chosen = None
        if invoices:
            chosen = [Invoice.objects.get(pk=invoice.pk) for invoice in invoices]
            for invoice in chosen:
                if (invoice.status != InvoiceStatus.ISSUED or invoice.is_credit_note
                        or invoice.sent_to_treasury_at):
                    raise ValidationError(ERROR_NOT_PAYABLE % {"number": invoice.number})
        year = received_on.year
        sequence = numbers_reserve(series=NumberSeries.RECEIPT, year=year, count=1)
        payment = Payment.objects.create(
            family=family, channel=channel, amount_cents=amount_cents, received_on=received_on,
            cheque_number=cheque_number.strip(), bank=bank.strip(), reference=reference,
            note=note, receipt_year=year, receipt_sequence=sequence,
            receipt_number=number_format(NumberSeries.RECEIPT, year, sequence),
            recorded_by=actor.user if actor.kind in (ActorKind.AGENT, ActorKind.PARENT)
            else None)
        settlements = _allocate(sources=[("payment", payment.pk, amount_cents)],
                                invoices=_open_invoices(family.pk, chosen)
                                if allocate or chosen else [])
        allocated = sum(s.amount_cents for s in settlements)
        journal_record(
            actor=actor, action="treasury.payment_record", target=payment,
            summary=_("Payment of %(amount)s (%(channel)s) recorded, receipt %(receipt)s") % {
                "amount": format_cents(amount_cents), "channel": payment.get_channel_display(),
                "receipt": payment.receipt_number},
            changes={"family": family.pk, "allocated": [(s.invoice.number, s.amount_cents)
                                                        for s in settlements],
                     "credit_cents": amount_cents - allocated})
    return PaymentOutcome(payment=payment, settlements=settlements,
                          credit_cents=amount_cents - allocated)


def _issue_credit_note(*, invoice: Invoice, amount_cents: int, reason: str,
                       actor: Actor) -> Invoice:
    today = timezone.localdate()
    sequence = numbers_reserve(series=NumberSeries.CREDIT_NOTE, year=today.year, count=1)
    note = Invoice.objects.create(
        kind=InvoiceKind.CREDIT_NOTE, status=InvoiceStatus.ISSUED, family_id=invoice.family_id,
        period=invoice.period, year=today.year, sequence=sequence,
        number=number_format(NumberSeries.CREDIT_NOTE, today.year, sequence),
        issue_date=today, issued_at=timezone.now(), total_cents=amount_cents,
        credited_invoice=invoice, reason=reason, debtor_name=invoice.debtor_name,
        debtor_address1=invoice.debtor_address1, debtor_address2=invoice.debtor_address2,
        debtor_postcode=invoice.debtor_postcode, debtor_city=invoice.debtor_city)
    InvoiceLine.objects.create(
        invoice=note, kind=LineKind.CREDIT, period=invoice.period, quantity=1,
        unit_price_cents=amount_cents, amount_cents=amount_cents,
        label=(_("Credit on invoice %(number)s: %(reason)s") % {
            "number": invoice.number, "reason": reason})[:255])
    return note


def _credited(invoice: Invoice) -> int:
    return Invoice.objects.filter(credited_invoice=invoice, status=InvoiceStatus.ISSUED).aggregate(
        total=Sum("total_cents", default=0))["total"]


def invoice_credit(*, invoice: Invoice, amount_cents: int, reason: str,
                   actor: Actor) -> Invoice:
    """Reduce an issued invoice by a credit note. It settles what is still due; what the
    family already paid beyond the new amount becomes its credit."""
    reason = checked_reason(reason, amount_cents)
    with transaction.atomic():
        _lock_family(invoice.family_id)
        invoice = Invoice.objects.get(pk=invoice.pk)
        if invoice.status != InvoiceStatus.ISSUED or invoice.is_credit_note:
            raise ValidationError(ERROR_NOT_CREDITABLE)
        left = invoice.total_cents - _credited(invoice)
        if amount_cents > left:
            raise ValidationError(ERROR_CREDIT_TOO_BIG % {"amount": format_cents(amount_cents),
                                                          "left": format_cents(left)})
        note = _issue_credit_note(invoice=invoice, amount_cents=amount_cents, reason=reason,
                                  actor=actor)
        remaining = invoice.total_cents - _settled([invoice.pk]).get(invoice.pk, 0)
        if remaining > 0:
            Settlement.objects.create(invoice=invoice, credit_note=note,
                                      amount_cents=min(remaining, amount_cents))
        journal_record(actor=actor, action="treasury.invoice_credit", target=invoice,
                       summary=_("%(note)s: %(amount)s credited on %(number)s (%(reason)s)") % {
                           "note": note.number, "amount": format_cents(amount_cents),
                           "number": invoice.number, "reason": reason},
                       changes={"credit_note": note.pk, "amount_cents": amount_cents})
        _family_credit_apply(invoice.family_id, actor)
    return note


def invoice_cancel(*, invoice: Invoice, reason: str, actor: Actor) -> Invoice:
    """Cancel an issued invoice: its payments are released to the family's credit and a
    credit note covers everything not credited yet."""
    reason = checked_reason(reason)
    with transaction.atomic():
        _lock_family(invoice.family_id)
        invoice = Invoice.objects.get(pk=invoice.pk)
        if invoice.status != InvoiceStatus.ISSUED or invoice.is_credit_note:
            raise ValidationError(ERROR_NOT_CREDITABLE)
        released = list(Settlement.objects.filter(invoice=invoice, payment__isnull=False)
                        .values_list("payment_id", "amount_cents"))
        # The invoice ends settled exactly by its own credit notes: every settlement of
        # it is released, and its earlier credit notes are brought back from wherever
        # they were used (the invoices they leave due are paid again from the released
        # money by the credit application below).
        notes = list(Invoice.objects.filter(credited_invoice=invoice,
                                            status=InvoiceStatus.ISSUED))
        Settlement.objects.filter(invoice=invoice).delete()
        Settlement.objects.filter(credit_note__in=notes).delete()
        left = invoice.total_cents - sum(earlier.total_cents for earlier in notes)
        note = None
        if left > 0:
            note = _issue_credit_note(invoice=invoice, amount_cents=left, reason=reason,
                                      actor=actor)
            notes.append(note)
        Settlement.objects.bulk_create([
            Settlement(invoice=invoice, credit_note=each, amount_cents=each.total_cents)
            for each in notes])
        invoice.status = InvoiceStatus.CANCELLED
        invoice.save(update_fields=["status"])
        journal_record(actor=actor, action="treasury.invoice_cancel", target=invoice,
                       summary=_("Invoice %(number)s cancelled (%(reason)s)") % {
                           "number": invoice.number, "reason": reason},
                       changes={"credit_note": note.pk if note else None,
                                "released_payments": released})
        _family_credit_apply(invoice.family_id, actor)
    return note


def refundable_credit(family_id: int) -> int:
    ids = list(Payment.objects.filter(family_id=family_id).values_list("pk", flat=True))
    return sum(left for left in _payment_unallocated(ids).values() if left > 0)


def credit_refund(*, family: Family, amount_cents: int, reason: str, actor: Actor,
                  reference: str = "") -> list[Refund]:
    """Give back part of the family's unused payments, by decision (journalled)."""
    reason = checked_reason(reason, amount_cents)
    with transaction.atomic():
        _lock_family(family.pk)
        ids = list(Payment.objects.filter(family=family).order_by("received_on", "pk")
                   .values_list("pk", flat=True))
        unallocated = _payment_unallocated(ids)
        credit = sum(left for left in unallocated.values() if left > 0)
        if amount_cents > credit:
            raise ValidationError(ERROR_REFUND_TOO_BIG % {"credit": format_cents(credit),
                                                          "amount": format_cents(amount_cents)})
        refunds, left_to_refund = [], amount_cents
        for payment_id in ids:
            take = min(max(unallocated[payment_id], 0), left_to_refund)
            if take:
                refunds.append(Refund(payment_id=payment_id, amount_cents=take, reason=reason,
                                      reference=reference,
                                      decided_by=actor.user if actor.kind in (
                                          ActorKind.AGENT, ActorKind.PARENT) else None))
                left_to_refund -= take
        Refund.objects.bulk_create(refunds)
        journal_record(actor=actor, action="treasury.credit_refund", target=family,
                       summary=_("Refund of %(amount)s decided (%(reason)s)") % {
                           "amount": format_cents(amount_cents), "reason": reason},
                       changes={"refunds": [(r.payment_id, r.amount_cents) for r in refunds]})
    return refunds

