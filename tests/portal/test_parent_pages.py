"""Parent pages: household, month calendar, period booking, absences, history.

Assertions bear on data (names, dates, markup classes, database rows, journal entries),
not on translated wording. Time is frozen on 1 March 2027 (09:00, Paris), before the
deadlines of the booked days; units open all year so that school holidays play no part.
"""

from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import constants as message_levels
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import StoredFile
from accounts.roles import Role
from core.journal import Actor, journal_record
from core.models import ActionLog
from portal.models import (
    Absence,
    Family,
    Guardian,
    LatePolicy,
    Membership,
    Reservation,
    ReservationStatus,
    WaitingListEntry,
    WaitingStatus,
)
from portal.normalize import normalize_name
from portal.services.bookings import reservation_book
from tests.conftest import login
from tests.portal.factories import make_child, make_unit

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=PARIS)
DAY = date(2027, 3, 16)  # a Tuesday; booking and cancelling deadline: Friday 12 March, 10:00
AFTER_DEADLINE = datetime(2027, 3, 12, 10, 30, tzinfo=PARIS)
PDF = b"%PDF-1.4\n% certificat medical\n"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def make_family(name, *, user=None, guardian_first_name="Camille", **fields):
    family = Family.objects.create(reference=f"REF-{name}", name=name,
                                   search_name=normalize_name(name), **fields)
    Guardian.objects.create(family=family, first_name=guardian_first_name, last_name=name,
                            search_name=normalize_name(name, guardian_first_name), user=user)
    return family


@pytest.fixture
def household(commune_a, parent_a):
    """parent_a is a guardian of the Martin household: Léa, and the canteen to book."""
    with commune_a:
        family = make_family("Martin", user=parent_a, address_line1="3 rue des Alpes",
                             postcode="38000", city="Grenoble", phone="0476000000",
                             email="martin@exemple.fr")
        child = make_child("Léa", "Martin", family=family)
        unit = make_unit(name="Cantine")
    return SimpleNamespace(family=family, child=child, unit=unit)


@pytest.fixture
def other_household(commune_a, other_parent_a):
    """other_parent_a: the Durand household, with Tom."""
    with commune_a:
        family = make_family("Durand", user=other_parent_a, guardian_first_name="Sacha")
        child = make_child("Tom", "Durand", family=family)
    return SimpleNamespace(family=family, child=child)


@pytest.fixture
def as_parent(frozen, client_a, commune_a, parent_a, household):
    return login(client_a, commune_a, parent_a)


def calendar_url(child, unit=None, month="2027-03"):
    url = f"/famille/enfants/{child.pk}/calendrier/?mois={month}"
    return f"{url}&unite={unit.pk}" if unit else url


def booked(commune, **filters):
    with commune:
        return list(Reservation.objects.filter(status=ReservationStatus.BOOKED, **filters)
                    .order_by("date").values_list("date", flat=True))


def message_levels_of(response):
    return [message.level for message in response.context["messages"]]


# -- permissions ----------------------------------------------------------------------------

def parent_urls(household, reservation_id=0):
    child = household.child.pk
    return [
        ("get", "/famille/"),
        ("get", f"/famille/foyers/{household.family.pk}/coordonnees/"),
        ("get", f"/famille/enfants/{child}/calendrier/"),
        ("post", f"/famille/enfants/{child}/reserver/"),
        ("get", f"/famille/enfants/{child}/reserver-periode/"),
        ("post", f"/famille/reservations/{reservation_id}/annuler/"),
        ("get", f"/famille/enfants/{child}/absences/"),
        ("get", "/famille/historique/"),
    ]


def test_it_requires_login(client_a, household):
    for method, url in parent_urls(household):
        response = getattr(client_a, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith("/connexion/"), url


def test_agents_are_refused_on_parent_pages(client_a, commune_a, admin_a, household):
    login(client_a, commune_a, admin_a)
    for method, url in parent_urls(household):
        assert getattr(client_a, method)(url).status_code == 403, url


def test_a_parent_of_another_family_gets_404_on_every_child_and_household_url(
        frozen, client_a, commune_a, household, other_household, other_parent_a):
    with commune_a:
        reservation = reservation_book(child=household.child, unit=household.unit, day=DAY,
                                       actor=Actor.system()).reservation
    login(client_a, commune_a, other_parent_a)
    for method, url in parent_urls(household, reservation.pk):
        if url in ("/famille/", "/famille/historique/"):
            continue
        data = {"unit": household.unit.pk, "date": DAY.isoformat()} if method == "post" else {}
        assert getattr(client_a, method)(url, data).status_code == 404, url
    assert booked(commune_a) == [DAY]  # nothing cancelled, nothing booked for Léa


def test_a_parent_of_commune_b_cannot_reach_a_child_of_commune_a(
        frozen, client_b, commune_b, parent_b, household):
    with commune_b:
        make_family("Bernard", user=parent_b)
    login(client_b, commune_b, parent_b)
    child = household.child.pk
    assert client_b.get(f"/famille/enfants/{child}/calendrier/").status_code == 404
    assert client_b.get(f"/famille/enfants/{child}/absences/").status_code == 404
    response = client_b.post(f"/famille/enfants/{child}/reserver/",
                             {"unit": household.unit.pk, "date": DAY.isoformat()})
    assert response.status_code == 404
    assert "Léa" not in client_b.get("/famille/").content.decode()


@pytest.mark.parametrize("path", ["/famille/enfants/{child}/reserver/",
                                  "/famille/reservations/{reservation}/annuler/"])
def test_booking_and_cancelling_reject_get(as_parent, household, path):
    url = path.format(child=household.child.pk, reservation=0)
    assert as_parent.get(url).status_code == 405


# -- household ------------------------------------------------------------------------------

def test_home_shows_my_household_and_only_its_guardians(
        as_parent, commune_a, household, other_household, other_parent_a):
    with commune_a:  # Léa's parents are separated: she also lives in the Durand household
        Membership.objects.create(child=household.child, family=other_household.family)
    body = as_parent.get("/famille/").content.decode()
    assert '<html lang="fr">' in body
    assert "Martin" in body and "3 rue des Alpes" in body and "0476000000" in body
    assert f"/famille/enfants/{household.child.pk}/calendrier/" in body
    assert "Sacha" not in body and "Tom" not in body and "REF-Durand" not in body

    other = login(type(as_parent)(HTTP_HOST="alpha.parvis.test"), commune_a, other_parent_a)
    other_body = other.get("/famille/").content.decode()
    assert f"/famille/enfants/{household.child.pk}/calendrier/" in other_body
    assert "3 rue des Alpes" not in other_body and "REF-Martin" not in other_body


def test_updating_the_contact_details_goes_through_family_update(
        as_parent, commune_a, household, parent_a):
    response = as_parent.post(f"/famille/foyers/{household.family.pk}/coordonnees/", {
        "phone": "06 12 34 56 78", "email": "nouvelle@exemple.fr",
        "address_line1": "12 avenue du Vercors", "address_line2": "",
        "postcode": "38100", "city": "Grenoble"})
    assert response.status_code == 302 and response.url == "/famille/"
    with commune_a:
        family = Family.objects.get(pk=household.family.pk)
        entry = ActionLog.objects.get(action="family.updated")
    assert (family.phone, family.email, family.address_line1, family.postcode) == (
        "06 12 34 56 78", "nouvelle@exemple.fr", "12 avenue du Vercors", "38100")
    assert entry.actor_id == parent_a.pk and entry.changes["postcode"] == ["38000", "38100"]


def test_invalid_contact_details_are_shown_back_and_change_nothing(
        as_parent, commune_a, household):
    response = as_parent.post(f"/famille/foyers/{household.family.pk}/coordonnees/", {
        "phone": "12", "email": "martin@exemple.fr", "address_line1": "3 rue des Alpes",
        "address_line2": "", "postcode": "380", "city": "Grenoble"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"phone", "postcode"}
    with commune_a:
        family = Family.objects.get(pk=household.family.pk)
        assert not ActionLog.objects.filter(action="family.updated").exists()
    assert (family.phone, family.postcode) == ("0476000000", "38000")


# -- calendar, booking, cancelling ----------------------------------------------------------

def test_the_calendar_lists_the_month_in_french(as_parent, household):
    response = as_parent.get(calendar_url(household.child, household.unit))
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fr">' in body and "mars 2027" in body
    days = [cell for week in response.context["calendar"].weeks for cell in week if cell.day]
    assert len(days) == 31
    statuses = {cell.day: cell.status for cell in days}
    assert statuses[date(2027, 3, 1)] == "past_deadline"  # deadline was 25 February
    assert statuses[date(2027, 3, 6)] == "closed"  # a Saturday
    assert statuses[DAY] == "free"
    # 3 to 31 March, weekdays but Easter Monday (29 March 2027)
    assert body.count('class="day day-free"') == 20


def test_a_parent_books_a_day_from_the_calendar(as_parent, commune_a, household, parent_a):
    response = as_parent.post(f"/famille/enfants/{household.child.pk}/reserver/",
                              {"unit": household.unit.pk, "date": DAY.isoformat()})
    assert response.status_code == 302
    assert response.url == calendar_url(household.child, household.unit)
    with commune_a:
        reservation = Reservation.objects.get(child=household.child, date=DAY)
        entry = ActionLog.objects.get(action="reservation.booked")
    assert reservation.family_id == household.family.pk and reservation.booked_by_id == parent_a.pk
    assert entry.actor_id == parent_a.pk and entry.changes["date"] == DAY.isoformat()

    page = as_parent.get(response.url)
    cell = next(c for week in page.context["calendar"].weeks for c in week if c.day == DAY)
    assert cell.status == "booked" and cell.can_cancel
    assert f"/famille/reservations/{reservation.pk}/annuler/" in page.content.decode()


def test_a_parent_cancels_a_booking_from_the_calendar(as_parent, commune_a, household,
                                                     parent_a):
    as_parent.post(f"/famille/enfants/{household.child.pk}/reserver/",
                   {"unit": household.unit.pk, "date": DAY.isoformat()})
    with commune_a:
        reservation = Reservation.objects.get(date=DAY)
    response = as_parent.post(f"/famille/reservations/{reservation.pk}/annuler/")
    assert response.status_code == 302
    assert response.url == calendar_url(household.child, household.unit)
    assert booked(commune_a) == []
    with commune_a:
        entry = ActionLog.objects.get(action="reservation.cancelled")
    assert entry.actor_id == parent_a.pk and entry.target_id == str(reservation.pk)


def test_a_refused_booking_shows_an_error_and_books_nothing(as_parent, commune_a, household):
    response = as_parent.post(f"/famille/enfants/{household.child.pk}/reserver/",
                              {"unit": household.unit.pk, "date": "2027-03-02"}, follow=True)
    assert response.status_code == 200
    assert message_levels_of(response) == [message_levels.ERROR]
    assert booked(commune_a) == []


def test_cancelling_after_the_deadline_is_refused_and_keeps_the_booking(
        frozen, as_parent, commune_a, household, parent_a):
    as_parent.post(f"/famille/enfants/{household.child.pk}/reserver/",
                   {"unit": household.unit.pk, "date": DAY.isoformat()})
    with commune_a:
        reservation = Reservation.objects.get(date=DAY)
    frozen.move_to(AFTER_DEADLINE)
    login(as_parent, commune_a, parent_a)  # the session of 1 March has expired
    page = as_parent.get(calendar_url(household.child, household.unit))
    cell = next(c for week in page.context["calendar"].weeks for c in week if c.day == DAY)
    assert cell.status == "booked" and not cell.can_cancel
    response = as_parent.post(f"/famille/reservations/{reservation.pk}/annuler/", follow=True)
    assert message_levels_of(response) == [message_levels.ERROR]
    assert booked(commune_a) == [DAY]


def test_a_late_booking_with_a_surcharge_is_offered_and_flagged(as_parent, commune_a,
                                                                household):
    with commune_a:
        household.unit.late_booking = LatePolicy.SURCHARGE
        household.unit.save()
    page = as_parent.get(calendar_url(household.child, household.unit))
    cell = next(c for week in page.context["calendar"].weeks for c in week
                if c.day == date(2027, 3, 2))
    assert cell.status == "free" and cell.can_book and cell.late
    as_parent.post(f"/famille/enfants/{household.child.pk}/reserver/",
                   {"unit": household.unit.pk, "date": "2027-03-02"})
    with commune_a:
        assert Reservation.objects.get(date=date(2027, 3, 2)).booked_late


def test_a_full_day_puts_the_child_on_the_waiting_list(as_parent, commune_a, household,
                                                        other_household):
    with commune_a:
        household.unit.capacity = 1
        household.unit.save()
        reservation_book(child=other_household.child, unit=household.unit, day=DAY,
                         actor=Actor.system())
    page = as_parent.get(calendar_url(household.child, household.unit))
    cell = next(c for week in page.context["calendar"].weeks for c in week if c.day == DAY)
    assert cell.status == "full" and cell.can_book
    as_parent.post(f"/famille/enfants/{household.child.pk}/reserver/",
                   {"unit": household.unit.pk, "date": DAY.isoformat()})
    with commune_a:
        assert WaitingListEntry.objects.get(child=household.child, date=DAY).status == (
            WaitingStatus.WAITING)
    page = as_parent.get(calendar_url(household.child, household.unit))
    assert 'class="day day-waiting"' in page.content.decode()


def test_the_other_households_booking_is_shown_but_cannot_be_cancelled(
        as_parent, commune_a, household, other_household, other_parent_a):
    with commune_a:
        Membership.objects.create(child=household.child, family=other_household.family)
        theirs = reservation_book(child=household.child, unit=household.unit, day=DAY,
                                  family=other_household.family,
                                  actor=Actor(kind="parent", label=other_parent_a.email,
                                              user=other_parent_a)).reservation
    page = as_parent.get(calendar_url(household.child, household.unit))
    cell = next(c for week in page.context["calendar"].weeks for c in week if c.day == DAY)
    assert cell.status == "booked_elsewhere" and not cell.can_cancel
    assert as_parent.post(f"/famille/reservations/{theirs.pk}/annuler/").status_code == 404
    assert booked(commune_a) == [DAY]


def test_an_unknown_month_or_unit_falls_back_to_the_current_month(as_parent, household):
    response = as_parent.get(f"/famille/enfants/{household.child.pk}/calendrier/"
                             "?mois=2027-13&unite=nope")
    assert response.status_code == 200
    assert response.context["month"] == date(2027, 3, 1)
    assert response.context["unit"].pk == household.unit.pk


def test_the_calendar_runs_a_bounded_number_of_queries(
        as_parent, commune_a, household, max_sql_queries):
    with commune_a:
        make_unit(name="Garderie du soir")
        for number in range(12):
            child = make_child(f"Enfant{number}", "Autre", birth_date=date(2018, 1, 1))
            for day in (8, 9, 10, 11, 12, 15, 16, 17, 18, 19):
                Reservation.objects.create(child=child, unit=household.unit,
                                           date=date(2027, 3, day))
        for day in (22, 23, 24, 25, 26):
            Reservation.objects.create(child=household.child, unit=household.unit,
                                       family=household.family, date=date(2027, 3, day))
    with max_sql_queries(14):
        response = as_parent.get(calendar_url(household.child, household.unit))
    assert response.content.decode().count('class="day day-booked"') == 5


# -- weekly pattern -------------------------------------------------------------------------

def test_the_pattern_form_books_waits_and_refuses_with_reasons(
        as_parent, commune_a, household, other_household):
    with commune_a:
        household.unit.capacity = 1
        household.unit.save()
        reservation_book(child=other_household.child, unit=household.unit,
                         day=date(2027, 3, 15), actor=Actor.system())
    response = as_parent.post(f"/famille/enfants/{household.child.pk}/reserver-periode/", {
        "unit": household.unit.pk, "weekdays": ["1", "2"],
        "start": "2027-03-01", "end": "2027-03-16"})
    assert response.status_code == 200
    summary = response.context["summary"]
    assert summary.booked == [date(2027, 3, 8), date(2027, 3, 9), DAY]
    assert summary.waiting == [date(2027, 3, 15)]
    assert [day for day, _reason in summary.refused] == [date(2027, 3, 1), date(2027, 3, 2)]
    assert all(reason for _day, reason in summary.refused)
    assert booked(commune_a, child=household.child) == [date(2027, 3, 8), date(2027, 3, 9), DAY]
    with commune_a:
        assert Reservation.objects.filter(family=household.family).count() == 3
    body = response.content.decode()
    assert 'datetime="2027-03-01"' in body and 'datetime="2027-03-15"' in body


def test_the_pattern_form_rejects_an_inverted_period(as_parent, commune_a, household):
    response = as_parent.post(f"/famille/enfants/{household.child.pk}/reserver-periode/", {
        "unit": household.unit.pk, "weekdays": ["1"], "start": "2027-03-16",
        "end": "2027-03-01"})
    assert response.status_code == 200 and "end" in response.context["form"].errors
    assert response.context["summary"] is None
    assert booked(commune_a) == []


# -- absences -------------------------------------------------------------------------------

def test_declaring_an_absence_with_a_certificate(as_parent, commune_a, household, parent_a,
                                                 media_root):
    url = f"/famille/enfants/{household.child.pk}/absences/"
    response = as_parent.post(url, {
        "start": "2027-03-15", "end": "2027-03-17", "reason": "Varicelle",
        "certificate": SimpleUploadedFile("certificat.pdf", PDF,
                                          content_type="application/pdf")})
    assert response.status_code == 302 and response.url == url
    with commune_a:
        absence = Absence.objects.select_related("certificate").get(child=household.child)
        entry = ActionLog.objects.get(action="absence.declared")
    assert (absence.start_date, absence.end_date, absence.reason) == (
        date(2027, 3, 15), date(2027, 3, 17), "Varicelle")
    assert absence.certificate.owner_id == parent_a.pk and absence.declared_by_id == parent_a.pk
    assert entry.changes["with_certificate"] is True
    assert entry.changes["family_ids"] == [household.family.pk]
    page = as_parent.get(url).content.decode()
    assert "Varicelle" in page and "certificat.pdf" in page
    assert f"/fichiers/{absence.certificate.uuid}/" in page


def test_an_absence_without_certificate(as_parent, commune_a, household):
    response = as_parent.post(f"/famille/enfants/{household.child.pk}/absences/", {
        "start": "2027-03-15", "end": "2027-03-15", "reason": ""})
    assert response.status_code == 302
    with commune_a:
        assert Absence.objects.get(child=household.child).certificate is None


def test_a_refused_upload_declares_nothing(as_parent, commune_a, household, media_root):
    response = as_parent.post(f"/famille/enfants/{household.child.pk}/absences/", {
        "start": "2027-03-15", "end": "2027-03-15", "reason": "Fièvre",
        "certificate": SimpleUploadedFile("certificat.pdf", b"not a pdf at all")})
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    with commune_a:
        assert not Absence.objects.exists() and not StoredFile.objects.exists()


def test_an_absence_ending_before_it_starts_is_refused(as_parent, commune_a, household):
    response = as_parent.post(f"/famille/enfants/{household.child.pk}/absences/", {
        "start": "2027-03-17", "end": "2027-03-15"})
    assert response.status_code == 200 and "end" in response.context["form"].errors
    with commune_a:
        assert not Absence.objects.exists()


# -- history --------------------------------------------------------------------------------

def test_history_shows_my_actions_as_mine_and_the_town_halls_as_the_town_halls(
        as_parent, commune_a, household, other_household, admin_a):
    as_parent.post(f"/famille/enfants/{household.child.pk}/reserver/",
                   {"unit": household.unit.pk, "date": DAY.isoformat()})
    with commune_a:
        reservation = Reservation.objects.get(date=DAY)
        reservation_book(child=household.child, unit=household.unit, day=date(2027, 3, 17),
                         actor=Actor(kind="agent", label=admin_a.email, user=admin_a,
                                     role=Role.ADMINISTRATOR))
        reservation_book(child=other_household.child, unit=household.unit, day=DAY,
                         actor=Actor.system())
    as_parent.post(f"/famille/reservations/{reservation.pk}/annuler/")

    response = as_parent.get("/famille/historique/")
    entries = response.context["history"].entries
    assert [entry.actor for entry in entries] == ["you", "town_hall", "you"]
    assert all("Léa Martin" in entry.summary for entry in entries)
    assert "Tom" not in response.content.decode()
    body = response.content.decode()
    assert body.count('data-actor="you"') == 2 and "16/03/2027" in body
    assert admin_a.email not in body


def test_history_is_paginated_by_fifty(as_parent, commune_a, household, parent_a,
                                       max_sql_queries):
    actor = Actor(kind="parent", label=parent_a.email, user=parent_a)
    with commune_a:
        for number in range(51):
            journal_record(actor=actor, action="test.event", summary=f"Événement {number}",
                           changes={"family_ids": [household.family.pk]})
        journal_record(actor=Actor.system(), action="test.event", summary="Ailleurs",
                       changes={"family_ids": [household.family.pk + 1000]})
    with max_sql_queries(6):
        first = as_parent.get("/famille/historique/")
    assert len(first.context["history"].entries) == 50 and first.context["history"].has_next
    second = as_parent.get("/famille/historique/?page=2")
    assert [e.summary for e in second.context["history"].entries] == ["Événement 0"]
    assert not second.context["history"].has_next


def test_history_includes_changes_to_my_household(as_parent, household, admin_a):
    as_parent.post(f"/famille/foyers/{household.family.pk}/coordonnees/", {
        "phone": "0476111111", "email": "", "address_line1": "", "address_line2": "",
        "postcode": "", "city": ""})
    entries = as_parent.get("/famille/historique/").context["history"].entries
    assert [entry.actor for entry in entries] == ["you"]


# -- home query count -----------------------------------------------------------------------

def test_home_runs_a_bounded_number_of_queries(as_parent, commune_a, household, parent_a,
                                               max_sql_queries):
    with commune_a:
        for number in range(6):
            make_child(f"Enfant{number}", "Martin", family=household.family,
                       birth_date=date(2017, 1, number + 1))
        Guardian.objects.create(family=household.family, first_name="Dominique",
                                last_name="Martin", search_name="martin dominique")
    with max_sql_queries(8):
        response = as_parent.get("/famille/")
    assert response.content.decode().count("/calendrier/") == 7
