"""Agent pages: the family record and its health notes.

Assertions are on data, status codes and ``data-*`` attributes, never on translated text.
"""

from datetime import date, timedelta

import pytest

from accounts.roles import Role
from portal.models import FamilyDocument, Reservation
from portal.services.attendance import absence_declare
from portal.services.families import child_add, family_create, guardian_add
from tests.portal.agent_world import SYSTEM, fill, stored_file

# -- health notes ---------------------------------------------------------------------------

@pytest.mark.parametrize("role, shown", [
    (Role.SCHOOL_LIFE, True), (Role.LEISURE, True), (Role.EARLY_CHILDHOOD, True),
    (Role.ADMINISTRATOR, True), (Role.FINANCE, False), (Role.READ_ONLY, False),
])
def test_health_notes_only_for_roles_that_may_read_them(world, as_actor, client_a, role, shown):
    as_actor(role)
    body = client_a.get(fill("/agents/familles/{family}/", world)).content.decode()
    assert f'data-child="{world["child"].pk}"' in body
    assert ("arachides" in body) is shown
    assert ('class="health"' in body) is shown


def test_the_child_form_has_no_health_fields_without_the_capability(world, commune_a):
    from portal.forms_agent import ChildAddForm

    with commune_a:
        assert "allergies" not in ChildAddForm(show_health=False).fields
        assert "allergies" in ChildAddForm(show_health=True).fields


# -- family record --------------------------------------------------------------------------

def test_the_family_record_shows_every_part(world, commune_a, as_actor, client_a):
    as_actor(Role.SCHOOL_LIFE)
    body = client_a.get(fill("/agents/familles/{family}/", world)).content.decode()
    for marker in (f'data-guardian="{world["guardian"].pk}"', f'data-child="{world["child"].pk}"',
                   f'data-document="{world["document"].pk}"',
                   f'data-absence="{world["absence"].pk}"', "data-reservation=",
                   'data-residency="resident"', "3 rue des Alpes"):
        assert marker in body
    assert fill("/agents/familles/{family}/responsables/{guardian}/inviter/", world) in body


def test_read_only_agents_see_no_write_buttons(world, as_actor, client_a):
    as_actor(Role.READ_ONLY)
    body = client_a.get(fill("/agents/familles/{family}/", world)).content.decode()
    assert "/examen/" not in body and "/inviter/" not in body and "/modifier/" not in body


def test_another_month_shows_its_bookings(world, as_actor, client_a):
    as_actor(Role.SCHOOL_LIFE)
    next_year = (world["today"] + timedelta(days=400)).strftime("%Y-%m")
    body = client_a.get(fill("/agents/familles/{family}/", world) + f"?mois={next_year}")
    assert "data-reservation=" not in body.content.decode()
    assert f'data-absence="{world["absence"].pk}"' in body.content.decode()  # still to review


def test_the_family_page_runs_a_bounded_number_of_queries(world, commune_a, parent_a, as_actor,
                                                          client_a,
                                                          max_sql_queries):
    as_actor(Role.SCHOOL_LIFE)
    url = fill("/agents/familles/{family}/", world)
    client_a.get(url)
    with commune_a:
        family, unit = world["family"], world["unit"]
        for number in range(25):
            child = child_add(family=family, first_name=f"Enfant{number}", last_name="Lefèvre",
                              birth_date=date(2017, 1, 1) + timedelta(days=number), actor=SYSTEM,
                              allergies="gluten")
            other = family_create(name=f"Autre {number}", actor=SYSTEM)
            child_add(family=other, first_name=f"Enfant{number}", last_name="Lefèvre",
                      birth_date=date(2017, 1, 1) + timedelta(days=number), actor=SYSTEM)
            Reservation.objects.create(child=child, unit=unit, family=family,
                                       date=world["today"])
            absence_declare(child=child, start=world["today"], end=world["today"], actor=SYSTEM)
            guardian_add(family=family, first_name=f"Resp{number}", last_name="Lefèvre",
                         actor=SYSTEM)
            FamilyDocument.objects.create(family=family, child=child,
                                          file=stored_file(parent_a, name=f"d{number}.pdf"),
                                          kind=FamilyDocument.Kind.OTHER)
    with max_sql_queries(16):
        response = client_a.get(url)
    assert response.status_code == 200
    assert response.content.decode().count("data-child=") == 26
