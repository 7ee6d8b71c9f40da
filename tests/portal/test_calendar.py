"""Calendar rules: public and school holidays, opening days, deadlines, month grid.

Expected school holiday dates come from the official calendars (education.gouv.fr):
"fin des cours" is the evening the holidays start (a Saturday counts as the first holiday
day), "reprise des cours" is a school day."""

import datetime as dt
import socket
from datetime import date, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal import calendar as cal
from portal.models import Closure, CommuneProfile, Facility, Service, Unit

UTC = dt.UTC
ZONE_A = CommuneProfile(holiday_zone="A", alsace_moselle=False)
ZONE_A_ALSACE = CommuneProfile(holiday_zone="A", alsace_moselle=True)
ZONE_C = CommuneProfile(holiday_zone="C", alsace_moselle=False)


def unit(**fields):
    """An unsaved unit (no database): id 1, facility 10, by default the Monday, Tuesday,
    Thursday, Friday canteen of term time with a two-working-day deadline at 10:00."""
    values = {"id": 1, "facility_id": 10, "service_id": 20, "name": "Déjeuner",
              "start_time": time(11, 30), "end_time": time(13, 30), "capacity": 100}
    values.update(fields)
    return Unit(**values)


def days(first, last):
    out, day = [], first
    while day <= last:
        out.append(day)
        day += dt.timedelta(days=1)
    return out


# --- public holidays -------------------------------------------------------------------


def test_public_holidays_2026():
    assert cal.public_holidays(2026) == {
        date(2026, 1, 1), date(2026, 4, 6), date(2026, 5, 1), date(2026, 5, 8),
        date(2026, 5, 14), date(2026, 5, 25), date(2026, 7, 14), date(2026, 8, 15),
        date(2026, 11, 1), date(2026, 11, 11), date(2026, 12, 25),
    }


@pytest.mark.parametrize(("year", "good_friday"), [(2025, date(2025, 4, 18)),
                                                   (2026, date(2026, 4, 3)),
                                                   (2027, date(2027, 3, 26))])
def test_alsace_moselle_adds_good_friday_and_saint_stephen(year, good_friday):
    extra = cal.public_holidays(year, alsace_moselle=True) - cal.public_holidays(year)
    assert extra == {good_friday, date(year, 12, 26)}
    assert cal.is_public_holiday(good_friday, alsace_moselle=True)
    assert not cal.is_public_holiday(good_friday)


def test_public_holidays_are_cached_and_immutable():
    assert cal.public_holidays(2026) is cal.public_holidays(2026)
    assert isinstance(cal.public_holidays(2026), frozenset)


def test_working_days():
    assert cal.is_working_day(date(2026, 12, 24))          # Thursday
    assert not cal.is_working_day(date(2026, 12, 25))      # Christmas
    assert not cal.is_working_day(date(2026, 12, 26))      # Saturday
    assert not cal.is_working_day(date(2025, 12, 26), alsace_moselle=True)  # a Friday
    assert cal.is_working_day(date(2025, 12, 26))


# --- school holidays -------------------------------------------------------------------


def test_toussaint_2025_zone_a():
    assert (date(2025, 10, 18), date(2025, 11, 2)) in cal.school_holidays(
        "A", date(2025, 10, 1), date(2025, 11, 30))
    assert not cal.is_school_holiday(date(2025, 10, 17), "A")  # Friday: last class day
    assert cal.is_school_holiday(date(2025, 10, 18), "A")      # fin des cours: Saturday
    assert cal.is_school_holiday(date(2025, 11, 2), "A")
    assert not cal.is_school_holiday(date(2025, 11, 3), "A")   # reprise des cours: Monday


@pytest.mark.parametrize("zone", ["A", "B", "C"])
def test_christmas_2025_in_every_zone(zone):
    assert cal.school_holidays(zone, date(2025, 12, 24), date(2025, 12, 24)) == [
        (date(2025, 12, 20), date(2026, 1, 4))]
    assert not cal.is_school_holiday(date(2025, 12, 19), zone)
    assert not cal.is_school_holiday(date(2026, 1, 5), zone)


@pytest.mark.parametrize(("zone", "first", "last"), [
    ("A", date(2026, 2, 7), date(2026, 2, 22)),
    ("B", date(2026, 2, 14), date(2026, 3, 1)),
    ("C", date(2026, 2, 21), date(2026, 3, 8)),
])
def test_winter_2026_depends_on_the_zone(zone, first, last):
    assert cal.school_holidays(zone, date(2026, 2, 1), date(2026, 3, 15)) == [(first, last)]
    assert not cal.is_school_holiday(first - dt.timedelta(days=1), zone)
    assert not cal.is_school_holiday(last + dt.timedelta(days=1), zone)


def test_summer_2026_and_the_tuesday_rentree():
    periods = cal.school_holidays("B", date(2026, 7, 1), date(2026, 9, 30))
    assert periods == [(date(2026, 7, 4), date(2026, 8, 31))]
    assert not cal.is_school_holiday(date(2026, 7, 3), "B")
    assert all(cal.is_school_holiday(day, "B")
               for day in days(date(2026, 7, 4), date(2026, 8, 31)))
    assert not cal.is_school_holiday(date(2026, 9, 1), "B")  # rentrée: Tuesday 1 September


@pytest.mark.parametrize(("wednesday", "friday", "monday"), [
    (date(2023, 5, 17), date(2023, 5, 19), date(2023, 5, 22)),
    (date(2024, 5, 8), date(2024, 5, 10), date(2024, 5, 13)),
    (date(2025, 5, 28), date(2025, 5, 30), date(2025, 6, 2)),
    (date(2026, 5, 13), date(2026, 5, 15), date(2026, 5, 18)),  # missing from the package
    (date(2027, 5, 5), date(2027, 5, 7), date(2027, 5, 10)),    # in the package
])
@pytest.mark.parametrize("zone", ["A", "B", "C"])
def test_ascension_bridge(zone, wednesday, friday, monday):
    assert cal.is_school_holiday(friday, zone)
    assert cal.is_school_holiday(friday - dt.timedelta(days=1), zone)  # Ascension Thursday
    if wednesday.month != 5 or wednesday.day != 8:  # 8 May 2024 is a public holiday anyway
        assert not cal.is_school_holiday(wednesday, zone)
    assert not cal.is_school_holiday(monday, zone)


def test_weekday_fin_des_cours_is_a_school_day():
    # 2027-2028: classes end on Tuesday 4 July 2028 in the evening; the package counts
    # that Tuesday as a holiday.
    assert not cal.is_school_holiday(date(2028, 7, 4), "A")
    assert cal.is_school_holiday(date(2028, 7, 5), "A")


def test_school_year_2026_2027_is_known():
    assert cal.school_holidays("A", date(2026, 9, 1), date(2027, 8, 31)) == [
        (date(2026, 10, 17), date(2026, 11, 1)),
        (date(2026, 12, 19), date(2027, 1, 3)),
        (date(2027, 2, 13), date(2027, 2, 28)),
        (date(2027, 4, 10), date(2027, 4, 25)),
        (date(2027, 5, 6), date(2027, 5, 8)),
        (date(2027, 7, 3), date(2027, 8, 31)),
    ]


def test_periods_overlapping_the_range_are_not_clipped():
    assert cal.school_holidays("A", date(2026, 1, 1), date(2026, 1, 1)) == [
        (date(2025, 12, 20), date(2026, 1, 4))]
    assert cal.school_holidays("A", date(2026, 1, 5), date(2026, 2, 6)) == []


def test_unknown_school_years_raise():
    first, last = cal.school_calendar_coverage()
    assert (first, last) == (date(2022, 9, 1), date(2028, 8, 31))
    with pytest.raises(cal.SchoolCalendarUnavailable, match="known from 01/09/2022"):
        cal.is_school_holiday(date(2028, 9, 1), "A")
    with pytest.raises(cal.SchoolCalendarUnavailable):
        cal.is_school_holiday(date(2022, 8, 31), "A")
    with pytest.raises(cal.SchoolCalendarUnavailable):
        cal.school_holidays("A", date(2028, 6, 1), date(2028, 12, 31))
    with pytest.raises(ValueError, match="zone"):
        cal.is_school_holiday(date(2026, 1, 5), "D")


def test_school_calendar_loads_without_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("network access")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    for cached in (cal._dataset, cal._load_zone_periods, cal._school_year_days,
                   cal.school_calendar_coverage):
        cached.cache_clear()
    assert cal.is_school_holiday(date(2025, 10, 20), "C")


# --- opening days ----------------------------------------------------------------------


def test_term_unit_skips_holidays_weekdays_and_the_ascension_bridge():
    canteen = unit(weekdays="1,2,4,5", period="school_term")
    # Week of Ascension 2026: Wednesday not a weekday of the unit, Thursday public holiday,
    # Friday the bridge.
    assert cal.unit_opening_days(canteen, date(2026, 5, 11), date(2026, 5, 17),
                                 profile=ZONE_A, closures=[]) == [date(2026, 5, 11),
                                                                  date(2026, 5, 12)]
    # Toussaint 2025: open the Friday before and the Monday classes resume.
    opened = cal.unit_opening_days(canteen, date(2025, 10, 13), date(2025, 11, 9),
                                   profile=ZONE_A, closures=[])
    assert opened == [date(2025, 10, 13), date(2025, 10, 14), date(2025, 10, 16),
                      date(2025, 10, 17), date(2025, 11, 3), date(2025, 11, 4),
                      date(2025, 11, 6), date(2025, 11, 7)]


def test_holiday_unit_opens_only_in_the_zones_holidays():
    leisure = unit(weekdays="1,2,3,4,5", period="school_holidays")
    opened = cal.unit_opening_days(leisure, date(2025, 10, 13), date(2025, 11, 14),
                                   profile=ZONE_A, closures=[])
    assert opened == days(date(2025, 10, 20), date(2025, 10, 24)) + days(
        date(2025, 10, 27), date(2025, 10, 31))  # 1 November is a Saturday; 11 Nov in term
    # Winter 2026: zone A from 7 February, zone C from 21 February.
    assert cal.unit_is_open(leisure, date(2026, 2, 9), profile=ZONE_A, closures=[])
    assert not cal.unit_is_open(leisure, date(2026, 2, 9), profile=ZONE_C, closures=[])
    assert cal.unit_is_open(leisure, date(2026, 3, 2), profile=ZONE_C, closures=[])


def test_all_year_unit_and_alsace_moselle():
    nursery = unit(weekdays="1,2,3,4,5", period="all_year")
    week = (date(2025, 12, 22), date(2025, 12, 28))
    assert cal.unit_opening_days(nursery, *week, profile=ZONE_A, closures=[]) == [
        date(2025, 12, 22), date(2025, 12, 23), date(2025, 12, 24), date(2025, 12, 26)]
    assert cal.unit_opening_days(nursery, *week, profile=ZONE_A_ALSACE, closures=[]) == [
        date(2025, 12, 22), date(2025, 12, 23), date(2025, 12, 24)]
    # No school calendar needed: an all-year unit works beyond the published calendars.
    assert cal.unit_is_open(nursery, date(2031, 6, 3), profile=ZONE_A, closures=[])


def test_school_units_refuse_unknown_years():
    canteen = unit(period="school_term")
    with pytest.raises(cal.SchoolCalendarUnavailable):
        cal.unit_is_open(canteen, date(2028, 9, 4), profile=ZONE_A, closures=[])
    with pytest.raises(cal.SchoolCalendarUnavailable):
        cal.unit_opening_days(canteen, date(2028, 8, 28), date(2028, 9, 8), profile=ZONE_A,
                              closures=[])


def test_closures_for_the_unit_its_facility_or_everything():
    canteen = unit(weekdays="1,2,4,5", period="school_term")  # unit 1 of facility 10
    closures = [
        Closure(unit_id=1, start_date=date(2026, 3, 9), end_date=date(2026, 3, 9),
                reason="grève"),
        Closure(facility_id=10, start_date=date(2026, 3, 12), end_date=date(2026, 3, 13),
                reason="travaux"),
        Closure(start_date=date(2026, 3, 17), end_date=date(2026, 3, 17), reason="élections"),
        Closure(unit_id=2, facility_id=10, start_date=date(2026, 3, 10),
                end_date=date(2026, 3, 10), reason="autre unité"),
        Closure(facility_id=11, start_date=date(2026, 3, 16), end_date=date(2026, 3, 16),
                reason="autre site"),
    ]
    opened = cal.unit_opening_days(canteen, date(2026, 3, 9), date(2026, 3, 20),
                                   profile=ZONE_A, closures=closures)
    assert opened == [date(2026, 3, 10), date(2026, 3, 16), date(2026, 3, 19),
                      date(2026, 3, 20)]
    assert not cal.unit_is_open(canteen, date(2026, 3, 13), profile=ZONE_A, closures=closures)
    assert cal.unit_is_open(canteen, date(2026, 3, 16), profile=ZONE_A, closures=closures)


def test_opening_days_of_a_school_year_need_no_query():
    # No database fixture: any query would fail the test.
    canteen = unit(weekdays="1,2,4,5", period="school_term")
    opened = cal.unit_opening_days(canteen, date(2025, 9, 1), date(2026, 7, 3),
                                   profile=ZONE_A, closures=[])
    assert opened[0] == date(2025, 9, 1) and opened[-1] == date(2026, 7, 3)
    # 36 term weeks x 4 days, less 11 November, 1 May, 8 May, Whit Monday, Ascension
    # Thursday and the bridge Friday.
    assert len(opened) == 36 * 4 - 6
    assert cal.unit_opening_days(canteen, date(2026, 1, 2), date(2026, 1, 1),
                                 profile=ZONE_A, closures=[]) == []


def test_opening_days_fetch_closures_in_one_query(commune_a):
    with commune_a:
        facility = Facility.objects.create(name="Groupe scolaire Jules-Ferry",
                                           kind="school_group")
        other = Facility.objects.create(name="Groupe scolaire Pasteur", kind="school_group")
        service = Service.objects.create(name="Restauration", kind="canteen")
        canteen = Unit.objects.create(service=service, facility=facility, name="Déjeuner",
                                      start_time=time(11, 30), end_time=time(13, 30),
                                      capacity=80)
        Closure.objects.create(unit=canteen, start_date=date(2026, 3, 9),
                               end_date=date(2026, 3, 9), reason="grève")
        Closure.objects.create(facility=facility, start_date=date(2026, 3, 12),
                               end_date=date(2026, 3, 12), reason="travaux")
        Closure.objects.create(start_date=date(2026, 3, 17), end_date=date(2026, 3, 17),
                               reason="élections")
        Closure.objects.create(facility=other, start_date=date(2026, 3, 10),
                               end_date=date(2026, 3, 10), reason="autre site")
        Closure.objects.create(start_date=date(2026, 4, 1), end_date=date(2026, 4, 1),
                               reason="hors période")
        profile = CommuneProfile.get()
        with CaptureQueriesContext(connection) as queries:
            opened = cal.unit_opening_days(canteen, date(2026, 3, 9), date(2026, 3, 20),
                                           profile=profile)
    # django-tenants may add a "SET search_path" of its own.
    selects = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SET ")]
    assert len(selects) == 1
    assert opened == [date(2026, 3, 10), date(2026, 3, 13), date(2026, 3, 16),
                      date(2026, 3, 19), date(2026, 3, 20)]


# --- deadlines -------------------------------------------------------------------------


def paris(day, hour, minute=0):
    deadline = dt.datetime.combine(day, time(hour, minute))
    return deadline.replace(tzinfo=ZoneInfo("Europe/Paris"))


@pytest.mark.parametrize(("day", "expected"), [
    (date(2026, 12, 10), date(2026, 12, 8)),   # Thursday -> Tuesday
    (date(2026, 12, 14), date(2026, 12, 10)),  # Monday -> the Thursday before
    (date(2026, 12, 13), date(2026, 12, 10)),  # Sunday -> Thursday
    (date(2026, 4, 7), date(2026, 4, 2)),      # Tuesday after Easter Monday -> Thursday
    (date(2027, 1, 4), date(2026, 12, 30)),    # 1 January skipped
    (date(2026, 5, 15), date(2026, 5, 12)),    # Friday after Ascension -> Tuesday
])
def test_booking_deadline_counts_working_days(day, expected):
    deadline = cal.booking_deadline(unit(), day)  # field defaults: 2 days, "10:00"
    assert deadline == paris(expected, 10)
    assert str(deadline.tzinfo) == "Europe/Paris"


def test_alsace_moselle_good_friday_is_not_a_working_day():
    canteen = unit(booking_deadline_days=2, booking_deadline_time=time(10))
    assert cal.booking_deadline(canteen, date(2026, 4, 7), alsace_moselle=True) == paris(
        date(2026, 4, 1), 10)


def test_zero_days_is_the_day_itself():
    canteen = unit(booking_deadline_days=0, booking_deadline_time=time(8, 15))
    assert cal.booking_deadline(canteen, date(2026, 12, 25)) == paris(date(2026, 12, 25), 8, 15)


def test_cancel_deadline_uses_the_cancel_fields():
    canteen = unit(booking_deadline_days=2, booking_deadline_time=time(10),
                   cancel_deadline_days=1, cancel_deadline_time=time(18))
    assert cal.cancel_deadline(canteen, date(2026, 12, 14)) == paris(date(2026, 12, 11), 18)
    assert cal.booking_deadline(canteen, date(2026, 12, 14)) == paris(date(2026, 12, 10), 10)


@pytest.mark.parametrize(("day", "utc_hour"), [
    (date(2026, 3, 31), 9),   # deadline Friday 27 March 10:00 CET
    (date(2026, 4, 1), 8),    # deadline Monday 30 March 10:00 CEST (after 29 March)
    (date(2026, 10, 27), 8),  # deadline Friday 23 October 10:00 CEST
    (date(2026, 10, 28), 9),  # deadline Monday 26 October 10:00 CET (after 25 October)
])
def test_deadlines_around_dst_changes_are_paris_time(day, utc_hour):
    deadline = cal.booking_deadline(unit(), day)
    assert deadline.astimezone(UTC).hour == utc_hour
    assert (deadline.hour, deadline.minute) == (10, 0)


def test_deadline_in_the_skipped_spring_hour_moves_forward():
    early = unit(booking_deadline_days=0, booking_deadline_time=time(2, 30), weekdays="7")
    deadline = cal.booking_deadline(early, date(2026, 3, 29))
    assert deadline.astimezone(UTC) == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert (deadline.hour, deadline.minute) == (3, 30)


def test_is_before_deadline_with_an_explicit_now():
    deadline = cal.booking_deadline(unit(), date(2026, 4, 1))  # Monday 30 March 10:00 CEST
    assert cal.is_before_deadline(deadline, dt.datetime(2026, 3, 30, 7, 59, 59, tzinfo=UTC))
    assert not cal.is_before_deadline(deadline, dt.datetime(2026, 3, 30, 8, tzinfo=UTC))
    assert cal.is_before_deadline(deadline, paris(date(2026, 3, 30), 9, 59))
    with pytest.raises(ValueError):
        cal.is_before_deadline(deadline, dt.datetime(2026, 3, 30, 7))


@pytest.mark.parametrize(("moment", "expected"), [
    ("2026-10-26T08:59:59Z", True),   # 09:59:59 CET, the day after the October change
    ("2026-10-26T09:00:00Z", False),  # 10:00 CET
])
def test_is_before_deadline_uses_the_current_time(moment, expected):
    deadline = cal.booking_deadline(unit(), date(2026, 10, 28))
    with time_machine.travel(moment, tick=False):
        assert cal.is_before_deadline(deadline) is expected


# --- month grid ------------------------------------------------------------------------


def test_month_grid_starts_on_monday():
    grid = cal.month_grid(2026, 2)  # 1 February 2026 is a Sunday
    assert grid[0] == [None] * 6 + [date(2026, 2, 1)]
    assert grid[-1] == [date(2026, 2, 23 + i) for i in range(6)] + [None]
    assert len(grid) == 5


@pytest.mark.parametrize(("year", "month", "weeks"), [(2021, 2, 4), (2026, 6, 5),
                                                      (2025, 12, 5), (2026, 3, 6)])
def test_month_grid_holds_every_day_once(year, month, weeks):
    grid = cal.month_grid(year, month)
    assert len(grid) == weeks and all(len(week) == 7 for week in grid)
    flat = [day for week in grid for day in week if day]
    assert flat[0] == date(year, month, 1) and all(d.month == month for d in flat)
    assert [b - a for a, b in zip(flat, flat[1:], strict=False)] == [dt.timedelta(days=1)] * (
        len(flat) - 1)
    assert all(day is None or day.weekday() == i for week in grid for i, day in enumerate(week))
