"""The figures of a month's close, from the treasury alone (any channel, no provider).

The month's invoices are those issued in it (``issue_date``). For every family and in
total: invoiced = collected by the régie (settled by payments) + sent to the treasury
(what is left on invoices with ``sent_to_treasury_at``) + credited (credit notes) +
outstanding. Each term is summed on its own from the settlements, so an invoice settled
beyond its total, or a cancelled one not exactly settled, shows as a difference.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, Sum

from treasury.models import Payment, Refund

AGE_BUCKETS = [(None, 0, "not_due"), (0, 30, "0-30"), (30, 60, "31-60"), (60, 90, "61-90"),
               (90, None, "90+")]

_FAMILY_SQL = """
WITH inv AS (
    SELECT i.id, i.family_id, i.total_cents, i.status, i.sent_to_treasury_at,
           COALESCE(SUM(s.amount_cents) FILTER (WHERE s.payment_id IS NOT NULL), 0) AS paid,
           COALESCE(SUM(s.amount_cents) FILTER (WHERE s.credit_note_id IS NOT NULL), 0)
               AS credited
    FROM treasury_invoice i
    LEFT JOIN treasury_settlement s ON s.invoice_id = i.id
    WHERE i.kind = 'invoice' AND i.status IN ('issued', 'cancelled')
      AND i.issue_date >= %(start)s AND i.issue_date < %(end)s
    GROUP BY i.id)
SELECT inv.family_id, f.name, COUNT(*), SUM(inv.total_cents)::bigint,
       SUM(inv.paid)::bigint, SUM(inv.credited)::bigint,
       COALESCE(SUM(inv.total_cents - inv.paid - inv.credited) FILTER (
           WHERE inv.status = 'issued' AND inv.sent_to_treasury_at IS NOT NULL), 0)::bigint,
       COALESCE(SUM(GREATEST(inv.total_cents - inv.paid - inv.credited, 0)) FILTER (
           WHERE inv.status = 'issued' AND inv.sent_to_treasury_at IS NULL), 0)::bigint
FROM inv JOIN portal_family f ON f.id = inv.family_id
GROUP BY inv.family_id, f.name
ORDER BY f.name, inv.family_id
"""

_AGE_SQL = """
WITH inv AS (
    SELECT i.due_date, i.total_cents - COALESCE((
        SELECT SUM(s.amount_cents) FROM treasury_settlement s WHERE s.invoice_id = i.id), 0)
        AS remaining
    FROM treasury_invoice i
    WHERE i.kind = 'invoice' AND i.status = 'issued' AND i.sent_to_treasury_at IS NULL
      AND i.issue_date < %(end)s)
SELECT due_date, SUM(remaining)::bigint FROM inv WHERE remaining > 0 GROUP BY due_date
"""


@dataclass(frozen=True)
class CloseLine:
    """One family's (or the total's) invoices of the month, in cents."""

    invoiced: int = 0
    paid: int = 0
    at_treasury: int = 0
    credited: int = 0
    outstanding: int = 0
    invoices: int = 0
    family_id: int | None = None
    name: str = ""

    @property
    def difference(self) -> int:
        return self.invoiced - self.paid - self.at_treasury - self.credited - self.outstanding


@dataclass
class MonthFigures:
    period: date
    total: CloseLine
    families: list[CloseLine]
    receipts: list[tuple[date, str, int]]  # (day, channel, cents) received that day
    receipts_by_channel: dict[str, int]
    payments_count: int
    refunds_cents: int
    outstanding_by_age: list[tuple[str, int]] = field(default_factory=list)

    @property
    def differences(self) -> list[CloseLine]:
        return [line for line in self.families if line.difference]

    @property
    def receipts_cents(self) -> int:
        return sum(self.receipts_by_channel.values())

    @property
    def ties_out(self) -> bool:
        return self.total.difference == 0 and not self.differences


def _month_end(period: date) -> date:
    return date(period.year + period.month // 12, period.month % 12 + 1, 1)


def _families(start: date, end: date) -> list[CloseLine]:
    with connection.cursor() as cursor:
        cursor.execute(_FAMILY_SQL, {"start": start, "end": end})
        return [CloseLine(family_id=row[0], name=row[1], invoices=row[2], invoiced=row[3],
                          paid=row[4], credited=row[5], at_treasury=row[6],
                          outstanding=row[7]) for row in cursor.fetchall()]


def _ages(end: date) -> list[tuple[str, int]]:
    """What is still due on open invoices issued before ``end``, by days past due on
    the last day of the month (invoices sent to the treasury are not the régie's)."""
    last = date.fromordinal(end.toordinal() - 1)
    totals = {label: 0 for _low, _high, label in AGE_BUCKETS}
    with connection.cursor() as cursor:
        cursor.execute(_AGE_SQL, {"end": end})
        for due_date, cents in cursor.fetchall():
            late = (last - due_date).days if due_date else 0
            for low, high, label in AGE_BUCKETS:
                if (low is None and late <= 0) or (
                        low is not None and late > low and (high is None or late <= high)):
                    totals[label] += cents
                    break
    return list(totals.items())


def month_figures(period: date) -> MonthFigures:
    """Everything the month's close checks and reports (a handful of statements)."""
    start = period.replace(day=1)
    end = _month_end(start)
    families = _families(start, end)
    total = CloseLine(**{name: sum(getattr(line, name) for line in families) for name in (
        "invoiced", "paid", "at_treasury", "credited", "outstanding", "invoices")})
    received = Payment.objects.filter(received_on__gte=start, received_on__lt=end)
    receipts = [(row["received_on"], row["channel"], row["total"]) for row in received
                .order_by().values("received_on", "channel")
                .annotate(total=Sum("amount_cents")).order_by("received_on", "channel")]
    by_channel: dict[str, int] = {}
    for _day, channel, cents in receipts:
        by_channel[channel] = by_channel.get(channel, 0) + cents
    zone = ZoneInfo(settings.TIME_ZONE)
    refunds = Refund.objects.filter(
        created_at__gte=datetime.combine(start, time.min, tzinfo=zone),
        created_at__lt=datetime.combine(end, time.min, tzinfo=zone)).aggregate(
        total=Sum("amount_cents", default=0))["total"]
    return MonthFigures(period=start, total=total, families=families, receipts=receipts,
                        receipts_by_channel=by_channel,
                        payments_count=received.aggregate(n=Count("id"))["n"],
                        refunds_cents=refunds, outstanding_by_age=_ages(end))
