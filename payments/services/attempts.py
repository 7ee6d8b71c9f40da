"""A parent pays invoices by card: prepare (a SetupIntent collects the card in the
browser), confirm (the server creates and confirms the PaymentIntent for the amount it
computes), then ``payment_intent_sync`` records the money once the API says so.

Double clicks, second tabs and retries: one open attempt per family and invoice set
(a partial unique index), the attempt row locked while the PaymentIntent is created,
and deterministic idempotency keys made of the commune and the attempt id.
"""

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_record
from payments.models import ATTEMPT_RANK, OPEN_ATTEMPT_STATUSES, AttemptStatus, PaymentAttempt
from payments.provider import as_dict, object_id, stripe_client
from payments.tasks import card_receipt_send_task, payment_intent_cancel_task
from portal.models import Family
from treasury.models import Channel, Invoice, InvoiceKind, InvoiceStatus
from treasury.pricing import format_cents
from treasury.selectors import invoices_with_state
from treasury.services.payments import payment_record

ERROR_NOTHING_TO_PAY = gettext_lazy("There is nothing left to pay on these invoices.")
ERROR_CANCELLED = gettext_lazy(
    "Invoice %(number)s is cancelled: there is nothing to pay on it.")
ERROR_AT_TREASURY = gettext_lazy(
    "Invoice %(number)s has been sent to the public treasury (Trésor public): it can no "
    "longer be paid here. Pay it to the treasury, as its payment notice explains.")
ERROR_NOT_AN_INVOICE = gettext_lazy("Only issued invoices can be paid by card.")
ERROR_OTHER_FAMILY = gettext_lazy("This invoice belongs to another family.")
ERROR_CARD_NOT_CONFIRMED = gettext_lazy(
    "Your card has not been confirmed: nothing was charged. Enter it again.")
ERROR_DECLINED = gettext_lazy(
    "Your bank refused the payment: nothing was charged. Try another card, or pay at "
    "the régie's desk.")
ERROR_AMOUNT_CHANGED = gettext_lazy(
    "What is due on these invoices changed meanwhile (another payment arrived): nothing "
    "was charged. Start again to pay the new amount.")
ERROR_ATTEMPT_CLOSED = gettext_lazy("This payment is already finished: see its result.")
ERROR_TAMPERED = gettext_lazy("This card confirmation does not belong to this payment.")

_STATUS_OF_INTENT = {
    "requires_payment_method": AttemptStatus.FAILED,
    "requires_confirmation": AttemptStatus.OPEN,
    "requires_action": AttemptStatus.REQUIRES_ACTION,
    "processing": AttemptStatus.PROCESSING,
    "requires_capture": AttemptStatus.PROCESSING,
    "succeeded": AttemptStatus.SUCCEEDED,
    "canceled": AttemptStatus.CANCELED,
}


class ForeignObject(Exception):
    """A provider object that names another commune (or none): reported, never applied."""


def card_refusal(invoice: Invoice) -> str | None:
    """Why ``invoice`` cannot be paid by card (a French sentence), or None."""
    if invoice.kind != InvoiceKind.INVOICE or invoice.status == InvoiceStatus.DRAFT:
        return str(ERROR_NOT_AN_INVOICE)
    if invoice.status == InvoiceStatus.CANCELLED:
        return ERROR_CANCELLED % {"number": invoice.number}
    if invoice.sent_to_treasury_at:
        return ERROR_AT_TREASURY % {"number": invoice.number}
    return None


def card_payable(family_id: int) -> list[Invoice]:
    """The family's invoices a parent may pay by card now (annotated with what is due)."""
    queryset = Invoice.objects.filter(family_id=family_id, kind=InvoiceKind.INVOICE,
                                      status=InvoiceStatus.ISSUED,
                                      sent_to_treasury_at__isnull=True)
    return [invoice for invoice in invoices_with_state(queryset).order_by(
        "due_date", "sequence") if invoice.remaining_cents > 0]


def _due(family: Family, invoice_ids: list[int] | None) -> tuple[list[Invoice], int]:
    """The chosen invoices (or every payable one) and what is left to pay on them."""
    if invoice_ids is None:
        invoices = card_payable(family.pk)
    else:
        found = {invoice.pk: invoice for invoice in invoices_with_state(
            Invoice.objects.filter(pk__in=invoice_ids))}
        invoices = []
        for invoice_id in dict.fromkeys(invoice_ids):
            invoice = found.get(invoice_id)
            if invoice is None or invoice.family_id != family.pk:
                raise ValidationError(ERROR_OTHER_FAMILY)
            refusal = card_refusal(invoice)
            if refusal:
                raise ValidationError(refusal)
            if invoice.remaining_cents > 0:
                invoices.append(invoice)
    invoices.sort(key=lambda invoice: (invoice.due_date, invoice.sequence or 0))
    amount = sum(invoice.remaining_cents for invoice in invoices)
    if amount <= 0:
        raise ValidationError(ERROR_NOTHING_TO_PAY)
    return invoices, amount


def _key(attempt: PaymentAttempt, step: str) -> str:
    return f"parvis:{connection.schema_name}:attempt:{attempt.pk}:{step}"


def _metadata(attempt: PaymentAttempt) -> dict:
    return {"commune": connection.schema_name, "attempt": str(attempt.pk),
            "family": str(attempt.family_id),
            "invoices": ",".join(str(pk) for pk in attempt.invoice_ids)}


def attempt_prepare(*, family: Family, invoice_ids: list[int] | None,
                    actor: Actor) -> tuple[PaymentAttempt, str]:
    """Start (or resume) paying ``invoice_ids`` (None: everything due) by card. Returns
    the attempt and the SetupIntent's client secret for Stripe.js."""
    invoices, amount = _due(family, invoice_ids)
    ids = [invoice.pk for invoice in invoices]
    set_key = f"{','.join(str(pk) for pk in sorted(ids))}:{amount}"
    client = stripe_client()
    with transaction.atomic():
        Family.objects.select_for_update().get(pk=family.pk)
        attempt = PaymentAttempt.objects.filter(
            family=family, set_key=set_key, status__in=OPEN_ATTEMPT_STATUSES).first()
        if attempt is None:
            attempt = PaymentAttempt.objects.create(
                family=family, invoice_ids=ids, set_key=set_key, amount_cents=amount,
                created_by=actor.user if actor.user is not None and actor.user.pk else None)
            journal_record(actor=actor, action="payments.attempt_start", target=attempt,
                           summary=_("Card payment of %(amount)s started for %(numbers)s") % {
                               "amount": format_cents(amount),
                               "numbers": ", ".join(invoice.number for invoice in invoices)},
                           changes={"family": family.pk, "invoices": ids,
                                    "amount_cents": amount})
        if attempt.setup_intent_id:
            setup = client.v1.setup_intents.retrieve(attempt.setup_intent_id)
        else:
            setup = client.v1.setup_intents.create(
                params={"usage": "on_session", "payment_method_types": ["card"],
                        "metadata": _metadata(attempt)},
                options={"idempotency_key": _key(attempt, "setup")})
            attempt.setup_intent_id = setup.id
            attempt.save(update_fields=["setup_intent_id", "updated_at"])
    return attempt, setup.client_secret


def attempt_confirm(*, attempt: PaymentAttempt, setup_intent_id: str,
                    actor: Actor) -> tuple[PaymentAttempt, str | None]:
    """Charge the card the browser confirmed on the attempt's SetupIntent, for the amount
    computed here. Returns the attempt and, when the bank asks the cardholder to
    authenticate (3-D Secure), the PaymentIntent's client secret for Stripe.js."""
    client = stripe_client()
    with transaction.atomic():
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
        if attempt.payment_intent_id:  # a double click or a second tab: same payment
            intent = client.v1.payment_intents.retrieve(attempt.payment_intent_id)
            return attempt, (intent.client_secret if intent.status == "requires_action"
                             else None)
        if not attempt.is_open:
            raise ValidationError(ERROR_ATTEMPT_CLOSED)
        if setup_intent_id != attempt.setup_intent_id:
            raise ValidationError(ERROR_TAMPERED)
        setup = as_dict(client.v1.setup_intents.retrieve(attempt.setup_intent_id))
        if setup.get("status") != "succeeded" or not setup.get("payment_method"):
            raise ValidationError(ERROR_CARD_NOT_CONFIRMED)
        try:
            _invoices, amount = _due(attempt.family, list(attempt.invoice_ids))
        except ValidationError:
            amount = None
        if amount != attempt.amount_cents:
            _attempt_close(attempt, AttemptStatus.CANCELED, actor, str(ERROR_AMOUNT_CHANGED))
            intent = None
        else:
            intent = _intent_create(client, attempt, setup, actor)
    if intent is None:  # the attempt was closed above (and that is committed)
        if attempt.status == AttemptStatus.CANCELED:
            raise ValidationError(ERROR_AMOUNT_CHANGED)
        return attempt, None
    if intent.status == "succeeded":
        attempt = payment_intent_sync(payment_intent_id=intent.id, actor=actor)
    return attempt, intent.client_secret if intent.status == "requires_action" else None


def _intent_create(client, attempt: PaymentAttempt, setup: dict, actor: Actor):
    """Create and confirm the PaymentIntent (attempt row locked by the caller). A
    declined card closes the attempt and returns None."""
    try:
        intent = client.v1.payment_intents.create(
            params={"amount": attempt.amount_cents, "currency": "eur",
                    "payment_method": object_id(setup["payment_method"]),
                    "confirm": True, "metadata": _metadata(attempt)},
            options={"idempotency_key": _key(attempt, "pay")})
    except _card_error() as error:
        intent_id = getattr(getattr(error, "error", None), "payment_intent", None)
        attempt.payment_intent_id = object_id(intent_id) if intent_id else ""
        _attempt_close(attempt, AttemptStatus.FAILED, actor, str(ERROR_DECLINED))
        return None
    attempt.payment_intent_id = intent.id
    attempt.status = _STATUS_OF_INTENT.get(intent.status, AttemptStatus.PROCESSING)
    attempt.save(update_fields=["payment_intent_id", "status", "updated_at"])
    return intent


def _card_error():
    import stripe

    return stripe.CardError


def _attempt_close(attempt: PaymentAttempt, status: str, actor: Actor, error: str = "") -> None:
    attempt.status = status
    attempt.error = error[:255]
    attempt.save(update_fields=["status", "error", "payment_intent_id", "updated_at"])
    journal_record(actor=actor, action=f"payments.attempt_{status}", target=attempt,
                   summary=_("Card payment of %(amount)s: %(status)s") % {
                       "amount": format_cents(attempt.amount_cents),
                       "status": attempt.get_status_display()},
                   changes={"payment_intent": attempt.payment_intent_id, "error": error})


def payment_intent_sync(*, payment_intent_id: str, actor: Actor | None = None) -> PaymentAttempt:
    """Re-read a PaymentIntent from the API and move its attempt forward (never back).
    On success the money is recorded in the ledger (once: the PaymentIntent id is the
    payment's reference), other open attempts of the family are abandoned, and money
    that found nothing left to pay is kept as credit and flagged for the régisseur."""
    actor = actor or Actor.system("Stripe")
    intent = as_dict(stripe_client().v1.payment_intents.retrieve(payment_intent_id))
    metadata = intent.get("metadata") or {}
    if metadata.get("commune") != connection.schema_name:
        raise ForeignObject(f"{payment_intent_id} names commune {metadata.get('commune')!r}")
    new_status = _STATUS_OF_INTENT.get(intent.get("status"), AttemptStatus.PROCESSING)
    with transaction.atomic():
        attempt = (PaymentAttempt.objects.select_for_update()
                   .filter(payment_intent_id=payment_intent_id).first())
        if attempt is None and str(metadata.get("attempt", "")).isdigit():
            attempt = (PaymentAttempt.objects.select_for_update()
                       .filter(pk=int(metadata["attempt"]), payment_intent_id="").first())
        if attempt is None:
            raise ForeignObject(f"{payment_intent_id}: no payment attempt of this commune")
        Family.objects.select_for_update().get(pk=attempt.family_id)
        attempt.refresh_from_db()
        attempt.payment_intent_id = payment_intent_id
        money_recorded = attempt.payment_id is not None
        if new_status == AttemptStatus.SUCCEEDED and not money_recorded:
            _record_money(attempt, intent, actor)
        elif ATTEMPT_RANK[new_status] <= ATTEMPT_RANK[attempt.status] or money_recorded:
            attempt.save(update_fields=["payment_intent_id", "updated_at"])
            return attempt
        else:
            error = ((intent.get("last_payment_error") or {}).get("message", "")
                     if new_status == AttemptStatus.FAILED else "")
            _attempt_close(attempt, new_status, actor, error)
            return attempt
    return attempt


def _record_money(attempt: PaymentAttempt, intent: dict, actor: Actor) -> None:
    amount = intent.get("amount_received") or intent["amount"]
    payable = list(Invoice.objects.filter(
        pk__in=attempt.invoice_ids, status=InvoiceStatus.ISSUED, kind=InvoiceKind.INVOICE,
        sent_to_treasury_at__isnull=True).order_by("due_date", "sequence"))
    outcome = payment_record(
        family=attempt.family, channel=Channel.ONLINE_CARD, amount_cents=amount,
        received_on=timezone.localdate(), reference=intent["id"], actor=actor,
        invoices=payable, allocate=False,
        note=_("Card payment online (attempt %(attempt)s)") % {"attempt": attempt.pk})
    attempt.payment = outcome.payment
    attempt.excess_cents = outcome.credit_cents if outcome.created else 0
    attempt.needs_review = attempt.excess_cents > 0
    _attempt_close(attempt, AttemptStatus.SUCCEEDED, actor)
    attempt.save(update_fields=["payment", "excess_cents", "needs_review", "updated_at"])
    if attempt.needs_review:
        journal_record(actor=actor, action="payments.excess", target=attempt,
                       summary=_("%(amount)s paid by card found nothing left to pay: kept as "
                                 "the family's credit, to review") % {
                           "amount": format_cents(attempt.excess_cents)},
                       changes={"payment": outcome.payment.pk,
                                "excess_cents": attempt.excess_cents})
    others = list(PaymentAttempt.objects.select_for_update().filter(
        family_id=attempt.family_id, status__in=OPEN_ATTEMPT_STATUSES).exclude(pk=attempt.pk))
    for other in others:
        if set(other.invoice_ids) & set(attempt.invoice_ids):
            _attempt_close(other, AttemptStatus.CANCELED, actor)
            if other.payment_intent_id:
                payment_intent_cancel_task.delay_on_commit(other.payment_intent_id)
    card_receipt_send_task.delay_on_commit(attempt.pk)
