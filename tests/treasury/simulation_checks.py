"""The invariants of the simulated year: independent SQL sums over the tables,
compared per family and in total with the project's ``Balance``, to the cent.
"""

from collections import Counter
from typing import TYPE_CHECKING

from django.db import connection

from treasury.models import Invoice, InvoiceKind, InvoiceStatus
from treasury.selectors import family_balance, family_statement, invoices_with_state

if TYPE_CHECKING:
    from tests.treasury.simulation import Town


# --- The invariants ----------------------------------------------------------------------

_PER_FAMILY_SQL = """
WITH fam AS (SELECT id FROM portal_family),
docs AS (
    SELECT family_id,
           sum(total_cents) FILTER (WHERE kind = 'invoice') AS invoiced,
           sum(total_cents) FILTER (WHERE kind = 'credit_note') AS notes
    FROM treasury_invoice WHERE status IN ('issued', 'cancelled') GROUP BY family_id
),
settled AS (
    SELECT i.family_id,
           sum(s.amount_cents) FILTER (WHERE s.payment_id IS NOT NULL) AS paid,
           sum(s.amount_cents) FILTER (WHERE s.credit_note_id IS NOT NULL) AS credited
    FROM treasury_settlement s JOIN treasury_invoice i ON i.id = s.invoice_id
    GROUP BY i.family_id
),
remaining AS (
    SELECT i.family_id,
           sum(i.total_cents - COALESCE((SELECT sum(s.amount_cents) FROM treasury_settlement s
                                         WHERE s.invoice_id = i.id), 0)) AS outstanding
    FROM treasury_invoice i
    WHERE i.kind = 'invoice' AND i.status IN ('issued', 'cancelled') GROUP BY i.family_id
),
paid_in AS (SELECT family_id, sum(amount_cents) AS payments FROM treasury_payment
            GROUP BY family_id),
paid_out AS (SELECT p.family_id, sum(r.amount_cents) AS refunded
             FROM treasury_refund r JOIN treasury_payment p ON p.id = r.payment_id
             GROUP BY p.family_id)
SELECT fam.id, COALESCE(invoiced, 0), COALESCE(notes, 0), COALESCE(paid, 0),
       COALESCE(credited, 0), COALESCE(outstanding, 0), COALESCE(payments, 0),
       COALESCE(refunded, 0)
FROM fam
LEFT JOIN docs ON docs.family_id = fam.id
LEFT JOIN settled ON settled.family_id = fam.id
LEFT JOIN remaining ON remaining.family_id = fam.id
LEFT JOIN paid_in ON paid_in.family_id = fam.id
LEFT JOIN paid_out ON paid_out.family_id = fam.id
ORDER BY fam.id
"""

_TOTALS_SQL = """
SELECT (SELECT COALESCE(sum(total_cents), 0) FROM treasury_invoice
        WHERE kind = 'invoice' AND status IN ('issued', 'cancelled')),
       (SELECT COALESCE(sum(amount_cents), 0) FROM treasury_settlement
        WHERE payment_id IS NOT NULL),
       (SELECT COALESCE(sum(amount_cents), 0) FROM treasury_settlement
        WHERE credit_note_id IS NOT NULL),
       (SELECT COALESCE(sum(amount_cents), 0) FROM treasury_payment),
       (SELECT COALESCE(sum(amount_cents), 0) FROM treasury_refund)
"""

# Each query lists what breaks one invariant; all must come back empty.
_VIOLATIONS_SQL = {
    "a document's total is not the sum of its lines": """
        SELECT i.number, i.total_cents, COALESCE(sum(l.amount_cents), 0)
        FROM treasury_invoice i LEFT JOIN treasury_invoiceline l ON l.invoice_id = i.id
        GROUP BY i.id HAVING i.total_cents <> COALESCE(sum(l.amount_cents), 0)""",
    "a line's amount is not quantity x unit price": """
        SELECT id FROM treasury_invoiceline WHERE amount_cents <> quantity * unit_price_cents""",
    "an invoice is settled beyond its total": """
        SELECT i.number, i.total_cents, sum(s.amount_cents)
        FROM treasury_invoice i JOIN treasury_settlement s ON s.invoice_id = i.id
        GROUP BY i.id HAVING sum(s.amount_cents) > i.total_cents""",
    "a cancelled invoice is not entirely settled": """
        SELECT i.number, i.total_cents, COALESCE(sum(s.amount_cents), 0)
        FROM treasury_invoice i LEFT JOIN treasury_settlement s ON s.invoice_id = i.id
        WHERE i.status = 'cancelled' GROUP BY i.id
        HAVING COALESCE(sum(s.amount_cents), 0) <> i.total_cents""",
    "something other than an issued or cancelled invoice is settled": """
        SELECT s.id, i.kind, i.status FROM treasury_settlement s
        JOIN treasury_invoice i ON i.id = s.invoice_id
        WHERE i.kind <> 'invoice' OR i.status NOT IN ('issued', 'cancelled')""",
    "a payment is used or refunded beyond its amount": """
        SELECT p.receipt_number, p.amount_cents,
               COALESCE((SELECT sum(amount_cents) FROM treasury_settlement
                         WHERE payment_id = p.id), 0),
               COALESCE((SELECT sum(amount_cents) FROM treasury_refund
                         WHERE payment_id = p.id), 0)
        FROM treasury_payment p
        WHERE p.amount_cents < COALESCE((SELECT sum(amount_cents) FROM treasury_settlement
                                         WHERE payment_id = p.id), 0)
                             + COALESCE((SELECT sum(amount_cents) FROM treasury_refund
                                         WHERE payment_id = p.id), 0)""",
    "a credit note is used beyond its amount": """
        SELECT n.number, n.total_cents, sum(s.amount_cents)
        FROM treasury_invoice n JOIN treasury_settlement s ON s.credit_note_id = n.id
        GROUP BY n.id HAVING sum(s.amount_cents) > n.total_cents""",
    "a credit note settles something else than an issued credit note": """
        SELECT s.id FROM treasury_settlement s JOIN treasury_invoice n ON n.id = s.credit_note_id
        WHERE n.kind <> 'credit_note' OR n.status <> 'issued'""",
    "an invoice is credited beyond its total": """
        SELECT i.number, i.total_cents, sum(n.total_cents)
        FROM treasury_invoice i JOIN treasury_invoice n ON n.credited_invoice_id = i.id
        WHERE n.status = 'issued' GROUP BY i.id HAVING sum(n.total_cents) > i.total_cents""",
    "money moves between families": """
        SELECT s.id FROM treasury_settlement s
        JOIN treasury_invoice i ON i.id = s.invoice_id
        LEFT JOIN treasury_payment p ON p.id = s.payment_id
        LEFT JOIN treasury_invoice n ON n.id = s.credit_note_id
        WHERE p.family_id <> i.family_id OR n.family_id <> i.family_id""",
    "an issued document has no number or a negative total": """
        SELECT id FROM treasury_invoice
        WHERE status <> 'draft' AND (number = '' OR total_cents < 0)""",
}


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def check_invariants(town: "Town", when: str, *, selector: bool = True) -> dict:
    """Check every invariant, with the project's ``Balance`` too when ``selector``;
    return the totals (for the non-vacuity assertions)."""
    for invariant, sql in _VIOLATIONS_SQL.items():
        assert _rows(sql) == [], f"{when}: {invariant}"

    per_family = {row[0]: row[1:] for row in _rows(_PER_FAMILY_SQL)}
    totals = Counter()
    for family, _kids in town.families:
        invoiced, notes, paid, credited, outstanding, payments, refunded = per_family[family.pk]
        unallocated = payments - paid - refunded
        label = f"{when}, family {family.name}"
        # The identities, from the tables alone (outstanding summed invoice by invoice).
        assert invoiced == paid + credited + outstanding, label
        assert outstanding >= 0 and unallocated >= 0, label
        assert credited <= notes, f"{label}: credit notes used beyond their amount"
        # What the simulation paid in and refunded is what the ledger holds.
        assert (payments, refunded) == (town.paid_in[family.pk],
                                        town.refunded_out[family.pk]), label
        totals.update(invoiced=invoiced, notes=notes, paid=paid, credited=credited,
                      outstanding=outstanding, payments=payments, refunded=refunded,
                      unallocated=unallocated, credit=unallocated + notes - credited)
        if not selector:
            continue
        # The project's Balance says the same, to the cent.
        balance = family_balance(family.pk)
        assert (balance.invoiced, balance.paid, balance.credited, balance.outstanding,
                balance.payments, balance.refunded, balance.unallocated,
                balance.credit_notes) == (invoiced, paid, credited, outstanding, payments,
                                          refunded, unallocated, notes), label
        assert balance.invoiced == balance.paid + balance.credited + balance.outstanding
        assert balance.payments == balance.paid + balance.refunded + balance.unallocated
        assert balance.credit_notes_unapplied >= 0 and balance.credit >= 0, label

    # In total: the per-family sums are the sums over the whole tables.
    invoiced, paid, credited, payments, refunded = _rows(_TOTALS_SQL)[0]
    assert (invoiced, paid, credited, payments, refunded) == (
        totals["invoiced"], totals["paid"], totals["credited"], totals["payments"],
        totals["refunded"]), when
    assert totals["invoiced"] == totals["paid"] + totals["credited"] + totals["outstanding"]
    assert totals["payments"] == totals["paid"] + totals["refunded"] + totals["unallocated"]
    # The invoice list's state (what the pages show) agrees with the ledger.
    shown = sum(invoices_with_state(Invoice.objects.filter(
        kind=InvoiceKind.INVOICE, status__in=[InvoiceStatus.ISSUED, InvoiceStatus.CANCELLED]))
        .values_list("remaining_cents", flat=True))
    assert shown == totals["outstanding"], when
    return totals


def check_statements(town: "Town") -> None:
    """Each family's statement ends on what it owes net of its credit."""
    for family, _kids in town.families:
        balance = family_balance(family.pk)
        statement = family_statement(family.pk)
        last = statement[-1].balance_cents if statement else 0
        assert last == balance.net_due == (balance.invoiced - balance.credit_notes
                                           - balance.payments + balance.refunded), family.name
