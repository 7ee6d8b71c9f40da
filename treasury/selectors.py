"""Non-trivial reads of the treasury: balances, statements, unpaid invoices."""

from dataclasses import dataclass
from datetime import date

from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from treasury.models import Invoice, InvoiceKind, InvoiceStatus, Payment, Refund, Settlement


def _sum_of(queryset, field="amount_cents"):
    return Coalesce(Subquery(queryset.order_by().values(_group=Value(1)).annotate(
        total=Sum(field)).values("total")[:1], output_field=IntegerField()), 0)


def invoices_with_state(queryset: QuerySet | None = None) -> QuerySet:
    """Invoices annotated with ``settled_cents``, ``paid_cents``, ``credited_cents``
    and ``remaining_cents`` (one query, whatever their number)."""
    queryset = Invoice.objects.all() if queryset is None else queryset
    settled = Settlement.objects.filter(invoice=OuterRef("pk"))
    return queryset.annotate(
        paid_cents=_sum_of(settled.filter(payment__isnull=False)),
        credited_cents=_sum_of(settled.filter(credit_note__isnull=False)),
    ).annotate(settled_cents=Coalesce("paid_cents", 0) + Coalesce("credited_cents", 0)
               ).annotate(remaining_cents=Coalesce("total_cents", 0) - Coalesce(
                   "paid_cents", 0) - Coalesce("credited_cents", 0))


def invoice_state(invoice) -> str:
    """paid / partly_paid / due / cancelled / credit_note (for badges)."""
    if invoice.kind == InvoiceKind.CREDIT_NOTE:
        return "credit_note"
    if invoice.status == InvoiceStatus.CANCELLED:
        return "cancelled"
    if invoice.remaining_cents <= 0:
        return "paid"
    if invoice.settled_cents > 0:
        return "partly_paid"
    if invoice.due_date and invoice.due_date < timezone.localdate():
        return "overdue"
    return "due"


@dataclass(frozen=True)
class Balance:
    """A family's money, in cents. ``invoiced = paid + credited + outstanding`` and
    ``payments = paid + refunded + unallocated`` always hold."""

    invoiced: int
    paid: int
    credited: int
    outstanding: int
    payments: int
    refunded: int
    unallocated: int
    credit_notes: int
    credit_notes_unapplied: int

    @property
    def credit(self) -> int:
        """What the family may still use on its next invoices (or get refunded)."""
        return self.unallocated + self.credit_notes_unapplied

    @property
    def net_due(self) -> int:
        return self.outstanding - self.credit


def _total(queryset, field="amount_cents") -> int:
    return queryset.aggregate(total=Sum(field, default=0))["total"]


def family_balance(family_id: int) -> Balance:
    issued = Invoice.objects.filter(family_id=family_id,
                                    status__in=[InvoiceStatus.ISSUED, InvoiceStatus.CANCELLED])
    invoiced = _total(issued.filter(kind=InvoiceKind.INVOICE), "total_cents")
    settlements = Settlement.objects.filter(invoice__family_id=family_id)
    paid = _total(settlements.filter(payment__isnull=False))
    credited = _total(settlements.filter(credit_note__isnull=False))
    payments = _total(Payment.objects.filter(family_id=family_id))
    refunded = _total(Refund.objects.filter(payment__family_id=family_id))
    notes = _total(issued.filter(kind=InvoiceKind.CREDIT_NOTE), "total_cents")
    return Balance(invoiced=invoiced, paid=paid, credited=credited,
                   outstanding=invoiced - paid - credited, payments=payments,
                   refunded=refunded, unallocated=payments - paid - refunded,
                   credit_notes=notes, credit_notes_unapplied=notes - credited)


@dataclass(frozen=True)
class StatementEntry:
    day: date
    label: str
    debit_cents: int   # what the family owes more
    credit_cents: int  # what the family paid or was credited
    document: object
    balance_cents: int = 0


def family_statement(family_id: int) -> list[StatementEntry]:
    """Every invoice, credit note, payment and refund of the family in date order, with
    the running balance (positive: the family owes)."""
    from django.utils.translation import gettext as _

    entries = []
    for invoice in Invoice.objects.filter(
            family_id=family_id, status__in=[InvoiceStatus.ISSUED, InvoiceStatus.CANCELLED]):
        if invoice.kind == InvoiceKind.INVOICE:
            entries.append(StatementEntry(invoice.issue_date, _("Invoice %(number)s") % {
                "number": invoice.number}, invoice.total_cents, 0, invoice))
        else:
            entries.append(StatementEntry(invoice.issue_date, _("Credit note %(number)s") % {
                "number": invoice.number}, 0, invoice.total_cents, invoice))
    for payment in Payment.objects.filter(family_id=family_id):
        label = _("Payment (%(channel)s) %(receipt)s") % {
            "channel": payment.get_channel_display(), "receipt": payment.receipt_number}
        entries.append(StatementEntry(payment.received_on, label, 0, payment.amount_cents,
                                      payment))
    for refund in Refund.objects.filter(payment__family_id=family_id):
        entries.append(StatementEntry(timezone.localdate(refund.created_at),
                                      _("Refund: %(reason)s") % {"reason": refund.reason},
                                      refund.amount_cents, 0, refund))
    entries.sort(key=lambda entry: (entry.day, entry.document.__class__.__name__,
                                    entry.document.pk))
    running, result = 0, []
    for entry in entries:
        running += entry.debit_cents - entry.credit_cents
        result.append(StatementEntry(entry.day, entry.label, entry.debit_cents,
                                     entry.credit_cents, entry.document, running))
    return result


def unpaid_invoices(*, overdue_only: bool = True) -> QuerySet:
    """Issued invoices with something left to pay (past their deadline by default),
    oldest first, with the family."""
    queryset = invoices_with_state(Invoice.objects.filter(
        kind=InvoiceKind.INVOICE, status=InvoiceStatus.ISSUED)).filter(remaining_cents__gt=0)
    if overdue_only:
        queryset = queryset.filter(due_date__lt=timezone.localdate())
    return queryset.select_related("family").order_by("due_date", "sequence")


def has_open_invoices(family_id: int) -> bool:
    return unpaid_invoices(overdue_only=False).filter(family_id=family_id).exists()



def family_invoices(family_id: int) -> list:
    """The family's issued documents, newest first, with their state (one query)."""
    invoices = list(invoices_with_state(Invoice.objects.filter(family_id=family_id).exclude(
        status=InvoiceStatus.DRAFT)).select_related("credited_invoice"))
    for invoice in invoices:
        invoice.state = invoice_state(invoice)
    return invoices


def unpaid_total() -> int:
    return sum(unpaid_invoices().values_list("remaining_cents", flat=True))


def run_documents(run) -> QuerySet:
    return Invoice.objects.filter(run=run).select_related("family").order_by(
        "sequence", "debtor_name", "id")


def run_summary_view(run) -> dict:
    """The run's summary shaped for the review page (brackets sorted as numbers)."""
    summary = run.summary or {}
    services = []
    for name, data in (summary.get("services") or {}).items():
        brackets = sorted(((int(number), values) for number, values in
                           data.get("brackets", {}).items()), key=lambda item: item[0])
        services.append({"name": name, "total": data.get("total", 0), "brackets": brackets})
    return {**summary, "service_rows": services}


def invoice_view(invoice) -> dict:
    """An invoice with its state, lines grouped by child, settlements and credit notes."""
    from treasury.models import InvoiceLine

    invoice = invoices_with_state(Invoice.objects.filter(pk=invoice.pk)).select_related(
        "family", "credited_invoice").get()
    invoice.state = invoice_state(invoice)
    groups: dict = {}
    for line in InvoiceLine.objects.filter(invoice=invoice).select_related("child"):
        groups.setdefault(line.child, []).append(line)
    settlements = list(Settlement.objects.filter(invoice=invoice).select_related(
        "payment", "credit_note"))
    return {"invoice": invoice, "line_groups": list(groups.items()),
            "settlements": settlements,
            "credit_notes": list(Invoice.objects.filter(credited_invoice=invoice))}


def invoices_at_treasury(family_id: int) -> QuerySet:
    """The family's invoices sent to the public treasury: only the treasury collects them."""
    return Invoice.objects.filter(family_id=family_id, kind=InvoiceKind.INVOICE,
                                  status=InvoiceStatus.ISSUED,
                                  sent_to_treasury_at__isnull=False).order_by("due_date")
