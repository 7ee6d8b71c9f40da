"""The month's billable days, kept counted as bookings, taps, absences and memberships
change (``treasury_billeddays``, read by ``treasury.facts.month_facts``).

Reading a month for invoicing used to aggregate every booking and tap of the month in
one statement (1.4–2.0 s for 1.2 million booked days, docs/benchmarks.md). Now each
statement that writes ``portal_reservation``, ``portal_attendance``, ``portal_absence``
or ``portal_membership`` recomputes, before it returns, the rows of every (child, month)
it touched: one row per child, unit, household and category, the month's days as the
bits of a ``bigint``. The categories are the ones ``treasury.facts`` documents (same
rules as the statement it replaces, which the tests keep as their oracle).

* ``public.parvis_billed_days_refresh(children, months)``: deletes and recomputes the
  rows of those (child, month) pairs from the source tables. It first locks the
  children's rows ``FOR NO KEY UPDATE`` (which foreign key checks do not wait for), so
  two transactions refreshing the same child run one after the other, the second
  reading what the first committed: under READ COMMITTED each statement of the function
  takes a fresh snapshot. REPEATABLE READ would keep the old snapshot: refused.
* one trigger per table and operation (statement level, transition tables) finds the
  pairs: a reservation or tap names its child and day; an absence covers the months
  between its dates; a membership changes the household billed for unbooked days, so
  every month in which the child has a booking or a tap is recomputed.
* ``public.parvis_day_bits(from_day, to_day, month_start, month_end)``: the bit set of
  the days of a month between two dates (inclusive; ``NULL`` to_day = open-ended).

TRUNCATE is not followed (a truncated source table leaves stale rows: truncate this
table too); the owner can switch the triggers off, then refresh everything with
``SELECT public.parvis_billed_days_refresh_all()``.
"""

from django.db import migrations, models

# (table, how its rows name the (child, month) pairs to recompute, from a set "rows").
SOURCES = (
    ("portal_reservation", "SELECT child_id, date_trunc('month', date)::date FROM {rows}"),
    ("portal_attendance", "SELECT child_id, date_trunc('month', date)::date FROM {rows}"),
    ("portal_absence", """SELECT child_id, generate_series(date_trunc('month', start_date),
                                 date_trunc('month', end_date), interval '1 month')::date
                          FROM {rows}"""),
    ("portal_membership", """SELECT child_id, date_trunc('month', date)::date
                             FROM portal_reservation
                             WHERE child_id IN (SELECT child_id FROM {rows})
                             UNION SELECT child_id, date_trunc('month', date)::date
                             FROM portal_attendance
                             WHERE child_id IN (SELECT child_id FROM {rows})"""),
)

# What changed, by operation: the transition tables each trigger declares.
CHANGED = {"INSERT": ("new_rows",), "DELETE": ("old_rows",), "UPDATE": ("old_rows", "new_rows")}
REFERENCING = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows",
               "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}

# The rows of the (child, month) pairs in "keys": the rules of treasury.facts.
RECOMPUTE = """
WITH keys AS (
    SELECT DISTINCT child_id, month, (month + interval '1 month')::date - 1 AS month_end
    FROM unnest(children, months) AS k(child_id, month)
),
first_family AS (
    SELECT DISTINCT ON (child_id) child_id, family_id FROM portal_membership
    WHERE child_id IN (SELECT child_id FROM keys) ORDER BY child_id, id
),
absence_days AS (
    SELECT a.child_id, d::date AS day, bool_or(a.status = 'justified') AS justified
    FROM keys k
    JOIN portal_absence a ON a.child_id = k.child_id
     AND a.end_date >= k.month AND a.start_date <= k.month_end,
    generate_series(GREATEST(a.start_date, k.month), LEAST(a.end_date, k.month_end),
                    interval '1 day') d
    GROUP BY 1, 2
),
taps AS (
    SELECT r.child_id AS booked_child, r.family_id AS booked_family, r.booked_late,
           COALESCE(r.child_id, att.child_id) AS child_id,
           COALESCE(r.unit_id, att.unit_id) AS unit_id,
           COALESCE(r.date, att.date) AS date, att.present
    FROM (SELECT r.child_id, r.unit_id, r.date, r.family_id, r.booked_late
          FROM keys k JOIN portal_reservation r ON r.child_id = k.child_id
           AND r.date BETWEEN k.month AND k.month_end
          WHERE r.status = 'booked') r
    FULL JOIN (SELECT a.child_id, a.unit_id, a.date, a.present
               FROM keys k JOIN portal_attendance a ON a.child_id = k.child_id
                AND a.date BETWEEN k.month AND k.month_end) att
           ON att.unit_id = r.unit_id AND att.date = r.date AND att.child_id = r.child_id
),
days AS (
    SELECT t.child_id, t.unit_id, t.date,
           CASE WHEN t.booked_child IS NULL THEN ff.family_id
                ELSE COALESCE(t.booked_family, ff.family_id) END AS family_id,
           CASE WHEN t.booked_child IS NULL THEN 'no_booking'
                WHEN t.present THEN
                     CASE WHEN t.booked_late THEN 'late_booking' ELSE 'attended' END
                WHEN ad.justified THEN 'justified_absence'
                WHEN ad.child_id IS NOT NULL OR t.present IS FALSE
                     THEN 'unjustified_absence'
                WHEN t.booked_late THEN 'late_booking'
                ELSE 'attended' END AS category
    FROM taps t
    LEFT JOIN first_family ff ON ff.child_id = t.child_id
    LEFT JOIN absence_days ad ON ad.child_id = t.child_id AND ad.day = t.date
    WHERE t.booked_child IS NOT NULL OR t.present
    UNION ALL
    SELECT * FROM (
        SELECT DISTINCT ON (r.child_id, r.unit_id, r.date)
               r.child_id, r.unit_id, r.date, COALESCE(r.family_id, ff.family_id),
               'late_cancellation'
        FROM keys k
        JOIN portal_reservation r ON r.child_id = k.child_id
         AND r.date BETWEEN k.month AND k.month_end
        LEFT JOIN first_family ff ON ff.child_id = r.child_id
        WHERE r.status = 'cancelled' AND r.cancelled_late
          AND NOT EXISTS (SELECT 1 FROM portal_reservation b
                          WHERE b.child_id = r.child_id AND b.unit_id = r.unit_id
                            AND b.date = r.date AND b.status = 'booked')
        ORDER BY r.child_id, r.unit_id, r.date, r.id
    ) late_cancelled
)
SELECT date_trunc('month', date)::date, child_id, unit_id, family_id, category,
       bit_or(1::bigint << (extract(day FROM date)::int - 1))
FROM days
WHERE family_id IS NOT NULL
GROUP BY 1, 2, 3, 4, 5"""

FUNCTIONS = """
SELECT pg_advisory_xact_lock(hashtext('parvis_billed_days'));

CREATE OR REPLACE FUNCTION public.parvis_day_bits(from_day date, to_day date,
                                                  month_start date, month_end date)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN GREATEST(from_day, month_start) > LEAST(COALESCE(to_day, month_end), month_end)
                THEN 0::bigint
                ELSE ((1::bigint << (LEAST(COALESCE(to_day, month_end), month_end)
                                     - GREATEST(from_day, month_start) + 1)) - 1)
                     << (GREATEST(from_day, month_start) - month_start) END
$$;

CREATE OR REPLACE FUNCTION public.parvis_billed_days_refresh(children bigint[], months date[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF children IS NULL OR cardinality(children) = 0 THEN
        RETURN;
    END IF;
    IF current_setting('transaction_isolation') = 'repeatable read' THEN
        RAISE EXCEPTION 'bookings and attendance cannot change under REPEATABLE READ '
                        '(the billed days would be computed from an old snapshot)'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    PERFORM 1 FROM portal_child WHERE id = ANY(children) ORDER BY id FOR NO KEY UPDATE;
    DELETE FROM treasury_billeddays b
    USING (SELECT DISTINCT child_id, month FROM unnest(children, months) AS k(child_id, month)) k
    WHERE b.child_id = k.child_id AND b.month = k.month;
    INSERT INTO treasury_billeddays (month, child_id, unit_id, family_id, category, days)
""" + RECOMPUTE + """;
END
$$;

CREATE OR REPLACE FUNCTION public.parvis_billed_days_refresh_all() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    children bigint[];
    months date[];
BEGIN
    SELECT array_agg(child_id), array_agg(month) INTO children, months FROM (
        SELECT child_id, date_trunc('month', date)::date AS month FROM portal_reservation
        UNION SELECT child_id, date_trunc('month', date)::date FROM portal_attendance
        UNION SELECT child_id, month FROM treasury_billeddays) pairs;
    PERFORM public.parvis_billed_days_refresh(children, months);
END
$$;
"""

FUNCTION = """
CREATE OR REPLACE FUNCTION public.parvis_billed_days_{table}() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    children bigint[];
    months date[];
BEGIN
{branches}
    END IF;
    PERFORM public.parvis_billed_days_refresh(children, months);
    RETURN NULL;
END
$$;
"""

BRANCH = """    {keyword} TG_OP = '{operation}' THEN
        SELECT array_agg(child_id), array_agg(month) INTO children, months
        FROM ({pairs}) AS pairs(child_id, month);
"""

TRIGGER = """
CREATE TRIGGER {table}_billed_days_{suffix}
    AFTER {operation} ON {table} REFERENCING {referencing}
    FOR EACH STATEMENT EXECUTE FUNCTION public.parvis_billed_days_{table}();
"""


def pairs(query: str, operation: str) -> str:
    return " UNION ".join(query.format(rows=rows) for rows in CHANGED[operation])


def triggers_sql() -> str:
    sql = []
    for table, query in SOURCES:
        branches = "".join(
            BRANCH.format(keyword="IF" if index == 0 else "ELSIF", operation=operation,
                          pairs=pairs(query, operation))
            for index, operation in enumerate(CHANGED))
        sql.append(FUNCTION.format(table=table, branches=branches))
        sql.extend(TRIGGER.format(table=table, suffix=operation.lower(), operation=operation,
                                  referencing=REFERENCING[operation])
                   for operation in CHANGED)
    return "".join(sql)


FORWARD = FUNCTIONS + triggers_sql() + """
SELECT public.parvis_billed_days_refresh_all();
"""

BACKWARD = "".join(f"DROP TRIGGER IF EXISTS {table}_billed_days_{operation.lower()} ON {table};\n"
                   for table, _query in SOURCES for operation in CHANGED)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0003_guardian_civility"),
        ("treasury", "0005_line_references_by_statement"),
    ]
    operations = [
        migrations.CreateModel(
            name="BilledDays",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("month", models.DateField()),
                ("child_id", models.BigIntegerField()),
                ("unit_id", models.BigIntegerField()),
                ("family_id", models.BigIntegerField()),
                ("category", models.CharField(max_length=24)),
                ("days", models.BigIntegerField()),
            ],
            options={"indexes": [models.Index(fields=["month", "child_id"],
                                              name="billed_days_month_child")]},
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
