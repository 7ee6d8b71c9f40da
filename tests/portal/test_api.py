"""The JSON API: same scope and services as the pages, session or token auth."""

import json
from datetime import date

import pytest
import time_machine
from django.test import Client

from accounts.roles import Role
from accounts.tokens import api_token_create
from core.journal import Actor
from core.models import ActionLog
from portal.models import Guardian, Reservation, ReservationStatus
from tests.conftest import HOST_A, HOST_B, login, make_user
from tests.portal.factories import make_child, make_unit

DAY = date(2027, 3, 16)
BEFORE = "2027-03-01 09:00 +01:00"


@pytest.fixture
def family_setup(commune_a, parent_a):
    with commune_a:
        unit = make_unit(capacity=1)
        child = make_child()
        Guardian.objects.create(family=child.families.get(), first_name="Camille",
                                last_name="Martin", search_name="martin camille",
                                user=parent_a)
    return unit, child


def post_json(client, url, payload, **extra):
    return client.post(url, json.dumps(payload), content_type="application/json", **extra)


def test_the_openapi_document_is_served_on_each_commune_host(client_a, client_b):
    for client in (client_a, client_b):
        response = client.get("/api/v1/openapi.json")
        assert response.status_code == 200
        paths = response.json()["paths"]
        assert "/api/v1/reservations" in paths and "/api/v1/units" in paths


def test_it_requires_authentication(client_a):
    assert client_a.get("/api/v1/family").status_code == 401


@time_machine.travel(BEFORE)
def test_a_parent_books_and_cancels_through_the_api(client_a, commune_a, parent_a,
                                                    family_setup):
    unit, child = family_setup
    login(client_a, commune_a, parent_a)
    family = client_a.get("/api/v1/family").json()
    assert [c["first_name"] for c in family[0]["children"]] == ["Léa"]
    units = client_a.get(f"/api/v1/units?child_id={child.pk}&start=2027-03-15&end=2027-03-19")
    assert units.status_code == 200
    day = next(d for d in units.json()[0]["days"] if d["date"] == "2027-03-16")
    assert day == {"date": "2027-03-16", "free_places": 1, "bookable": True}

    booked = post_json(client_a, "/api/v1/reservations",
                       {"child_id": child.pk, "unit_id": unit.pk, "date": "2027-03-16"})
    assert booked.status_code == 200 and booked.json()["status"] == "booked"
    reservation_id = booked.json()["reservation"]["id"]
    cancelled = client_a.post(f"/api/v1/reservations/{reservation_id}/cancel")
    assert cancelled.json()["status"] == ReservationStatus.CANCELLED
    with commune_a:
        assert ActionLog.objects.filter(action="reservation.cancelled",
                                        actor_label=parent_a.email).exists()


@time_machine.travel(BEFORE)
def test_session_writes_need_the_csrf_token(commune_a, parent_a, family_setup):
    unit, child = family_setup
    strict = login(Client(HTTP_HOST=HOST_A, enforce_csrf_checks=True), commune_a, parent_a)
    response = post_json(strict, "/api/v1/reservations",
                         {"child_id": child.pk, "unit_id": unit.pk, "date": "2027-03-16"})
    assert response.status_code in (401, 403)
    with commune_a:
        assert not Reservation.objects.exists()


def test_another_family_gets_404(client_a, commune_a, other_parent_a, family_setup):
    unit, child = family_setup
    login(client_a, commune_a, other_parent_a)
    assert client_a.get(f"/api/v1/reservations?child_id={child.pk}").status_code == 404
    assert post_json(client_a, "/api/v1/absences", {
        "child_id": child.pk, "start_date": "2027-03-16", "end_date": "2027-03-16",
    }).status_code == 404


@time_machine.travel(BEFORE)
def test_bad_input_is_refused_in_a_clear_message(client_a, commune_a, parent_a, family_setup):
    unit, child = family_setup
    login(client_a, commune_a, parent_a)
    wednesday_closed = post_json(client_a, "/api/v1/reservations", {
        "child_id": child.pk, "unit_id": unit.pk, "date": "2027-03-20"})  # a Saturday
    assert wednesday_closed.status_code == 400 and wednesday_closed.json()["detail"]
    assert post_json(client_a, "/api/v1/absences", {
        "child_id": child.pk, "start_date": "2027-03-16", "end_date": "2027-03-10",
    }).status_code == 400
    with commune_a:
        assert not Reservation.objects.exists()


def test_an_agent_token_works_in_its_commune_only(commune_a, family_setup):
    unit, child = family_setup
    agent = make_user(commune_a, "agent.api@alpha.test", role=Role.SCHOOL_LIFE)
    with commune_a:
        _token, key = api_token_create(user=agent, name="logiciel", actor=Actor.system())
    with commune_a:
        family_id = child.families.get().pk
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert Client(HTTP_HOST=HOST_A).get(f"/api/v1/families/{family_id}",
                                        **headers).status_code == 200
    assert Client(HTTP_HOST=HOST_B).get(f"/api/v1/families/{family_id}",
                                        **headers).status_code == 401
    assert Client(HTTP_HOST=HOST_A).get(
        f"/api/v1/families/{family_id}",
        HTTP_AUTHORIZATION="Bearer pv_forged").status_code == 401


@time_machine.travel(BEFORE)
@pytest.mark.parametrize(("role", "expected"), [
    (Role.SCHOOL_LIFE, 200), (Role.ADMINISTRATOR, 200), (Role.FINANCE, 403),
    (Role.READ_ONLY, 403),
])
def test_agents_book_through_the_api_only_with_the_right_role(commune_a, family_setup, role,
                                                              expected):
    unit, child = family_setup
    agent = make_user(commune_a, f"{role}@alpha.test", role=role)
    with commune_a:
        _token, key = api_token_create(user=agent, name="outil", actor=Actor.system())
    response = post_json(Client(HTTP_HOST=HOST_A), "/api/v1/reservations",
                         {"child_id": child.pk, "unit_id": unit.pk, "date": "2027-03-16"},
                         HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == expected


def test_a_revoked_token_is_refused(commune_a, family_setup):
    from accounts.tokens import api_token_revoke

    agent = make_user(commune_a, "revoque@alpha.test", role=Role.SCHOOL_LIFE)
    with commune_a:
        token, key = api_token_create(user=agent, name="ancien", actor=Actor.system())
        api_token_revoke(token=token, actor=Actor.system())
    response = Client(HTTP_HOST=HOST_A).get("/api/v1/children",
                                            HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401
