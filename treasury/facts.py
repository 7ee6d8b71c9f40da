"""What happened in a month, read in set-based SQL for every family at once.

``month_facts`` runs one aggregating statement over reservations, attendance and
absences of the month (no query per family) and returns, per family, the counts of
unit-days by child, unit, tariff, QF grid, quotient and category, which
``treasury.pricing.price_family`` turns into priced lines. Bookings and attendance taps
are matched in one pass (a hash full join PostgreSQL runs in parallel), and days are
counted per *stretch*: the days between two dates of the month on which a tariff, the
grid or some family's quotient changes (``width_bucket`` over those dates). Tariff, grid
and quotient are the same on every day of a stretch, so they are looked up once per
stretch rather than once per day. The rules:

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

# The facts statement hashes a month of attendance taps (about 40 MB for 600,000 taps):
# with PostgreSQL's default 4 MB it would spill to disk.
FACTS_WORK_MEM = "64MB"

_FACTS_SQL = """
WITH absence_days AS (
    SELECT a.child_id, d::date AS day, bool_or(a.status = 'justified') AS justified
    FROM portal_absence a,
         generate_series(GREATEST(a.start_date, %(start)s::date),
                         LEAST(a.end_date, %(end)s::date), interval '1 day') d
    WHERE a.end_date >= %(start)s AND a.start_date <= %(end)s
    GROUP BY 1, 2
),
-- The days of the month on which a tariff, the grid or a family's quotient changes.
breaks AS (
    SELECT COALESCE(array_agg(DISTINCT b ORDER BY b), '{}') AS days FROM (
        SELECT valid_from AS b FROM treasury_tariff
        UNION ALL SELECT valid_from FROM treasury_quotientgrid
        UNION ALL SELECT valid_from FROM portal_familyquotient
        UNION ALL SELECT valid_until + 1 FROM portal_familyquotient
    ) changes WHERE b > %(start)s AND b <= %(end)s
),
-- Booked days and attendance taps of the month, matched in one pass.
taps AS (
    SELECT r.child_id AS booked_child, r.family_id AS booked_family, r.booked_late,
           COALESCE(r.child_id, att.child_id) AS child_id,
           COALESCE(r.unit_id, att.unit_id) AS unit_id,
           COALESCE(r.date, att.date) AS date, att.present
    FROM (SELECT child_id, unit_id, date, family_id, booked_late FROM portal_reservation
          WHERE status = 'booked' AND date BETWEEN %(start)s AND %(end)s) r
    FULL JOIN (SELECT child_id, unit_id, date, present FROM portal_attendance
               WHERE date BETWEEN %(start)s AND %(end)s) att
           ON att.unit_id = r.unit_id AND att.date = r.date AND att.child_id = r.child_id
),
days AS (
    SELECT t.child_id, t.unit_id, t.date,
           CASE WHEN t.booked_child IS NULL THEN pf.family_id
                ELSE COALESCE(t.booked_family, pf.family_id) END AS family_id,
           CASE WHEN t.booked_child IS NULL THEN 'no_booking'
                WHEN t.present THEN
                     CASE WHEN t.booked_late THEN 'late_booking' ELSE 'attended' END
                WHEN ad.justified THEN 'justified_absence'
                WHEN ad.child_id IS NOT NULL OR t.present IS FALSE
                     THEN 'unjustified_absence'
                WHEN t.booked_late THEN 'late_booking'
                ELSE 'attended' END AS category
    FROM taps t
    LEFT JOIN (SELECT DISTINCT ON (child_id) child_id, family_id
               FROM portal_membership ORDER BY child_id, id) pf ON pf.child_id = t.child_id
    LEFT JOIN absence_days ad ON ad.child_id = t.child_id AND ad.day = t.date
    WHERE t.booked_child IS NOT NULL OR t.present
    UNION ALL
    SELECT * FROM (
        SELECT DISTINCT ON (r.child_id, r.unit_id, r.date)
               r.child_id, r.unit_id, r.date, COALESCE(r.family_id, pf.family_id),
               'late_cancellation'
        FROM portal_reservation r
        LEFT JOIN (SELECT DISTINCT ON (child_id) child_id, family_id
                   FROM portal_membership ORDER BY child_id, id) pf ON pf.child_id = r.child_id
        WHERE r.status = 'cancelled' AND r.cancelled_late
          AND r.date BETWEEN %(start)s AND %(end)s
          AND NOT EXISTS (SELECT 1 FROM portal_reservation b
                          WHERE b.child_id = r.child_id AND b.unit_id = r.unit_id
                            AND b.date = r.date AND b.status = 'booked')
        ORDER BY r.child_id, r.unit_id, r.date, r.id
    ) late_cancelled
),
-- Days counted per stretch between two breaks: tariff, grid and quotient are the same on
-- every day of a stretch, so they are looked up once per stretch, on its first day.
stretches AS (
    SELECT family_id, child_id, unit_id, category, min(date) AS day, count(*) AS days
    FROM days
    WHERE family_id IS NOT NULL
    GROUP BY family_id, child_id, unit_id, category,
             width_bucket(date, (SELECT days FROM breaks))
),
tariff_ranges AS (
    SELECT id, unit_id, valid_from,
           LEAD(valid_from) OVER (PARTITION BY unit_id ORDER BY valid_from) AS valid_to
    FROM treasury_tariff
),
grid_ranges AS (
    SELECT id, valid_from, LEAD(valid_from) OVER (ORDER BY valid_from) AS valid_to
    FROM treasury_quotientgrid
)
SELECT s.family_id, s.child_id, s.unit_id, t.id, g.id, q.value, s.category,
       sum(s.days)::int
FROM stretches s
LEFT JOIN tariff_ranges t
       ON t.unit_id = s.unit_id AND s.day >= t.valid_from
      AND (t.valid_to IS NULL OR s.day < t.valid_to)
LEFT JOIN grid_ranges g
       ON s.day >= g.valid_from AND (g.valid_to IS NULL OR s.day < g.valid_to)
LEFT JOIN portal_familyquotient q
       ON q.family_id = s.family_id AND s.day >= q.valid_from
      AND (q.valid_until IS NULL OR s.day <= q.valid_until)
GROUP BY 1, 2, 3, 4, 5, 6, 7
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


def month_facts(period: date) -> MonthFacts:
    """Three statements for the whole commune, whatever the number of families (run in a
    transaction of their own, or the caller's, with ``FACTS_WORK_MEM`` for the facts
    statement's hash tables)."""
    start, end = month_bounds(period)
    facts = MonthFacts()
    counts: dict[int, list[DayCount]] = {}
    categories = {category.value: category for category in Category}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [FACTS_WORK_MEM])
        cursor.execute(_FACTS_SQL, {"start": start, "end": end})
        for family_id, child_id, unit_id, tariff_id, grid_id, quotient, category, days \
                in cursor.fetchall():
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
