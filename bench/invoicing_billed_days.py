"""What keeping the billed days counted costs elsewhere (treasury 0006), measured on the
invoicing bench's data after its timed runs: the rows it keeps, one booking changed with
and without the trigger's refresh, the whole month recomputed (what a bulk import pays),
and the month read from its sources as before (``treasury.facts_sources``), which must
give the same rows as the billed days."""

import random
import statistics
import time

SAMPLES = 200


def _one_update_ms(cursor, ids, *, trigger: bool) -> list[float]:
    """Milliseconds of one booking's UPDATE, each in a transaction rolled back."""
    from django.db import transaction

    timings = []
    for reservation_id in ids:
        with transaction.atomic():
            if not trigger:
                cursor.execute("ALTER TABLE portal_reservation "
                               "DISABLE TRIGGER portal_reservation_billed_days_update")
            started = time.perf_counter()
            cursor.execute("UPDATE portal_reservation SET booked_late = NOT booked_late "
                           "WHERE id = %s", [reservation_id])
            timings.append((time.perf_counter() - started) * 1000)
            transaction.set_rollback(True)
    return timings


def billed_days_costs(commune, period) -> bool:
    """Print the figures; True when the billed days equal their sources."""
    from django.db import connection, transaction

    from treasury.facts import month_bounds
    from treasury.facts_sources import billed_rows, source_rows

    start, end = month_bounds(period)
    with commune, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM treasury_billeddays WHERE month = %s", [start])
        rows = cursor.fetchone()[0]
        cursor.execute("SELECT pg_total_relation_size('treasury_billeddays')")
        size_mb = cursor.fetchone()[0] / 1024 / 1024
        cursor.execute("SELECT id FROM portal_reservation WHERE status = 'booked' "
                       "AND date BETWEEN %s AND %s", [start, end])
        ids = random.Random(1).sample([row[0] for row in cursor.fetchall()], SAMPLES)
        with_trigger = _one_update_ms(cursor, ids, trigger=True)
        without = _one_update_ms(cursor, ids, trigger=False)
        with transaction.atomic():
            started = time.perf_counter()
            cursor.execute("""
                SELECT public.parvis_billed_days_refresh(array_agg(child_id), array_agg(month))
                FROM (SELECT DISTINCT child_id, %s::date AS month FROM portal_reservation
                      WHERE date BETWEEN %s AND %s) pairs""", [start, start, end])
            recompute_s = time.perf_counter() - started
            transaction.set_rollback(True)
        started = time.perf_counter()
        sources = source_rows(period)
        sources_s = time.perf_counter() - started
        same = sources == billed_rows(period)

    def quantiles(values):
        return (f"median {statistics.median(values):.2f} ms, "
                f"p95 {statistics.quantiles(values, n=20)[-1]:.2f} ms")

    print(f"\n  Billed days kept by the database (treasury 0006): {rows:,} rows for the month "
          f"(table and index {size_mb:.0f} MB)")
    print(f"  (f) one booking changed, {SAMPLES} samples: {quantiles(with_trigger)} "
          f"(without the refresh: {quantiles(without)})")
    print(f"  (g) the whole month recomputed (a bulk import pays this): {recompute_s:.2f} s")
    print(f"  (h) the month read from its sources, as before 0006: {sources_s:.2f} s")
    print(f"  {'ok  ' if same else 'FAIL'} billed days == their sources "
          f"({sum(sources.values()):,} rows)")
    return same
