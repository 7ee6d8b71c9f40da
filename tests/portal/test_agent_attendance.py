"""Agent pages: attendance (pointage).

Assertions are on data, status codes and ``data-*`` attributes, never on translated text.
"""

from datetime import date, timedelta

from accounts.roles import Role
from core.models import ActionLog
from portal.models import Attendance, Facility, FacilityKind, Reservation
from portal.services.attendance import absence_declare
from tests.portal.agent_world import SYSTEM, tap
from tests.portal.factories import make_child

# -- attendance -----------------------------------------------------------------------------

def attendance_url(world, **extra):
    unit = world["unit"]
    query = f"etablissement={unit.facility_id}&unite={unit.pk}&jour={world['today']:%Y-%m-%d}"
    return "/agents/pointage/?" + query + "".join(f"&{k}={v}" for k, v in extra.items())


def test_the_roster_shows_booked_children_and_declared_absences(world, as_actor, client_a):
    as_actor(Role.LEISURE)
    body = client_a.get(attendance_url(world)).content.decode()
    card = body.split(f'id="enfant-{world["child"].pk}"')[1].split("</li>")[0]
    assert 'data-flag="absence"' in card and 'data-flag="pai"' in card
    assert 'data-state="unknown"' in body


def test_a_tap_records_presence_then_absence(world, commune_a, as_actor, client_a):
    as_actor(Role.SCHOOL_LIFE)
    child = world["child"]
    response = tap(client_a, world, child, True)
    assert response.status_code == 302
    assert response.url == attendance_url(world) + f"#enfant-{child.pk}"
    with commune_a:
        row = Attendance.objects.get(child=child)
        assert row.present and not row.without_booking
    body = client_a.get(attendance_url(world)).content.decode()
    assert f'id="enfant-{child.pk}" data-child="{child.pk}" data-state="present"' in body
    tap(client_a, world, child, False)
    with commune_a:
        assert Attendance.objects.get(child=child).present is False
        assert ActionLog.objects.filter(action="attendance.recorded").count() == 2


def test_a_child_present_without_booking_is_flagged(world, commune_a, as_actor, client_a):
    with commune_a:
        walk_in = make_child("Noé", "Girard", birth_date=date(2017, 3, 3))
    as_actor(Role.SCHOOL_LIFE)
    found = client_a.get(attendance_url(world, chercher="noe")).content.decode()
    assert f'data-candidate="{walk_in.pk}"' in found
    tap(client_a, world, walk_in, True)
    with commune_a:
        assert Attendance.objects.get(child=walk_in).without_booking
    body = client_a.get(attendance_url(world)).content.decode()
    card = body.split(f'id="enfant-{walk_in.pk}"')[1].split("</li>")[0]
    assert 'data-flag="walk-in"' in card and 'data-state="present"' in card


def test_attendance_cannot_be_recorded_for_a_future_day(world, commune_a, as_actor, client_a):
    as_actor(Role.SCHOOL_LIFE)
    response = client_a.post("/agents/pointage/enregistrer/", {
        "unite": world["unit"].pk, "jour": (world["today"] + timedelta(days=1)).isoformat(),
        "enfant": world["child"].pk, "present": "1"})
    assert response.status_code == 400
    with commune_a:
        assert not Attendance.objects.exists()


def test_the_unit_list_narrows_to_the_facility(world, commune_a, as_actor, client_a):
    with commune_a:
        elsewhere = Facility.objects.create(name="Centre de loisirs",
                                            kind=FacilityKind.LEISURE_CENTRE)
    as_actor(Role.LEISURE)
    response = client_a.get(f"/agents/pointage/?etablissement={elsewhere.pk}")
    assert list(response.context["form"].fields["unite"].queryset) == []
    mismatch = client_a.get(f"/agents/pointage/?etablissement={elsewhere.pk}"
                            f"&unite={world['unit'].pk}")
    assert mismatch.status_code == 200 and "roster" not in mismatch.context


def test_the_attendance_page_runs_a_bounded_number_of_queries(world, commune_a, as_actor,
                                                              client_a,
                                                              max_sql_queries):
    as_actor(Role.SCHOOL_LIFE)
    with commune_a:
        for number in range(40):
            child = make_child(f"Enfant{number}", "Durand",
                               birth_date=date(2016, 1, 1) + timedelta(days=number))
            if number % 4:
                Reservation.objects.create(child=child, unit=world["unit"],
                                           date=world["today"])
            else:
                Attendance.objects.create(child=child, unit=world["unit"], date=world["today"],
                                          present=True, without_booking=True)
            if number % 5 == 0:
                absence_declare(child=child, start=world["today"], end=world["today"],
                                actor=SYSTEM)
    with max_sql_queries(14):
        response = client_a.get(attendance_url(world, chercher="durand"))
    assert response.status_code == 200
    assert len(response.context["roster"]) == 31 and len(response.context["walk_ins"]) == 10
