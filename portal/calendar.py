"""Calendar rules of the portal: public holidays, school holidays, opening days, deadlines.

Pure functions over dates (no database access, except ``unit_opening_days`` without
``closures``, which fetches them with one query). Holiday sets are computed once and
cached per year, zone and school year.

Sources:
- public holidays: the ``holidays`` package (``France``; Alsace-Moselle is its subdivision
  ``"57"``, identical to ``"6AE"``: Good Friday and 26 December are added);
- school holidays: the ``vacances-scolaires-france`` package, which ships the official
  calendar (data.education.gouv.fr) as a CSV file. Its days follow the official notice:
  holidays begin after classes on the "fin des cours" day, which is normally a Saturday and
  counted as the first holiday day (pupils without Saturday classes leave on Friday
  evening); the "reprise des cours" day is a school day. Two known defects of the shipped
  data are corrected in ``_load_zone_periods`` (see there).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

import holidays
from dateutil.easter import easter
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from vacances_scolaires_france import SchoolHolidayDates

if TYPE_CHECKING:
    from portal.models import Closure, Unit

ONE_DAY = dt.timedelta(days=1)
ZONES = ("A", "B", "C")

# Earliest day this module answers school-holiday questions for (school year 2022-2023):
# older rows of the package have known errors (e.g. 1 Sept 2021 missing, 17 May 2021 a
# holiday) that no booking needs.
SCHOOL_CALENDAR_START = date(2022, 9, 1)

# Years whose "pont de l'Ascension" (Thursday to Sunday, all zones; classes end on the
# Wednesday evening and resume on the Monday) is in the official calendars but missing from
# the package's data (checked on vacances-scolaires-france 0.12.0).
_MISSING_ASCENSION_BRIDGES = (2023, 2024, 2025, 2026)
_ASCENSION_BRIDGE = "Pont de l'Ascension"
_SUMMER = "Vacances d'été"


class SchoolCalendarUnavailable(LookupError):
    """The official school calendar of a day is not known (not yet published, or too old)."""


class HolidaySettings(Protocol):
    """What the calendar needs from a commune (``CommuneProfile`` fits)."""

    holiday_zone: str
    alsace_moselle: bool


# --- public holidays -------------------------------------------------------------------


@lru_cache(maxsize=256)
def public_holidays(year: int, *, alsace_moselle: bool = False) -> frozenset[date]:
    """French public holidays (jours fériés) of ``year``; Alsace-Moselle adds Good Friday
    and 26 December (Saint-Étienne)."""
    subdiv = "57" if alsace_moselle else None
    return frozenset(holidays.France(years=year, subdiv=subdiv))


def is_public_holiday(day: date, *, alsace_moselle: bool = False) -> bool:
    """Whether ``day`` is a public holiday."""
    return day in public_holidays(day.year, alsace_moselle=alsace_moselle)


def is_working_day(day: date, *, alsace_moselle: bool = False) -> bool:
    """Monday to Friday and not a public holiday (the unit of booking deadlines)."""
    return day.isoweekday() <= 5 and not is_public_holiday(day, alsace_moselle=alsace_moselle)


# --- school holidays -------------------------------------------------------------------


@lru_cache(maxsize=1)
def _dataset() -> SchoolHolidayDates:
    return SchoolHolidayDates()  # reads the CSV shipped in the package (no network)


def _check_zone(zone: str) -> str:
    if zone not in ZONES:
        raise ValueError(f"Unknown school holiday zone: {zone!r} (expected A, B or C).")
    return zone


def _runs(days: Iterable[tuple[date, str]]) -> list[tuple[date, date, str]]:
    """Group sorted (day, name) pairs into (first, last, name) periods of consecutive days."""
    runs: list[tuple[date, date, str]] = []
    for day, name in days:
        if runs and runs[-1][1] + ONE_DAY == day and runs[-1][2] == name:
            runs[-1] = (runs[-1][0], day, name)
        else:
            runs.append((day, day, name))
    return runs


@lru_cache(maxsize=len(ZONES))
def _load_zone_periods(zone: str) -> tuple[tuple[date, date, str], ...]:
    """The zone's holiday periods (first and last holiday day, inclusive; name), corrected:

    - a period (other than the Ascension bridge) starting on a weekday starts the next day:
      the package takes the "fin des cours" day as the first holiday day, right for a
      Saturday, wrong when classes end on a weekday evening (e.g. Tuesday 4 July 2028);
    - the Ascension bridges listed in ``_MISSING_ASCENSION_BRIDGES`` are added.
    """
    key = _dataset().zone_key(zone)
    days = sorted((day, row["nom_vacances"]) for day, row in _dataset().data.items() if row[key])
    periods = []
    for first, last, name in _runs(days):
        if name != _ASCENSION_BRIDGE and first.isoweekday() <= 5:
            first += ONE_DAY
        if first <= last:
            periods.append((first, last, name))
    for year in _MISSING_ASCENSION_BRIDGES:
        thursday = easter(year) + dt.timedelta(days=39)
        if not any(name == _ASCENSION_BRIDGE and first.year == year
                   for first, _last, name in periods):
            periods.append((thursday, thursday + dt.timedelta(days=3), _ASCENSION_BRIDGE))
    return tuple(sorted(periods))


@lru_cache(maxsize=1)
def school_calendar_coverage() -> tuple[date, date]:
    """First and last day whose school-holiday status is known (for every zone): from
    ``SCHOOL_CALENDAR_START`` to the end of the last published summer holidays."""
    last = min(max(p[1] for p in _load_zone_periods(z) if p[2] == _SUMMER) for z in ZONES)
    return SCHOOL_CALENDAR_START, last


def _check_covered(start: date, end: date) -> None:
    first, last = school_calendar_coverage()
    if start < first or end > last:
        raise SchoolCalendarUnavailable(
            f"The official school calendar is known from {first:%d/%m/%Y} to {last:%d/%m/%Y}"
            f" only (asked: {start:%d/%m/%Y} to {end:%d/%m/%Y}); update the"
            " vacances-scolaires-france package once the next calendar is published.")


def school_year_of(day: date) -> int:
    """The year a school year starts in (1 September to 31 August): 2025 for 2025-2026."""
    return day.year if day.month >= 9 else day.year - 1


@lru_cache(maxsize=64)
def _school_year_days(zone: str, school_year: int) -> frozenset[date]:
    start, end = date(school_year, 9, 1), date(school_year + 1, 8, 31)
    days: set[date] = set()
    for first, last, _name in _load_zone_periods(zone):
        day = max(first, start)
        while day <= min(last, end):
            days.add(day)
            day += ONE_DAY
    return frozenset(days)


def is_school_holiday(day: date, zone: str) -> bool:
    """Whether ``day`` is a school holiday day in ``zone`` (``SchoolCalendarUnavailable`` if
    the calendar of that day is not known). The day classes resume is not a holiday."""
    _check_zone(zone)
    _check_covered(day, day)
    return day in _school_year_days(zone, school_year_of(day))


def school_holidays(zone: str, start: date, end: date) -> list[tuple[date, date]]:
    """School holiday periods of ``zone`` overlapping ``start``–``end`` (inclusive), as
    (first holiday day, last holiday day) pairs, not clipped to the range; classes resume
    on the next school day. Summer holidays and the Ascension bridge included."""
    _check_zone(zone)
    _check_covered(start, end)
    return [(first, last) for first, last, _name in _load_zone_periods(zone)
            if first <= end and last >= start]


# --- opening days ----------------------------------------------------------------------


def _closure_applies(closure: Closure, unit: Unit) -> bool:
    """A closure targets one unit, else every unit of a facility, else everything."""
    if closure.unit_id is not None:
        return closure.unit_id == unit.pk
    if closure.facility_id is not None:
        return closure.facility_id == unit.facility_id
    return True


def _closures_for(unit: Unit, start: date, end: date) -> list[Closure]:
    """The closures of ``unit`` overlapping ``start``–``end``, fetched with one query."""
    from portal.models import Closure

    targets = Q(unit__isnull=True, facility__isnull=True) | Q(
        unit__isnull=True, facility_id=unit.facility_id)
    if unit.pk is not None:
        targets |= Q(unit_id=unit.pk)
    return list(Closure.objects.filter(targets, start_date__lte=end, end_date__gte=start))


def _is_open(unit: Unit, day: date, zone: str, alsace_moselle: bool,
             closures: list[Closure], weekdays: set[int]) -> bool:
    from portal.models.catalogue import OpeningPeriod

    if day.isoweekday() not in weekdays or is_public_holiday(day, alsace_moselle=alsace_moselle):
        return False
    if unit.period == OpeningPeriod.SCHOOL_TERM and is_school_holiday(day, zone):
        return False
    if unit.period == OpeningPeriod.SCHOOL_HOLIDAYS and not is_school_holiday(day, zone):
        return False
    return not any(c.start_date <= day <= c.end_date for c in closures)


def unit_is_open(unit: Unit, day: date, *, profile: HolidaySettings,
                 closures: Iterable[Closure]) -> bool:
    """Whether ``unit`` opens on ``day``: one of its weekdays, within its period (school
    term, school holidays or all year, in the commune's zone), not a public holiday (with
    Alsace-Moselle's if the commune has them), not closed by one of ``closures`` (those not
    targeting the unit, its facility or everything are ignored)."""
    relevant = [c for c in closures if _closure_applies(c, unit)]
    return _is_open(unit, day, _check_zone(profile.holiday_zone), profile.alsace_moselle,
                    relevant, unit.weekday_numbers)


def unit_opening_days(unit: Unit, start: date, end: date, *, profile: HolidaySettings,
                      closures: Iterable[Closure] | None = None) -> list[date]:
    """The days ``unit`` opens from ``start`` to ``end`` inclusive (see ``unit_is_open``).

    ``closures``: the candidate closures; ``None`` fetches them with one query."""
    if start > end:
        return []
    if closures is None:
        closures = _closures_for(unit, start, end)
    relevant = [c for c in closures
                if _closure_applies(c, unit) and c.start_date <= end and c.end_date >= start]
    zone, weekdays = _check_zone(profile.holiday_zone), unit.weekday_numbers
    days, day = [], start
    while day <= end:
        if _is_open(unit, day, zone, profile.alsace_moselle, relevant, weekdays):
            days.append(day)
        day += ONE_DAY
    return days


# --- deadlines -------------------------------------------------------------------------


def _as_time(value: dt.time | str) -> dt.time:
    # An unsaved Unit keeps the field default as given ("10:00").
    return value if isinstance(value, dt.time) else dt.time.fromisoformat(value)


def working_days_before(day: date, count: int, *, alsace_moselle: bool = False) -> date:
    """The date ``count`` working days before ``day`` (``day`` itself for 0)."""
    if count < 0:
        raise ValueError("count must not be negative")
    while count:
        day -= ONE_DAY
        if is_working_day(day, alsace_moselle=alsace_moselle):
            count -= 1
    return day


def _deadline(day: date, count: int, at: dt.time | str, alsace_moselle: bool) -> dt.datetime:
    local = dt.datetime.combine(working_days_before(day, count, alsace_moselle=alsace_moselle),
                                _as_time(at), tzinfo=ZoneInfo(settings.TIME_ZONE))
    # Round trip through UTC: a wall time skipped by the spring DST change moves forward.
    return local.astimezone(dt.UTC).astimezone(local.tzinfo)


def booking_deadline(unit: Unit, day: date, *, alsace_moselle: bool = False) -> dt.datetime:
    """The last moment (aware, commune time) to book ``unit`` on ``day``:
    ``booking_deadline_days`` working days (no weekend, no public holiday) before ``day``,
    at ``booking_deadline_time``. A booking must be made strictly before it."""
    return _deadline(day, unit.booking_deadline_days, unit.booking_deadline_time,
                     alsace_moselle)


def cancel_deadline(unit: Unit, day: date, *, alsace_moselle: bool = False) -> dt.datetime:
    """Like ``booking_deadline``, with the unit's cancelling delay."""
    return _deadline(day, unit.cancel_deadline_days, unit.cancel_deadline_time, alsace_moselle)


def is_before_deadline(deadline: dt.datetime, now: dt.datetime | None = None) -> bool:
    """Whether ``now`` (default: the current time) is strictly before ``deadline``."""
    now = timezone.now() if now is None else now
    if timezone.is_naive(deadline) or timezone.is_naive(now):
        raise ValueError("deadline and now must be aware datetimes")
    return now < deadline


# --- month view ------------------------------------------------------------------------


def month_grid(year: int, month: int) -> list[list[date | None]]:
    """The weeks (Monday first) of a month, for a calendar page; days of the neighbouring
    months are ``None``."""
    first = date(year, month, 1)
    day = first - dt.timedelta(days=first.weekday())
    weeks: list[list[date | None]] = []
    while day.month == month or day < first:
        weeks.append([d if d.month == month else None
                      for d in (day + dt.timedelta(days=i) for i in range(7))])
        day += dt.timedelta(days=7)
    return weeks
