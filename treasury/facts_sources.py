"""The month read straight from its sources, to audit the billed days.

``SOURCES_SQL`` is what ``treasury.facts.month_facts`` ran before the billed days were
kept counted (treasury 0006): one aggregating statement over the month's bookings, taps,
absences and memberships, the same rules, the same rows out (1.4–2.0 s for a town of
10,000 families). The tests use it as the oracle of the triggers after every kind of
change; ``check_billed_days`` uses it to audit a month in production, and
``billed_days_rebuild`` (``treasury.services.billed_days``) repairs what differs.

Its category rules are written a second time, on purpose, in the refresh function of
migration 0006 (a migration must not import application code that may change later):
this statement reads the whole month its own way (days counted per validity stretch,
not bit sets), so that it checks the triggers' bookkeeping and the bit-set reading.
"""

from collections import Counter
from datetime import date

from django.db import connection, transaction

from treasury.facts import FACTS_SQL, facts_params

SOURCES_SQL = """
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


# The sources statement hashes a month of attendance taps (about 40 MB for 600,000
# taps): with PostgreSQL's default 4 MB it would spill to disk.
SOURCES_WORK_MEM = "64MB"


def _rows(sql: str, period: date) -> Counter:
    """The statement's rows, counts of one key added up (the billed days' statement may
    give a key twice: ``treasury.facts``)."""
    days: Counter = Counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [SOURCES_WORK_MEM])
        cursor.execute(sql, facts_params(period))
        for *key, count in cursor.fetchall():
            days[tuple(key)] += count
    return Counter(key + (count,) for key, count in days.items())


def source_rows(period: date) -> Counter:
    """(family, child, unit, tariff, grid, quotient, category, days) read from the sources."""
    return _rows(SOURCES_SQL, period)


def billed_rows(period: date) -> Counter:
    """The same rows as ``month_facts`` reads them from the billed days."""
    return _rows(FACTS_SQL, period)


def billed_days_differences(period: date) -> tuple[Counter, Counter]:
    """(rows the sources give and the billed days miss, rows only the billed days give)."""
    sources, billed = source_rows(period), billed_rows(period)
    return sources - billed, billed - sources
