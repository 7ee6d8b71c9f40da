"""A parent on a phone, in a real browser: log in, book a week, cancel a day, read the
journal entry.

Headless Chromium (Debian's ``chromium``, driven by Playwright) on a 390×844 touch screen
talks to a live server thread, on the commune's own host, about committed data: a commune
of its own, created for this test and dropped afterwards. Nothing is posted behind the
user's back: every step is a tap on the page. Time is not frozen (the browser would not
follow): the booked week is computed from today with the calendar rules, at least a week
ahead, so that its booking and cancelling deadlines are days away. The unit opens all year,
so school holidays (known from 2022-09 to 2028-08 only) play no part.

Elements are found as a user finds them (roles, labels, dates), their names taken from the
French catalogue at run time (``french``), so that rewording a translation breaks nothing.
"""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone
from django.utils.dates import WEEKDAYS

from core.models import ActionLog
from portal import calendar
from portal.models import CommuneProfile, Family, Guardian, Reservation, ReservationStatus
from portal.normalize import normalize_name
from tests.browser import (
    french,
    horizontal_overflow,
    live_server,
    phone_browser,
    require_test_database,
    skip_without_browser,
)
from tests.committed import throwaway_commune
from tests.conftest import PASSWORD, make_user
from tests.portal.factories import make_child, make_unit

SLUG = "telephone"
EMAIL = "parent@telephone.test"


def bookable_week(unit, profile) -> list[date]:
    """Monday to Friday of the first week, at least a week from today and within one month
    (one calendar page), on which ``unit`` opens every day and whose booking and cancelling
    deadlines are more than a day away."""
    now = timezone.now()
    start = timezone.localdate(now) + timedelta(days=8)
    monday = start + timedelta(days=(7 - start.weekday()) % 7)
    for _attempt in range(26):
        week = [monday + timedelta(days=number) for number in range(5)]
        deadlines = [deadline(unit, day, alsace_moselle=profile.alsace_moselle)
                     for day in week
                     for deadline in (calendar.booking_deadline, calendar.cancel_deadline)]
        if (week[-1].month == monday.month and min(deadlines) > now + timedelta(days=1)
                and calendar.unit_opening_days(unit, week[0], week[-1], profile=profile,
                                               closures=[]) == week):
            return week
        monday += timedelta(days=7)
    raise AssertionError("no bookable week in the next six months")


@pytest.fixture
def phone_site(request, django_db_blocker, monkeypatch):
    """A committed commune (a parent, their household, Léa, a canteen open all year), served
    by a live server, and a phone's browser page."""
    skip_without_browser()
    require_test_database(request)
    with throwaway_commune(django_db_blocker, SLUG) as commune:
        parent = make_user(commune, EMAIL)
        with commune:
            family = Family.objects.create(reference="REF-Martin", name="Martin",
                                           search_name=normalize_name("Martin"))
            Guardian.objects.create(family=family, first_name="Camille", last_name="Martin",
                                    search_name=normalize_name("Martin", "Camille"),
                                    user=parent)
            child = make_child("Léa", "Martin", family=family)
            unit = make_unit(name="Cantine", weekdays="1,2,3,4,5", period="all_year")
            week = bookable_week(unit, CommuneProfile.get())
        connection.set_schema_to_public()
        with live_server() as server, phone_browser(monkeypatch) as page:
            yield SimpleNamespace(
                commune=commune, parent=parent, family=family, child=child, unit=unit,
                week=week, page=page,
                url=f"http://{commune.domains.get().domain}:{server.port}")


def field(label: str) -> str:
    """The label of a form field as shown: Django adds the (French) label suffix."""
    return french(label) + french(":")


def tap(page, target):
    """Tap ``target`` with a finger and wait for the page it leads to."""
    with page.expect_navigation():
        target.tap()


def day_cell(page, day: date):
    return page.locator("li.day").filter(has=page.locator(f'time[datetime="{day:%Y-%m-%d}"]'))


def show_month_of(page, day: date):
    """Tap "next month" until the calendar shows ``day`` (the week is ahead of today)."""
    for _month in range(3):
        if day_cell(page, day).count():
            return
        tap(page, page.locator(".month-nav a[rel=next]"))
    assert day_cell(page, day).count(), f"{day} not reached in the calendar"


def test_a_parent_books_a_week_then_cancels_a_day_on_a_phone(phone_site):
    site, page = phone_site, phone_site.page
    week, cancelled = site.week, site.week[2]  # the Wednesday is cancelled
    kept = [day for day in week if day != cancelled]
    overflow = {}  # page -> CSS pixels wider than the screen

    # Log in on the commune's own site.
    page.goto(site.url + "/")
    assert page.url.startswith(site.url + "/connexion/")
    page.get_by_label(field("E-mail address"), exact=True).fill(EMAIL)
    page.get_by_label(field("Password"), exact=True).fill(PASSWORD)
    tap(page, page.get_by_role("button", name=french("Log in"), exact=True))
    assert page.url == site.url + "/famille/"
    overflow["home"] = horizontal_overflow(page)

    # From the child's card to her calendar, then to the period form.
    tap(page, page.get_by_role("link", name=french("Bookings calendar"), exact=True))
    assert page.url.startswith(f"{site.url}/famille/enfants/{site.child.pk}/calendrier/")
    tap(page, page.get_by_role("link", name=french("Book several weeks at once")))
    form = page.locator("form.pattern-form")
    for number in range(5):  # Monday to Friday
        form.get_by_role("checkbox", name=french(WEEKDAYS[number]), exact=True).tap()
    form.get_by_label(field("From"), exact=True).fill(week[0].isoformat())
    form.get_by_label(field("To (inclusive)"), exact=True).fill(week[-1].isoformat())
    overflow["period form"] = horizontal_overflow(page)
    tap(page, form.get_by_role("button", name=french("Book these days"), exact=True))
    booked_days = page.locator(".result-booked time").evaluate_all(
        "times => times.map(time => time.getAttribute('datetime'))")
    assert booked_days == [day.isoformat() for day in week]
    assert page.locator(".result-refused, .result-waiting").count() == 0

    # The calendar shows the five days booked.
    tap(page, page.locator("nav.child-nav").get_by_role("link", name=french("Calendar"),
                                                        exact=True))
    show_month_of(page, week[0])
    for day in week:
        assert "day-booked" in day_cell(page, day).get_attribute("class").split(), day
    overflow["calendar"] = horizontal_overflow(page)

    # Cancel the Wednesday: a confirmation, the day free again, the others still booked.
    tap(page, day_cell(page, cancelled).get_by_role("button", name=french("Cancel")))
    expected_message = french("The booking of %(child)s for %(unit)s on %(day)s is cancelled.") % {
        "child": "Léa", "unit": "Cantine", "day": f"{cancelled:%d/%m/%Y}"}
    assert page.get_by_role("status").inner_text().strip() == expected_message
    assert "day-free" in day_cell(page, cancelled).get_attribute("class").split()
    assert day_cell(page, cancelled).get_by_role("button",
                                                 name=french("Book")).count() == 1
    for day in kept:
        assert "day-booked" in day_cell(page, day).get_attribute("class").split(), day
    overflow["calendar after cancelling"] = horizontal_overflow(page)

    # The household's history: the cancellation first, made by the parent.
    menu = page.get_by_role("navigation", name=french("Main menu"))
    tap(page, menu.get_by_role("link", name=french("History"), exact=True))
    entries = page.locator("li.history-entry")
    assert entries.count() == 6  # five bookings, one cancellation
    assert entries.evaluate_all("items => items.map(item => item.dataset.actor)") == ["you"] * 6
    cancellation = french("Booking of %(child)s for %(unit)s on %(day)s cancelled") % {
        "child": "Léa Martin", "unit": "Cantine", "day": f"{cancelled:%d/%m/%Y}"}
    assert cancellation in entries.first.inner_text()
    overflow["history"] = horizontal_overflow(page)

    # Nothing on any page is wider than the phone's screen.
    assert overflow == dict.fromkeys(overflow, 0)

    # The database agrees: four days booked, one cancelled, each step journaled as the parent's.
    with site.commune:
        reservations = list(Reservation.objects.filter(child=site.child).order_by("date"))
        journal = list(ActionLog.objects.filter(action__startswith="reservation.")
                       .order_by("at", "id"))
    assert [(r.date, r.status) for r in reservations] == [
        (day, ReservationStatus.CANCELLED if day == cancelled else ReservationStatus.BOOKED)
        for day in week]
    assert all(r.unit_id == site.unit.pk and r.family_id == site.family.pk
               and r.booked_by_id == site.parent.pk and not r.booked_late
               and not r.cancelled_late for r in reservations)
    assert [(e.action, e.changes["date"]) for e in journal] == [
        *(("reservation.booked", day.isoformat()) for day in week),
        ("reservation.cancelled", cancelled.isoformat())]
    assert {(e.actor_id, e.actor_kind) for e in journal} == {(site.parent.pk, "parent")}
    cancelled_reservation = next(r for r in reservations if r.date == cancelled)
    assert journal[-1].target_id == str(cancelled_reservation.pk)
