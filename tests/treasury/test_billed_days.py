"""The billed days (treasury 0006): kept counted by the database as bookings, taps,
absences and memberships change, and always equal to what the month's sources say (the
oracle, ``treasury.facts_sources``), whatever wrote them and in whatever order."""

import random
import threading
from datetime import date, timedelta
from io import StringIO

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from core.models import ActionLog
from portal.models import (
    Absence,
    AbsenceStatus,
    Attendance,
    FamilyQuotient,
    Membership,
    Reservation,
    ReservationStatus,
)
from tests.committed import raw_connection, throwaway_commune
from tests.treasury.factories import (
    SYSTEM,
    assert_billed_days_match,
    book,
    make_household,
    make_priced_unit,
    tap,
    weekdays,
)
from tests.treasury.test_run_stretches import add_household
from treasury.facts import month_facts, pricing_rules
from treasury.facts_sources import billed_rows
from treasury.models import BilledDays, LineKind
from treasury.pricing import price_family
from treasury.services.tariffs import quotient_grid_set, tariff_set

MARCH, APRIL = date(2026, 3, 1), date(2026, 4, 1)


def d(day: int, month: int = 3) -> date:
    return date(2026, month, day)


def bits(*days: int) -> int:
    return sum(1 << (day - 1) for day in days)


def billed(child, unit=None) -> dict[tuple, int]:
    """{(month, unit, family, category): days bit set} of the child."""
    rows = BilledDays.objects.filter(child_id=child.pk)
    if unit is not None:
        rows = rows.filter(unit_id=unit.pk)
    return {(row.month, row.unit_id, row.family_id, row.category): row.days for row in rows}


@pytest.mark.parametrize(("from_day", "to_day", "expected"), [
    (d(1), d(31), 2 ** 31 - 1),          # the whole month
    (d(10), d(12), bits(10, 11, 12)),
    (date(2025, 1, 1), None, 2 ** 31 - 1),  # open-ended, from before the month
    (d(30), d(5, 4), bits(30, 31)),      # into the next month
    (date(2026, 2, 1), date(2026, 2, 28), 0),  # before the month
    (d(2, 4), None, 0),                  # after the month
    (d(12), d(11), 0),                   # an empty range
])
def test_day_bits(db, from_day, to_day, expected):
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.parvis_day_bits(%s, %s, %s, %s)",
                       [from_day, to_day, d(1), d(31)])
        assert cursor.fetchone() == (expected,)


@pytest.fixture
def lea(commune_a):
    with commune_a:
        unit = make_priced_unit()
        family, (child,) = make_household()
        yield family, child, unit


def test_every_source_change_is_followed(lea):
    family, child, unit = lea
    book(child, unit, [d(2), d(3), d(4), d(5)])
    assert billed(child) == {(MARCH, unit.pk, family.pk, "attended"): bits(2, 3, 4, 5)}

    Reservation.objects.filter(child=child, date=d(5)).update(
        status=ReservationStatus.CANCELLED, cancelled_late=True)
    tap(child, unit, d(3), present=False)
    tap(child, unit, d(6), present=True, without_booking=True)
    assert billed(child) == {
        (MARCH, unit.pk, family.pk, "attended"): bits(2, 4),
        (MARCH, unit.pk, family.pk, "unjustified_absence"): bits(3),
        (MARCH, unit.pk, family.pk, "late_cancellation"): bits(5),
        (MARCH, unit.pk, family.pk, "no_booking"): bits(6)}
    assert_billed_days_match(MARCH)

    absence = Absence.objects.create(child=child, start_date=d(28, 2), end_date=d(4))
    assert billed(child)[MARCH, unit.pk, family.pk, "unjustified_absence"] == bits(2, 3, 4)
    Absence.objects.filter(pk=absence.pk).update(status=AbsenceStatus.JUSTIFIED)
    # A justified absence wins over the tap "absent" of the 3rd.
    assert billed(child)[MARCH, unit.pk, family.pk, "justified_absence"] == bits(2, 3, 4)
    Attendance.objects.filter(child=child, date=d(6)).delete()
    assert (MARCH, unit.pk, family.pk, "no_booking") not in billed(child)
    assert_billed_days_match(MARCH)

    absence.delete()
    Reservation.objects.filter(child=child, date=d(5)).delete()
    Attendance.objects.filter(child=child).delete()
    assert billed(child) == {(MARCH, unit.pk, family.pk, "attended"): bits(2, 3, 4)}
    Reservation.objects.filter(child=child).delete()
    assert billed(child) == {}
    assert_billed_days_match(MARCH)


def test_a_new_household_changes_who_pays_for_unbooked_days(lea):
    family, child, unit = lea
    tap(child, unit, d(6), present=True, without_booking=True)
    tap(child, unit, d(9, 4), present=True, without_booking=True)
    Membership.objects.filter(child=child).delete()
    assert billed(child) == {}  # nobody to bill: not counted (the oracle agrees)
    assert_billed_days_match(MARCH)
    other = add_household(child, "Durand", 500)
    assert billed(child) == {(MARCH, unit.pk, other.pk, "no_booking"): bits(6),
                             (APRIL, unit.pk, other.pk, "no_booking"): bits(9)}
    Membership.objects.create(child=child, family=family)  # the first household stays
    assert {key[2] for key in billed(child)} == {other.pk}
    for period in (MARCH, APRIL):
        assert_billed_days_match(period)


def test_one_statement_over_many_children_and_months(lea):
    family, child, unit = lea
    _others, kids = make_household("Bernard", children=("Tom", "Zoé"))
    days = weekdays(d(2), 30)  # March and April
    for kid in [child, *kids]:
        book(kid, unit, days)
    assert BilledDays.objects.count() == 6  # 3 children x 2 months
    # One UPDATE moves every booking to the Martin household (e.g. a merge).
    Reservation.objects.update(family=family)
    assert set(BilledDays.objects.values_list("family_id", flat=True)) == {family.pk}
    Absence.objects.bulk_create([
        Absence(child=kid, start_date=d(30), end_date=d(2, 4), status=AbsenceStatus.JUSTIFIED)
        for kid in kids])
    for period in (MARCH, APRIL):
        assert_billed_days_match(period)
    Reservation.objects.all().delete()
    assert not BilledDays.objects.exists()


def test_quotient_tariff_and_grid_changes_are_read_per_day(lea):
    family, child, unit = lea
    book(child, unit, weekdays(d(2), 22))
    tap(child, unit, d(7), present=True, without_booking=True)  # a Saturday
    FamilyQuotient.objects.filter(family=family).update(valid_until=d(10))
    FamilyQuotient.objects.create(family=family, value=1500, source="caf",
                                  valid_from=d(16), valid_until=d(24))
    tariff_set(unit=unit, valid_from=d(20), resident_cents=[110, 160, 330, 420, 470, 520, 570],
               actor=SYSTEM)
    quotient_grid_set(valid_from=d(25), lower_bounds=[0, 500, 800, 1100, 1300, 1800, 2100],
                      actor=SYSTEM)
    spare = make_priced_unit(name="Garderie", valid_from=d(18))  # no tariff before the 18th
    book(child, spare, weekdays(d(16), 5))
    rows = billed_rows(MARCH)
    # Every stretch: QF 700 to the 10th, none 11-15 and 25-31, 1500 16-24; each tariff.
    quotients = {(row[3], row[5]) for row in rows if row[1] == child.pk and row[2] == unit.pk}
    assert {quotient for _tariff, quotient in quotients} == {700, None, 1500}
    assert len({tariff for tariff, _quotient in quotients}) == 2
    assert any(row[3] is None and row[2] == spare.pk for row in rows)  # days before a tariff
    assert sum(days for row, count in rows.items() for days in [row[7]] * count) == 22 + 1 + 5
    assert_billed_days_match(MARCH)


def test_a_quotient_renewed_at_the_same_value_gives_one_line(lea):
    family, child, unit = lea
    book(child, unit, weekdays(d(2), 10))  # 2-6 and 9-13 March
    FamilyQuotient.objects.filter(family=family).update(valid_until=d(8))
    FamilyQuotient.objects.create(family=family, value=700, source="caf", valid_from=d(9))
    counts = month_facts(MARCH).families[family.pk].counts
    assert sorted((count.quotient, count.days) for count in counts) == [(700, 5), (700, 5)]
    tariffs, grids = pricing_rules()
    lines = price_family(month_facts(MARCH).families[family.pk], tariffs=tariffs, grids=grids)
    assert [(line.kind, line.quantity) for line in lines] == [(LineKind.USAGE, 10)]
    assert_billed_days_match(MARCH)


@pytest.mark.parametrize("seed", [3, 14, 159])
def test_random_changes_always_match_the_sources(lea, seed):
    """Bookings, cancellations, re-bookings, taps, absences, households and quotients
    changed at random, one statement at a time; compared with the oracle as it goes."""
    rng = random.Random(seed)
    family, child, unit = lea
    _second, kids = make_household("Petit", quotient=None, children=("Hugo", "Inès"))
    children = [child, *kids]
    units = [unit, make_priced_unit(name="Garderie")]
    days = [d(25, 2) + timedelta(days=offset) for offset in range(45)]  # Feb to April

    def kid_unit_day():
        return rng.choice(children), rng.choice(units), rng.choice(days)

    for step in range(160):
        kid, place, day = kid_unit_day()
        roll = rng.random()
        if roll < 0.3:
            if not Reservation.objects.filter(child=kid, unit=place, date=day,
                                              status=ReservationStatus.BOOKED).exists():
                book(kid, place, [day], booked_late=rng.random() < 0.3)
        elif roll < 0.45:
            Reservation.objects.filter(child=kid, unit=place, date=day,
                                       status=ReservationStatus.BOOKED).update(
                status=ReservationStatus.CANCELLED, cancelled_late=rng.random() < 0.5)
        elif roll < 0.6:
            Attendance.objects.update_or_create(child=kid, unit=place, date=day,
                                                defaults={"present": rng.random() < 0.6})
        elif roll < 0.65:
            Attendance.objects.filter(child=kid, date=day).delete()
        elif roll < 0.75:
            Absence.objects.create(child=kid, start_date=day,
                                   end_date=day + timedelta(days=rng.randint(0, 9)),
                                   status=rng.choice(list(AbsenceStatus)))
        elif roll < 0.8:
            Absence.objects.filter(child=kid).update(status=rng.choice(list(AbsenceStatus)))
        elif roll < 0.83:
            Absence.objects.filter(child=kid, start_date__lte=day).delete()
        elif roll < 0.87:
            if kid.memberships.count() == 1:
                add_household(kid, f"Foyer{step}", rng.randint(0, 2500))
            else:
                kid.memberships.order_by("?").first().delete()
        elif roll < 0.93:
            FamilyQuotient.objects.get_or_create(
                family=kid.families.first(), valid_from=day,
                defaults={"value": rng.randint(0, 2500), "source": "caf",
                          "valid_until": day + timedelta(days=rng.randint(0, 20))})
        else:
            Reservation.objects.filter(child=kid, date__gte=day).delete()
        if step % 20 == 19:
            for period in (MARCH, APRIL):
                assert_billed_days_match(period)
    for period in (date(2026, 2, 1), MARCH, APRIL):
        assert_billed_days_match(period)
    assert BilledDays.objects.exists()


def test_the_rows_of_another_commune_are_never_touched(lea, commune_b):
    family, child, unit = lea
    with commune_b:
        unit_b = make_priced_unit()
        _family_b, (child_b,) = make_household("Roux")
        book(child_b, unit_b, [d(2), d(3)])
        rows_b = list(BilledDays.objects.values_list("child_id", "unit_id", "days"))
        # Ids can be equal in both schemas: make the match certain.
        assert rows_b == [(child_b.pk, unit_b.pk, bits(2, 3))]
    book(child, unit, weekdays(d(2), 10))
    Reservation.objects.filter(child=child).update(booked_late=True)
    assert BilledDays.objects.get().days == bits(2, 3, 4, 5, 6, 9, 10, 11, 12, 13)
    with commune_b:
        assert list(BilledDays.objects.values_list("child_id", "unit_id", "days")) == rows_b
        assert {row[0] for row in billed_rows(MARCH)} == {_family_b.pk}


def test_a_month_written_without_the_triggers_is_found_and_repaired(lea, commune_a):
    family, child, unit = lea
    book(child, unit, [d(2)])
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending check: ALTER can run
        cursor.execute("ALTER TABLE portal_reservation "
                       "DISABLE TRIGGER portal_reservation_billed_days_insert")
        book(child, unit, [d(3)])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE portal_reservation "
                       "ENABLE TRIGGER portal_reservation_billed_days_insert")
    assert billed(child)[MARCH, unit.pk, family.pk, "attended"] == bits(2)
    args = ["check_billed_days", "--commune", commune_a.schema_name, "--period", "2026-03"]
    out = StringIO()
    with pytest.raises(CommandError, match="1 rows missing, 1 extra; --repair"):
        call_command(*args, stdout=out)
    assert f"missing: family {family.pk}, child {child.pk}" in out.getvalue()
    assert "days 2" in out.getvalue() and "days 1" in out.getvalue()

    call_command(*args, "--repair", stdout=out)
    assert "repaired (1 rows recomputed)" in out.getvalue()
    assert billed(child)[MARCH, unit.pk, family.pk, "attended"] == bits(2, 3)
    assert ActionLog.objects.filter(action="treasury.billed_days_rebuild").count() == 1
    call_command(*args, stdout=out)
    assert "the billed days match their sources" in out.getvalue()


# --- Two transactions on the same child (committed data, two connections) ---------------

@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    with throwaway_commune(django_db_blocker, "jours") as commune:
        with django_db_blocker.unblock(), commune:
            unit, other = make_priced_unit(), make_priced_unit(name="Garderie")
            family, (child,) = make_household()
        yield commune, family.pk, child.pk, unit.pk, other.pk


def test_two_transactions_booking_the_same_child_both_count(committed, django_db_blocker):
    commune, family, child, unit, other = committed
    first, second = raw_connection(commune.schema_name), raw_connection(commune.schema_name)
    insert = ("INSERT INTO portal_reservation (child_id, unit_id, family_id, date, status, "
              "booked_late, cancelled_late, booked_at) "
              "VALUES (%s, %s, %s, %s, 'booked', false, false, now())")
    try:
        first.execute(insert, [child, unit, family, d(2)])  # not committed yet
        done = threading.Event()

        def book_other_unit():
            second.execute(insert, [child, other, family, d(2)])  # waits for the first
            done.set()
            second.commit()

        waiter = threading.Thread(target=book_other_unit)
        waiter.start()
        assert not done.wait(0.5), "the second refresh did not wait for the first"
        first.commit()
        waiter.join(10)
        assert done.is_set()
    finally:
        first.close()
        second.close()
    with django_db_blocker.unblock(), commune:
        assert sorted(BilledDays.objects.values_list("unit_id", "days")) == \
            sorted([(unit, bits(2)), (other, bits(2))])
        assert_billed_days_match(MARCH)


def test_changes_under_repeatable_read_are_refused(committed, django_db_blocker):
    commune, family, child, unit, _other = committed
    conn = raw_connection(commune.schema_name)
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="REPEATABLE READ"):
            conn.execute("INSERT INTO portal_reservation (child_id, unit_id, family_id, date, "
                         "status, booked_late, cancelled_late, booked_at) "
                         "VALUES (%s, %s, %s, %s, 'booked', false, false, now())",
                         [child, unit, family, d(2)])
    finally:
        conn.close()
    with django_db_blocker.unblock(), commune:
        assert not Reservation.objects.exists()
