"""The permission matrix of every API v1 endpoint, then what the read endpoints return.

Actors: the household's parent (session and CSRF token), the parent of another household
(session and CSRF token), each agent role with a bearer token, an agent token of commune B
and nobody. The expected status is derived from the rules of ``portal.access``: a parent
reaches their own household only (404 elsewhere); every role reads family records
(``view_families``: 200, but ``/children`` is a parent's list, 404 for agents); writing
needs ``manage_families`` (403 without); a token of another commune is unknown here (401).
"""

import json
from datetime import date

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils.crypto import get_random_string

from accounts.roles import ROLE_CAPABILITIES, Capability, Role
from accounts.tokens import api_token_create
from core.journal import Actor
from portal.models import Absence, Guardian, Reservation, ReservationStatus
from tests.conftest import HOST_A, login, make_user
from tests.portal.factories import make_child, make_unit

BEFORE = "2027-03-01 09:00 +01:00"
SYSTEM = Actor.system("tests")

# name: (method, url template, JSON body template or None)
ENDPOINTS = {
    "my family": ("GET", "/api/v1/family", None),
    "family": ("GET", "/api/v1/families/{family}", None),
    "children": ("GET", "/api/v1/children", None),
    "units": ("GET", "/api/v1/units?child_id={child}&start=2027-03-15&end=2027-03-19", None),
    "reservations": ("GET", "/api/v1/reservations?child_id={child}&start=2027-03-01"
                            "&end=2027-03-31", None),
    "book": ("POST", "/api/v1/reservations",
             {"child_id": "{child}", "unit_id": "{unit}", "date": "2027-03-16"}),
    "cancel": ("POST", "/api/v1/reservations/{reservation}/cancel", None),
    "absences": ("GET", "/api/v1/absences?child_id={child}", None),
    "declare": ("POST", "/api/v1/absences",
                {"child_id": "{child}", "start_date": "2027-03-22", "end_date": "2027-03-23",
                 "reason": "Varicelle"}),
}
WRITES = {"book", "cancel", "declare"}
ACTORS = ["parent", "other parent", *Role.values, "token of commune B", "nobody"]


def expected_status(actor: str, endpoint: str) -> int:
    if actor in ("token of commune B", "nobody"):
        return 401
    if actor == "parent":
        return 200
    if actor == "other parent":  # their own household's lists, nothing of this one
        return 200 if endpoint in ("my family", "children") else 404
    if endpoint == "children":
        return 404  # agents look children up through a family
    if endpoint in WRITES and Capability.MANAGE_FAMILIES not in ROLE_CAPABILITIES[actor]:
        return 403
    return 200


@pytest.fixture
def world(commune_a, parent_a, other_parent_a):
    """Léa's household (guardian: ``parent_a``) with a booking on the 18th, and Tom's
    household (guardian: ``other_parent_a``)."""
    with commune_a:
        unit = make_unit(capacity=5)
        child = make_child("Léa", "Martin", class_level="CE2")
        family = child.families.get()
        Guardian.objects.create(family=family, first_name="Camille", last_name="Martin",
                                search_name="martin camille", user=parent_a)
        other = make_child("Tom", "Durand", birth_date=date(2019, 9, 1))
        Guardian.objects.create(family=other.families.get(), first_name="Alex",
                                last_name="Durand", search_name="durand alex",
                                user=other_parent_a)
        reservation = Reservation.objects.create(child=child, unit=unit, family=family,
                                                 date=date(2027, 3, 18))
    return {"unit": unit, "child": child, "family": family, "reservation": reservation,
            "other_child": other}


def session_client(commune, user) -> tuple[Client, dict]:
    """A browser-like client: CSRF checks enforced, the token sent back in the header."""
    client = login(Client(HTTP_HOST=HOST_A, enforce_csrf_checks=True), commune, user)
    token = get_random_string(32)
    client.cookies[settings.CSRF_COOKIE_NAME] = token
    return client, {"HTTP_X_CSRFTOKEN": token}


def bearer(commune, email, role) -> dict:
    agent = make_user(commune, email, role=role)
    with commune:
        _token, key = api_token_create(user=agent, name="intégration", actor=SYSTEM)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def as_actor(commune_a, commune_b, parent_a, other_parent_a):
    def client_for(actor) -> tuple[Client, dict]:
        if actor == "parent":
            return session_client(commune_a, parent_a)
        if actor == "other parent":
            return session_client(commune_a, other_parent_a)
        if actor == "token of commune B":
            return Client(HTTP_HOST=HOST_A), bearer(commune_b, "admin.api@beta.test",
                                                    Role.ADMINISTRATOR)
        if actor == "nobody":
            return Client(HTTP_HOST=HOST_A), {}
        return Client(HTTP_HOST=HOST_A), bearer(commune_a, f"{actor}.api@alpha.test", actor)
    return client_for


def call(client, headers, endpoint, world):
    method, url, body = ENDPOINTS[endpoint]
    ids = {key: value.pk for key, value in world.items()}
    url = url.format(**ids)
    if method == "GET":
        return client.get(url, **headers)
    payload = {key: int(value.format(**ids)) if value.startswith("{") else value
               for key, value in (body or {}).items()}
    return client.post(url, json.dumps(payload), content_type="application/json", **headers)


def state(commune):
    with commune:
        return (sorted(Reservation.objects.values_list("child_id", "date", "status")),
                sorted(Absence.objects.values_list("child_id", "start_date", "end_date")))


@time_machine.travel(BEFORE)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("actor", ACTORS)
def test_each_endpoint_answers_each_actor_as_the_rules_say(world, commune_a, as_actor, actor,
                                                          endpoint):
    client, headers = as_actor(actor)
    before = state(commune_a)
    response = call(client, headers, endpoint, world)
    expected = expected_status(actor, endpoint)
    assert response.status_code == expected, response.content
    if endpoint in WRITES and expected != 200:
        assert state(commune_a) == before  # a refused write changes nothing
    if endpoint in WRITES and expected == 200:
        assert state(commune_a) != before
    if expected == 200 and actor != "parent" and endpoint in ("my family", "children"):
        listed = response.json()
        if endpoint == "my family":
            listed = [child for family in listed for child in family["children"]]
        assert world["child"].pk not in [child["id"] for child in listed]  # not theirs


@time_machine.travel(BEFORE)
@pytest.mark.parametrize("endpoint", sorted(WRITES))
def test_session_writes_without_the_csrf_token_are_refused(world, commune_a, parent_a,
                                                           endpoint):
    client, _headers = session_client(commune_a, parent_a)
    before = state(commune_a)
    assert call(client, {}, endpoint, world).status_code in (401, 403)
    assert state(commune_a) == before


@time_machine.travel(BEFORE)
def test_the_parent_lists_only_their_own_household_and_children(world, commune_a,
                                                                 as_actor):
    client, headers = as_actor("other parent")
    [family] = client.get("/api/v1/family", **headers).json()
    assert [child["first_name"] for child in family["children"]] == ["Tom"]
    assert client.get("/api/v1/children", **headers).json() == [{
        "id": world["other_child"].pk, "first_name": "Tom", "last_name": "Durand",
        "birth_date": "2019-09-01", "class_level": ""}]
    agent, agent_headers = as_actor(Role.ADMINISTRATOR)
    assert agent.get("/api/v1/family", **agent_headers).json() == []


# -- what the endpoints return --------------------------------------------------------------

@time_machine.travel(BEFORE)
def test_get_children_returns_the_parents_children(world, commune_a, parent_a):
    with commune_a:
        sister = make_child("Alice", "Martin", birth_date=date(2021, 1, 30),
                            family=world["family"], class_level="MS")
    client, headers = session_client(commune_a, parent_a)
    response = client.get("/api/v1/children", **headers)
    assert response.status_code == 200
    assert response.json() == [
        {"id": sister.pk, "first_name": "Alice", "last_name": "Martin",
         "birth_date": "2021-01-30", "class_level": "MS"},
        {"id": world["child"].pk, "first_name": "Léa", "last_name": "Martin",
         "birth_date": "2018-05-04", "class_level": "CE2"},
    ]


@time_machine.travel(BEFORE)
def test_get_reservations_returns_the_bookings_of_the_period(world, commune_a, parent_a):
    unit, child = world["unit"], world["child"]
    with commune_a:
        cancelled = Reservation.objects.create(child=child, unit=unit, family=world["family"],
                                              date=date(2027, 3, 15), booked_late=True,
                                              status=ReservationStatus.CANCELLED)
        Reservation.objects.create(child=child, unit=unit, family=world["family"],
                                   date=date(2027, 4, 20))  # outside the period
        Reservation.objects.create(child=world["other_child"], unit=unit,
                                   date=date(2027, 3, 16))  # another child
    client, headers = session_client(commune_a, parent_a)
    response = client.get(f"/api/v1/reservations?child_id={child.pk}&start=2027-03-01"
                          "&end=2027-03-31", **headers)
    assert response.status_code == 200
    assert response.json() == [
        {"id": cancelled.pk, "child_id": child.pk, "unit_id": unit.pk, "date": "2027-03-15",
         "status": "cancelled", "booked_late": True},
        {"id": world["reservation"].pk, "child_id": child.pk, "unit_id": unit.pk,
         "date": "2027-03-18", "status": "booked", "booked_late": False},
    ]
    too_long = client.get(f"/api/v1/reservations?child_id={child.pk}&start=2027-01-01"
                          "&end=2027-06-30", **headers)
    assert too_long.status_code == 400 and too_long.json()["detail"]


@time_machine.travel(BEFORE)
def test_post_then_get_absences(world, commune_a, parent_a):
    child = world["child"]
    client, headers = session_client(commune_a, parent_a)
    created = client.post("/api/v1/absences", json.dumps({
        "child_id": child.pk, "start_date": "2027-03-22", "end_date": "2027-03-24",
        "reason": "Varicelle"}), content_type="application/json", **headers)
    assert created.status_code == 200
    with commune_a:
        absence = Absence.objects.get()
        assert (absence.child_id, absence.declared_by_id) == (child.pk, parent_a.pk)
    expected = {"id": absence.pk, "child_id": child.pk, "start_date": "2027-03-22",
                "end_date": "2027-03-24", "reason": "Varicelle", "status": "declared"}
    assert created.json() == expected
    listed = client.get(f"/api/v1/absences?child_id={child.pk}", **headers)
    assert listed.status_code == 200 and listed.json() == [expected]
    other, other_headers = session_client(commune_a, make_user(commune_a, "x@alpha.test"))
    assert other.get(f"/api/v1/absences?child_id={child.pk}",
                     **other_headers).status_code == 404


@time_machine.travel(BEFORE)
def test_an_agent_declares_an_absence_and_books_with_a_token(world, commune_a):
    headers = bearer(commune_a, "scolaire.api@alpha.test", Role.SCHOOL_LIFE)
    client, child = Client(HTTP_HOST=HOST_A), world["child"]
    declared = client.post("/api/v1/absences", json.dumps({
        "child_id": child.pk, "start_date": "2027-03-22", "end_date": "2027-03-22"}),
        content_type="application/json", **headers)
    assert declared.status_code == 200 and declared.json()["reason"] == ""
    listed = client.get(f"/api/v1/absences?child_id={child.pk}", **headers).json()
    assert [a["id"] for a in listed] == [declared.json()["id"]]
    with commune_a:
        assert Absence.objects.get().declared_by.email == "scolaire.api@alpha.test"
