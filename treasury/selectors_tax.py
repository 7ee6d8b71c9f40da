"""The amounts of the annual tax certificate for childcare (attestation fiscale pour le
crédit d'impôt « frais de garde des enfants de moins de 6 ans »)."""

from collections import defaultdict
from datetime import date

from django.db.models import Sum

from portal.models import Child, ServiceKind
from treasury.models import InvoiceKind, InvoiceLine, Settlement


def _round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for a non-negative numerator and a
    positive denominator (integers only: no float ever)."""
    return (2 * numerator + denominator) // (2 * denominator)


def eligible_children(family_id: int, year: int) -> list[Child]:
    """The family's children under 6 on 1 January of ``year``: born after 1 January of
    ``year - 6`` (a child born on that very day is 6 on 1 January and does not count)."""
    return list(Child.objects.filter(families__id=family_id,
                                     birth_date__gt=date(year - 6, 1, 1))
                .order_by("birth_date", "last_name", "first_name", "pk"))


def tax_certificate_amounts(family_id: int, year: int) -> list[dict]:
    """What the family paid in ``year`` for the childcare of each child under 6.

    The rule, the French one for the childcare tax credit:

    * the children counted are the family's children under 6 on 1 January of ``year``,
      i.e. born after 1 January of ``year - 6``;
    * the sums counted are those PAID in ``year``: the settlements of the family's
      invoices by payments received in ``year`` (``payment.received_on``); money
      received in another year, and credit notes, do not count;
    * an invoice is counted pro rata: for each invoice with such settlements and each
      child, ``round_half_up(paid_in_year × eligible / invoice.total_cents)`` where
      ``eligible`` is the sum of the invoice's lines of that child whose unit's service
      is not the school canteen (meals are not childcare); lines without a unit are not
      counted. Integer arithmetic only; ``eligible`` is kept between 0 and the total.

    Returns one dict per child with something to certify (``child``, ``birth_date``,
    ``amount_cents``), youngest last; children at 0 are left out. Three queries.
    """
    children = {child.pk: child for child in eligible_children(family_id, year)}
    if not children:
        return []
    paid_in_year = dict(
        Settlement.objects.filter(
            invoice__family_id=family_id, invoice__kind=InvoiceKind.INVOICE,
            invoice__total_cents__gt=0, payment__isnull=False,
            payment__received_on__gte=date(year, 1, 1),
            payment__received_on__lt=date(year + 1, 1, 1))
        .values("invoice_id").annotate(paid=Sum("amount_cents"))
        .values_list("invoice_id", "paid"))
    if not paid_in_year:
        return []
    rows = (InvoiceLine.objects.filter(invoice_id__in=paid_in_year, child_id__in=children,
                                       unit__isnull=False)
            .exclude(unit__service__kind=ServiceKind.CANTEEN)
            .values("invoice_id", "invoice__total_cents", "child_id")
            .annotate(eligible=Sum("amount_cents"))
            .order_by("invoice_id", "child_id"))
    amounts: dict[int, int] = defaultdict(int)
    for row in rows:
        total = row["invoice__total_cents"]
        eligible = min(max(row["eligible"], 0), total)
        amounts[row["child_id"]] += _round_half_up(paid_in_year[row["invoice_id"]] * eligible,
                                                   total)
    return [{"child": child, "birth_date": child.birth_date, "amount_cents": amounts[pk]}
            for pk, child in children.items() if amounts.get(pk, 0) > 0]
