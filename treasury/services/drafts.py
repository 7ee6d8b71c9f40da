"""Drafting the invoices of a run: what the month already billed, the lines to bill now,
the review summary, and writing a batch of drafts.

Lines are never Django model instances here: priced lines (``PricedLine``) or
regularisation lines (``DraftLine``) go straight to PostgreSQL ``COPY``
(``treasury.services.drafts_writer``).
"""

from datetime import date
from typing import NamedTuple

from django.db import connection
from django.utils import formats
from django.utils.translation import gettext as _

from treasury.facts import Debtor
from treasury.models import InvoiceKind, LineKind
from treasury.pricing import PricedLine

DAY_KINDS = {LineKind.USAGE, LineKind.SURCHARGE, LineKind.ABSENCE, LineKind.LATE_CANCELLATION}
MAX_LISTED_ANOMALIES = 500
REGULARISATION = str(LineKind.REGULARISATION)


def month_label(period: date) -> str:
    return formats.date_format(period, "F Y")


LineKey = tuple  # (child, unit, tariff, base kind, bracket, day price or None)


class Billed:
    """What the issued documents of the month billed for one line key (signed)."""

    __slots__ = ("quantity", "amount", "label")

    def __init__(self):
        self.quantity = self.amount = 0
        self.label = ""


class DraftLine(NamedTuple):
    """A regularisation line (the fields a ``PricedLine`` has, plus ``base_kind``)."""

    child_id: int | None
    unit_id: int | None
    tariff_id: int | None
    kind: str
    bracket: int | None
    quantity: int
    unit_price_cents: int
    amount_cents: int
    label: str
    base_kind: str


def _key(child_id, unit_id, tariff_id, kind: str, bracket, unit_price: int) -> LineKey:
    return (child_id, unit_id, tariff_id, str(kind), bracket,
            unit_price if kind in DAY_KINDS else None)


_BILLED_SQL = """
SELECT i.family_id, l.child_id, l.unit_id, l.tariff_id,
       CASE WHEN l.kind = 'regularisation' THEN l.base_kind ELSE l.kind END,
       l.bracket, l.unit_price_cents,
       CASE WHEN i.kind = 'credit_note' THEN -1 ELSE 1 END, l.quantity, l.amount_cents, l.label
FROM treasury_invoiceline l JOIN treasury_invoice i ON i.id = l.invoice_id
WHERE l.period = %s AND i.status = 'issued' AND l.kind <> 'credit'
ORDER BY l.id
"""


def billed_lines(period: date) -> dict[int, dict[LineKey, Billed]]:
    """What the issued invoices already billed for the month, per family and line key
    (one statement). Cancelled invoices count as not billed."""
    billed: dict[int, dict[LineKey, Billed]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_BILLED_SQL, [period])
        for (family_id, child_id, unit_id, tariff_id, kind, bracket, unit_price, sign,
             quantity, amount, label) in cursor.fetchall():
            key = _key(child_id, unit_id, tariff_id, kind, bracket, unit_price)
            entry = billed.setdefault(family_id, {}).get(key)
            if entry is None:
                entry = billed[family_id][key] = Billed()
            if kind in DAY_KINDS:
                entry.quantity += sign * quantity
            entry.amount += sign * amount
            if kind != LineKind.REGULARISATION or not entry.label:
                entry.label = label
    return billed


def draft_lines(priced: list[PricedLine], billed: dict[LineKey, Billed],
                period: date) -> list:
    """The lines to bill now: the priced lines the first time, else the differences
    (``DraftLine`` regularisations naming the month)."""
    if not billed:
        return priced
    expected: dict[LineKey, tuple[int, int, PricedLine]] = {}
    for line in priced:
        key = _key(line.child_id, line.unit_id, line.tariff_id, line.kind, line.bracket,
                   line.unit_price_cents)
        quantity, amount, _first = expected.get(key, (0, 0, line))
        expected[key] = (quantity + line.quantity, amount + line.amount_cents, line)
    lines = []
    month = month_label(period)
    for key in list(expected) + [key for key in billed if key not in expected]:
        due_quantity, due_amount, model = expected.get(key, (0, 0, None))
        done = billed.get(key) or Billed()
        delta_amount = due_amount - done.amount
        if not delta_amount:
            continue
        child_id, unit_id, tariff_id, kind, bracket, price = key
        delta_quantity = due_quantity - done.quantity if kind in DAY_KINDS else 0
        if price is not None and delta_quantity * price == delta_amount:
            quantity, unit_price = delta_quantity, price
        else:
            quantity, unit_price = 1, delta_amount
        base_label = model.label if model is not None else done.label
        if kind in DAY_KINDS:
            label = _("Adjustment for %(month)s: %(label)s (%(due)s due, %(billed)s billed)") % {
                "month": month, "label": base_label, "due": due_quantity,
                "billed": done.quantity}
        else:
            label = _("Adjustment for %(month)s: %(label)s") % {"month": month,
                                                                "label": base_label}
        lines.append(DraftLine(child_id, unit_id, tariff_id, REGULARISATION, bracket, quantity,
                               unit_price, delta_amount, label[:255], kind))
    return lines


class Summary:
    """Totals by service and bracket, counts and anomalies, for the review page."""

    def __init__(self, tariff_labels: dict[int, str]):
        self.tariff_labels = tariff_labels
        self.invoices = self.credit_notes = self.total = self.credit_total = 0
        self.anomalies: list[dict] = []
        self.anomaly_count = 0
        self._totals: dict = {}  # tariff -> signed total
        self._usage: dict = {}  # (tariff, bracket) -> [days, amount] as written

    def add_lines(self, lines, sign: int):
        """``sign`` -1: the lines are written negated (a credit note)."""
        totals, usage = self._totals, self._usage
        for line in lines:
            totals[line.tariff_id] = totals.get(line.tariff_id, 0) + line.amount_cents
            if line.kind == LineKind.USAGE:
                key = (line.tariff_id, line.bracket)
                entry = usage.get(key)
                if entry is None:
                    entry = usage[key] = [0, 0]
                entry[0] += sign * line.quantity
                entry[1] += sign * line.amount_cents

    def add_anomaly(self, family_id: int, name: str, reasons: list[str]):
        self.anomaly_count += 1
        if len(self.anomalies) < MAX_LISTED_ANOMALIES:
            self.anomalies.append({"family_id": family_id, "name": name, "reasons": reasons})

    def as_dict(self, untariffed: dict[str, int]) -> dict:
        services: dict[str, dict] = {}
        for tariff_id, total in self._totals.items():
            name = self.tariff_labels.get(tariff_id, "—")
            services.setdefault(name, {"total": 0, "brackets": {}})["total"] += total
        for (tariff_id, bracket), (days, amount) in self._usage.items():
            brackets = services[self.tariff_labels.get(tariff_id, "—")]["brackets"]
            entry = brackets.setdefault(str(bracket), {"days": 0, "amount": 0})
            entry["days"] += days
            entry["amount"] += amount
        return {"services": dict(sorted(services.items())), "invoices": self.invoices,
                "credit_notes": self.credit_notes, "total_cents": self.total,
                "credit_total_cents": self.credit_total, "anomalies": self.anomalies,
                "anomaly_count": self.anomaly_count, "untariffed_days": untariffed}


class Draft(NamedTuple):
    family_id: int
    kind: str
    total_cents: int  # as written (a credit note's total is positive)
    sign: int  # -1: the lines are negated (a credit note)
    debtor: Debtor
    lines: list


def invoice_kind(total: int) -> tuple[str, int]:
    """The kind of document for a signed total, and the sign its lines are written with."""
    if total >= 0:
        return str(InvoiceKind.INVOICE), 1
    return str(InvoiceKind.CREDIT_NOTE), -1
