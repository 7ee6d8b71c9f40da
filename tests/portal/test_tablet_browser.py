"""An agent takes attendance on a tablet, in a real browser: log in, open the list of a
unit for today, tap one child present and another absent, record a child who came
without a booking (flagged), with nothing wider than the screen.

Headless Chromium (Debian's ``chromium``, driven by Playwright) on an 820×1180 touch
screen (an iPad Air held upright) talks to a live server thread, on the commune's own
host, about committed data: a commune of its own, created for this test and dropped
afterwards. Every step is a tap on the page; names come from the French catalogue.
"""

from datetime import date
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone

from accounts.roles import Role
from core.models import ActionLog
from portal.models import Attendance, Family, Reservation
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

SLUG = "tablette"
AGENT = "animateur@tablette.test"
TABLET = {"viewport": {"width": 820, "height": 1180}, "device_scale_factor": 2,
          "is_mobile": True, "has_touch": True, "locale": "fr-FR",
          "timezone_id": "Europe/Paris"}


@pytest.fixture
def tablet_site(request, django_db_blocker, monkeypatch):
    """A committed commune: a school-life agent (who takes attendance), a canteen, Léa and
    Tom booked today, Noé not booked; served by a live server, and a tablet's page."""
    skip_without_browser()
    require_test_database(request)
    with throwaway_commune(django_db_blocker, SLUG) as commune:
        agent = make_user(commune, AGENT, role=Role.SCHOOL_LIFE)
        today = timezone.localdate()
        with commune:
            family = Family.objects.create(reference="REF-Martin", name="Martin",
                                           search_name=normalize_name("Martin"))
            unit = make_unit(name="Cantine", capacity=50, weekdays="1,2,3,4,5,6,7")
            lea = make_child("Léa", "Martin", family=family)
            tom = make_child("Tom", "Durand", birth_date=date(2017, 9, 12))
            noe = make_child("Noé", "Girard", birth_date=date(2016, 2, 1))
            for child in (lea, tom):
                Reservation.objects.create(child=child, unit=unit, date=today,
                                           family=child.families.get())
        connection.set_schema_to_public()
        with live_server() as server, phone_browser(monkeypatch, screen=TABLET) as page:
            yield SimpleNamespace(
                commune=commune, agent=agent, unit=unit, today=today, page=page,
                lea=lea, tom=tom, noe=noe,
                url=f"http://{commune.domains.get().domain}:{server.port}")


def field(label: str) -> str:
    """The label of a form field as shown: Django adds the (French) label suffix."""
    return french(label) + french(":")


def tap(page, target):
    """Tap ``target`` with a finger and wait for the page it leads to."""
    with page.expect_navigation():
        target.tap()


def card(page, child):
    return page.locator(f"li.tap-card#enfant-{child.pk}")


def test_an_agent_takes_attendance_on_a_tablet(tablet_site):
    site, page = tablet_site, tablet_site.page
    overflow = {}  # page -> CSS pixels wider than the screen

    # Log in on the commune's own site: the agent lands on their dashboard.
    page.goto(site.url + "/")
    page.get_by_label(field("E-mail address"), exact=True).fill(AGENT)
    page.get_by_label(field("Password"), exact=True).fill(PASSWORD)
    tap(page, page.get_by_role("button", name=french("Log in"), exact=True))
    assert page.url == site.url + "/agents/tableau-de-bord/"
    overflow["dashboard"] = horizontal_overflow(page)

    # From the menu to today's list of the canteen.
    menu = page.get_by_role("navigation", name=french("Main menu"))
    tap(page, menu.get_by_role("link", name=french("Attendance"), exact=True))
    overflow["attendance form"] = horizontal_overflow(page)
    page.get_by_label(field("Unit"), exact=True).select_option(str(site.unit.pk))
    page.get_by_label(field("Day"), exact=True).fill(site.today.isoformat())
    tap(page, page.get_by_role("button", name=french("Show the list"), exact=True))
    for child in (site.lea, site.tom):
        assert card(page, child).get_attribute("data-state") == "unknown"
    overflow["list"] = horizontal_overflow(page)

    # Léa is there: one tap on her name.
    tap(page, page.get_by_role("button", name=french("Mark %(child)s present")
                               % {"child": "Léa Martin"}, exact=True))
    assert card(page, site.lea).get_attribute("data-state") == "present"
    assert card(page, site.tom).get_attribute("data-state") == "unknown"

    # Tom is not: the "absent" button of his card.
    tap(page, card(page, site.tom).get_by_role("button", name=french("Absent"), exact=True))
    assert card(page, site.tom).get_attribute("data-state") == "absent"
    assert card(page, site.lea).get_attribute("data-state") == "present"
    overflow["list after taps"] = horizontal_overflow(page)

    # Noé came without a booking: found by name, recorded present, flagged.
    search = page.get_by_role("search")
    search.get_by_label(field("Child present without booking: name"),
                        exact=True).fill("noe")
    tap(page, search.get_by_role("button", name=french("Search"), exact=True))
    candidate = page.locator(f'li[data-candidate="{site.noe.pk}"]')
    assert candidate.count() == 1
    overflow["search results"] = horizontal_overflow(page)
    tap(page, candidate.get_by_role("button"))
    warning = french("%(child)s recorded present without a booking.") % {"child": "Noé Girard"}
    assert page.get_by_role("status").inner_text().strip() == warning
    walk_in = card(page, site.noe)
    assert walk_in.get_attribute("data-state") == "present"
    assert walk_in.locator('[data-flag="walk-in"]').count() == 1
    assert card(page, site.lea).locator('[data-flag="walk-in"]').count() == 0
    overflow["list with a walk-in"] = horizontal_overflow(page)

    # Nothing on any page is wider than the tablet's screen.
    assert overflow == dict.fromkeys(overflow, 0)

    # The database agrees, each tap journaled as the agent's.
    with site.commune:
        rows = {row.child_id: row for row in Attendance.objects.all()}
        journal = list(ActionLog.objects.filter(action="attendance.recorded"))
    assert {child_id: (row.present, row.without_booking) for child_id, row in rows.items()} == {
        site.lea.pk: (True, False), site.tom.pk: (False, False), site.noe.pk: (True, True)}
    assert all(row.unit_id == site.unit.pk and row.date == site.today
               and row.recorded_by_id == site.agent.pk for row in rows.values())
    assert len(journal) == 3
    assert {(entry.actor_id, entry.actor_kind) for entry in journal} == {(site.agent.pk,
                                                                         "agent")}
