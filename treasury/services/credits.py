"""Using a family's credit on its open invoices (at issue, after a credit note or a
cancellation): unused credit notes first, then unused payments, each oldest first, on the
invoices oldest due first; greedy, never beyond either side.

Set-based: whatever the number of families, a bounded number of statements (find and lock
the families with credit, read their sources and open invoices, insert the settlements,
journal one entry per family). ``treasury.services.payments`` re-exports both entry points.
"""

from django.db import connection
from django.utils.translation import gettext as _

from core.journal import Actor, journal_entry_build
from core.models import ActionLog
from portal.models import Family
from treasury.models import Settlement
from treasury.pricing import format_cents


def greedy_allocation(sources: list[list], invoices) -> list[tuple]:
    """Pure greedy settling: ``invoices`` ((key, remaining) in order) from ``sources``
    ([kind, id, available] in order, consumed in place); never beyond either side.
    Returns (invoice key, kind, source id, amount) rows."""
    rows = []
    for key, remaining in invoices:
        for source in sources:
            if remaining <= 0:
                break
            kind, source_id, available = source
            amount = min(available, remaining)
            if amount <= 0:
                continue
            rows.append((key, kind, source_id, amount))
            source[2] -= amount
            remaining -= amount
    return rows


def _family_credit_apply(family_id: int, actor: Actor) -> int:
    """Use the family's unused credit (credit notes first, then payments) on its open
    invoices, oldest first. The family row is locked by the caller."""
    return _credits_apply([family_id], actor)


_CREDIT_SOURCES_SQL = """
SELECT i.family_id, 'credit_note', i.id, i.total_cents
       - COALESCE((SELECT sum(s.amount_cents) FROM treasury_settlement s
                   WHERE s.credit_note_id = i.id), 0) AS unused
FROM treasury_invoice i
WHERE i.kind = 'credit_note' AND i.status = 'issued' AND i.family_id = ANY(%(ids)s)
UNION ALL
SELECT p.family_id, 'payment', p.id, p.amount_cents
       - COALESCE((SELECT sum(s.amount_cents) FROM treasury_settlement s
                   WHERE s.payment_id = p.id), 0)
       - COALESCE((SELECT sum(r.amount_cents) FROM treasury_refund r
                   WHERE r.payment_id = p.id), 0)
FROM treasury_payment p WHERE p.family_id = ANY(%(ids)s)
ORDER BY 1, 2, 3
"""

_OPEN_INVOICES_SQL = """
SELECT i.family_id, i.id, i.number, i.total_cents
       - COALESCE((SELECT sum(s.amount_cents) FROM treasury_settlement s
                   WHERE s.invoice_id = i.id), 0)
FROM treasury_invoice i
WHERE i.family_id = ANY(%(ids)s) AND i.kind = 'invoice' AND i.status = 'issued'
  AND i.sent_to_treasury_at IS NULL
ORDER BY i.family_id, i.due_date, i.issue_date, i.sequence
"""


def _credits_apply(family_ids: list[int], actor: Actor) -> int:
    """Use the unused credit of ``family_ids`` (rows locked by the caller) on their open
    invoices: credit notes first, then payments (each oldest first), on the invoices
    oldest due first; greedy, never beyond either side. Four statements at most, however
    many families: sources, open invoices, settlements, journal (one entry per family)."""
    sources: dict[int, list[list]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_CREDIT_SOURCES_SQL, {"ids": family_ids})
        for family_id, kind, source_id, unused in cursor.fetchall():
            if unused > 0:
                sources.setdefault(family_id, []).append([kind, source_id, unused])
        if not sources:
            return 0
        cursor.execute(_OPEN_INVOICES_SQL, {"ids": sorted(sources)})
        invoices = [row for row in cursor.fetchall() if row[3] > 0]
    settlements, used = [], {}
    for family_id, invoice_id, number, remaining in invoices:
        for _key, kind, source_id, amount in greedy_allocation(
                sources.get(family_id, []), [(invoice_id, remaining)]):
            settlements.append(Settlement(
                invoice_id=invoice_id, amount_cents=amount,
                payment_id=source_id if kind == "payment" else None,
                credit_note_id=source_id if kind == "credit_note" else None))
            used.setdefault(family_id, []).append((number, amount))
    if not settlements:
        return 0
    Settlement.objects.bulk_create(settlements)
    ActionLog.objects.bulk_create([journal_entry_build(
        actor=actor, action="treasury.credit_apply", target=Family(pk=family_id),
        summary=_("Family credit of %(amount)s used on open invoices") % {
            "amount": format_cents(sum(amount for _number, amount in settled))},
        changes={"settlements": settled}) for family_id, settled in sorted(used.items())])
    return sum(s.amount_cents for s in settlements)


_LOCK_FAMILIES_WITH_CREDIT_SQL = """
SELECT f.id FROM portal_family f
WHERE f.id IN (
    SELECT p.family_id FROM treasury_payment p
    WHERE p.family_id = ANY(%(ids)s) AND p.amount_cents
          - COALESCE((SELECT sum(s.amount_cents) FROM treasury_settlement s
                      WHERE s.payment_id = p.id), 0)
          - COALESCE((SELECT sum(r.amount_cents) FROM treasury_refund r
                      WHERE r.payment_id = p.id), 0) > 0
    UNION
    SELECT i.family_id FROM treasury_invoice i
    WHERE i.kind = 'credit_note' AND i.status = 'issued' AND i.family_id = ANY(%(ids)s)
      AND i.total_cents - COALESCE((SELECT sum(s.amount_cents) FROM treasury_settlement s
                                    WHERE s.credit_note_id = i.id), 0) > 0)
ORDER BY f.id
FOR UPDATE OF f
"""


def family_credits_apply(*, family_ids, actor: Actor) -> int:
    """Apply the credit of those of ``family_ids`` that have some (called inside the
    issue transaction). The families with credit are found and locked (in id order) in
    one statement, then ``_credits_apply`` serves them all at once: a bounded number of
    statements, not a loop over families."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_FAMILIES_WITH_CREDIT_SQL, {"ids": list(family_ids)})
        with_credit = [row[0] for row in cursor.fetchall()]
    return _credits_apply(with_credit, actor) if with_credit else 0
