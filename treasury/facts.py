"""What happened in a month, read in set-based SQL for every family at once.

``month_facts`` reads the month's ``treasury_billeddays`` rows (kept counted by the
database as bookings, taps, absences and memberships change: treasury migration 0006)
in one statement, no query per family, and returns, per family, the counts of unit-days
by child, unit, tariff, QF grid, quotient and category, which
``treasury.pricing.price_family`` turns into priced lines. A row's days are a bit set;
each tariff, the grid and each family quotient cover a bit set of the month's days too
(``public.parvis_day_bits``), so the days of a row under one tariff, grid and quotient
are the bits the three sets and the row share. The statement neither sorts nor groups:
its rows are loaded as PostgreSQL produces them, and a count may come twice for one key
(two quotient records of the same value in the month), which pricing adds up. The
rules by which a day falls in a category (applied by the triggers,
``public.parvis_billed_days_refresh``):

* a booked day is ``attended`` (or ``late_booking`` when booked after the deadline)
  unless the child was absent: a justified absence covering the day makes it
  ``justified_absence``; any other absence, or an attendance tap "absent", makes it
  ``unjustified_absence``; a tap "present" wins over a declared absence;
* a tap "present" without a booked reservation is ``no_booking``;
* a reservation cancelled after the deadline, not booked again, is ``late_cancellation``;
* the household billed is the one that booked; for presence without booking (or an old
  booking without household) it is the child's first household;
* the tariff is the unit's tariff valid on the day, the QF the family's quotient valid on
  the day, the grid the commune's grid valid on the day. Days without a tariff are not
  billed and are reported.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction

from treasury.pricing import Category, ChildInfo, DayCount, FamilyFacts, Grid, TariffRule

# The facts statement hashes the validity parts and a family's quotients; with more
# than PostgreSQL's default 4 MB the hash joins stay in memory.
FACTS_WORK_MEM = "32MB"
STREAM_ROWS = 2_000

FACTS_SQL = """
WITH tariffs AS (
    SELECT id, unit_id,
           public.parvis_day_bits(valid_from, LEAD(valid_from) OVER (
               PARTITION BY unit_id ORDER BY valid_from) - 1, %(start)s, %(end)s) AS bits
    FROM treasury_tariff
),
grids AS (
    SELECT id, public.parvis_day_bits(valid_from, LEAD(valid_from) OVER (
               ORDER BY valid_from) - 1, %(start)s, %(end)s) AS bits
    FROM treasury_quotientgrid
),
quotients AS (
    SELECT family_id, value,
           public.parvis_day_bits(valid_from, valid_until, %(start)s, %(end)s) AS bits
    FROM portal_familyquotient
    WHERE valid_from <= %(end)s AND (valid_until IS NULL OR valid_until >= %(start)s)
),
-- The days of the month each tariff, grid and quotient covers, as bit sets, and the days
-- none covers (per unit; for the grid, the commune's; per family for quotients).
tariff_parts AS (
    SELECT id, unit_id, bits FROM tariffs WHERE bits <> 0
    UNION ALL
    SELECT NULL, unit_id, %(every_day)s::bigint & ~bit_or(bits) FROM tariffs
    GROUP BY unit_id HAVING %(every_day)s::bigint & ~bit_or(bits) <> 0
),
grid_parts AS (
    SELECT id, bits FROM grids WHERE bits <> 0
    UNION ALL
    SELECT NULL, %(every_day)s::bigint & ~COALESCE(bit_or(bits), 0) FROM grids
    HAVING %(every_day)s::bigint & ~COALESCE(bit_or(bits), 0) <> 0
),
quotient_parts AS (
    SELECT family_id, value, bits FROM quotients
    UNION ALL
    SELECT family_id, NULL, %(every_day)s::bigint & ~bit_or(bits) FROM quotients
    GROUP BY family_id HAVING %(every_day)s::bigint & ~bit_or(bits) <> 0
)
SELECT b.family_id, b.child_id, b.unit_id, t.id, g.id, q.value, b.category,
       bit_count((b.days & COALESCE(t.bits, %(every_day)s::bigint) & g.bits
                  & COALESCE(q.bits, %(every_day)s::bigint))::bit(64))::int
FROM treasury_billeddays b
LEFT JOIN tariff_parts t ON t.unit_id = b.unit_id
CROSS JOIN grid_parts g
LEFT JOIN quotient_parts q ON q.family_id = b.family_id
WHERE b.month = %(start)s
  AND (b.days & COALESCE(t.bits, %(every_day)s::bigint) & g.bits
       & COALESCE(q.bits, %(every_day)s::bigint)) <> 0
"""

_FAMILIES_SQL = """
SELECT f.id, f.residency, f.name, f.address_line1, f.address_line2, f.postcode, f.city,
       payer.first_name, payer.last_name
FROM portal_family f
LEFT JOIN LATERAL (
    SELECT g.first_name, g.last_name FROM portal_guardian g
    WHERE g.family_id = f.id ORDER BY g.is_payer DESC, g.id LIMIT 1
) payer ON true
WHERE f.id = ANY(%(ids)s)
"""

_CHILDREN_SQL = """
SELECT m.family_id, c.id, c.first_name, c.birth_date
FROM portal_membership m JOIN portal_child c ON c.id = m.child_id
WHERE m.family_id = ANY(%(ids)s)
"""


@dataclass(frozen=True, slots=True)
class Debtor:
    name: str
    address1: str
    address2: str
    postcode: str
    city: str

    @property
    def is_complete(self) -> bool:
        return bool(self.address1 and self.postcode and self.city)


@dataclass
class MonthFacts:
    """Everything the pricing of one month needs, for every family with something billed."""

    families: dict[int, FamilyFacts] = field(default_factory=dict)
    debtors: dict[int, Debtor] = field(default_factory=dict)
    # (unit_id -> days) for unit-days that have no tariff (not billed, reported).
    untariffed_days: dict[int, int] = field(default_factory=dict)


def month_bounds(period: date) -> tuple[date, date]:
    start = period.replace(day=1)
    following = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, date.fromordinal(following.toordinal() - 1)


def facts_params(period: date) -> dict:
    """The parameters of the month's statements: first and last day, and the bit set of
    every day of the month."""
    start, end = month_bounds(period)
    return {"start": start, "end": end, "every_day": (1 << end.day) - 1}


def month_facts(period: date) -> MonthFacts:
    """Three statements for the whole commune, whatever the number of families (run in a
    transaction of their own, or the caller's, with ``FACTS_WORK_MEM``)."""
    facts = MonthFacts()
    counts: dict[int, list[DayCount]] = {}
    categories = {category.value: category for category in Category}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [FACTS_WORK_MEM])
        # Streamed: the rows are loaded while PostgreSQL still joins (no sort, no grouping).
        for family_id, child_id, unit_id, tariff_id, grid_id, quotient, category, days \
                in cursor.cursor.stream(FACTS_SQL, facts_params(period), size=STREAM_ROWS):
            if tariff_id is None or grid_id is None:
                facts.untariffed_days[unit_id] = facts.untariffed_days.get(unit_id, 0) + days
                continue
            counts.setdefault(family_id, []).append(DayCount(
                child_id, unit_id, tariff_id, grid_id, quotient, categories[category], days))
        ids = list(counts)
        children: dict[int, list[ChildInfo]] = {}
        cursor.execute(_CHILDREN_SQL, {"ids": ids})
        for family_id, child_id, first_name, birth_date in cursor.fetchall():
            children.setdefault(family_id, []).append(
                ChildInfo(id=child_id, first_name=first_name, birth_date=birth_date))
        cursor.execute(_FAMILIES_SQL, {"ids": ids})
        for (family_id, residency, name, address1, address2, postcode, city,
             first_name, last_name) in cursor.fetchall():
            facts.families[family_id] = FamilyFacts(
                family_id=family_id, resident=residency == "resident",
                children=tuple(children.get(family_id, ())),
                counts=tuple(counts[family_id]))
            debtor_name = f"{first_name} {last_name}" if last_name else name
            facts.debtors[family_id] = Debtor(name=debtor_name, address1=address1,
                                              address2=address2, postcode=postcode, city=city)
    return facts


def pricing_rules() -> tuple[dict[int, TariffRule], dict[int, Grid]]:
    """Every tariff and grid of the commune, as the pricing function takes them."""
    from treasury.models import QuotientGrid, Tariff

    tariffs = {}
    for tariff in Tariff.objects.select_related("unit__service", "unit__facility"):
        discounts = tuple(pct for pct in (tariff.sibling_discount_2_pct,
                                          tariff.sibling_discount_3_pct))
        tariffs[tariff.pk] = TariffRule(
            id=tariff.pk, unit_id=tariff.unit_id, service_id=tariff.unit.service_id,
            label=tariff.unit.service.name,
            resident_cents=tuple(tariff.resident_cents),
            non_resident_cents=tuple(tariff.non_resident_cents),
            sibling_discount_pct=discounts if any(discounts) else (),
            min_month_cents=tariff.min_month_cents, max_month_cents=tariff.max_month_cents,
            late_booking_surcharge_cents=tariff.late_booking_surcharge_cents,
            no_booking_surcharge_cents=tariff.no_booking_surcharge_cents,
            bill_unjustified_absence=tariff.bill_unjustified_absence,
            bill_late_cancellation=tariff.bill_late_cancellation)
    grids = {grid.pk: Grid(id=grid.pk, lower_bounds=tuple(grid.lower_bounds))
             for grid in QuotientGrid.objects.all()}
    return tariffs, grids
