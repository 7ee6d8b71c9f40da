"""Builders for treasury tests (inside a commune's schema): a priced canteen, a family
with a QF, bookings of a month."""

from datetime import date, timedelta

from core.journal import Actor
from portal.models import Attendance, FamilyQuotient, Guardian, Reservation, ReservationStatus
from portal.normalize import normalize_name
from tests.portal.factories import make_child, make_unit
from treasury.facts_sources import billed_days_differences
from treasury.services.tariffs import tariff_set

SYSTEM = Actor.system("tests")
# Standard grid (treasury.defaults): brackets start at 0, 400, 650, 900, 1200, 1600, 2000.
CANTEEN_PRICES = [100, 150, 320, 400, 450, 500, 550]


def make_priced_unit(*, name="Cantine", prices=CANTEEN_PRICES, valid_from=date(2024, 1, 1),
                     **rules):
    unit = make_unit(name=name)
    tariff_set(unit=unit, valid_from=valid_from, resident_cents=prices,
               non_resident_cents=[price + 100 for price in prices], actor=SYSTEM, **rules)
    return unit


def make_household(last_name="Martin", *, quotient=700, children=("Léa",),
                   address="3 rue des Écoles", email=None):
    """A family with a paying guardian, a QF valid since 2024 and its children."""
    first = make_child(children[0], last_name, birth_date=date(2017, 3, 1))
    family = first.families.get()
    family.address_line1, family.postcode, family.city = address, "38360", "Sassenage"
    family.save()
    Guardian.objects.create(family=family, first_name="Camille", last_name=last_name,
                            search_name=normalize_name(last_name, "Camille"), is_payer=True,
                            email=email or f"{normalize_name(last_name)}@famille.test")
    kids = [first] + [make_child(name, last_name, birth_date=date(2019 + index, 6, 1),
                                 family=family)
                      for index, name in enumerate(children[1:])]
    if quotient is not None:
        FamilyQuotient.objects.create(family=family, value=quotient, source="caf",
                                      valid_from=date(2024, 1, 1))
    return family, kids


def book(child, unit, days, *, family=None, **extra):
    family = family or child.families.first()
    return Reservation.objects.bulk_create([
        Reservation(child=child, unit=unit, family=family, date=day,
                    status=extra.get("status", ReservationStatus.BOOKED),
                    booked_late=extra.get("booked_late", False),
                    cancelled_late=extra.get("cancelled_late", False))
        for day in days])


def tap(child, unit, day, *, present=True, without_booking=False):
    return Attendance.objects.create(child=child, unit=unit, date=day, present=present,
                                     without_booking=without_booking)


def weekdays(start: date, count: int) -> list[date]:
    days, day = [], start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def assert_billed_days_match(period: date) -> None:
    """The month's billed days (kept by the triggers) say what its sources say."""
    missing, extra = billed_days_differences(period)
    assert not missing and not extra, (period, missing, extra)
