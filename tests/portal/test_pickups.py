"""People a household authorises to pick up a child: services, agent pages, parent pages.

Actors: ``parent_a`` (Martin household), ``other_parent_a`` (Durand household; Léa, of
separated parents, belongs to both), agents of each role, ``parent_b`` and an agent of
commune B. Assertions are on rows, journal entries, status codes and ``data-*`` markers.
"""

from datetime import date
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.roles import ROLE_CAPABILITIES, Capability, Role
from core.journal import Actor
from core.models import ActionLog
from portal.models import AuthorisedPickup, Membership, Reservation
from portal.services.families import child_add, family_create, guardian_add
from portal.services.pickups import (
    ERROR_PICKUP_CHILD,
    ERROR_PICKUP_DUPLICATE,
    ERROR_PICKUP_NAME_REQUIRED,
    ERROR_PICKUP_PHONE_REQUIRED,
    ERROR_PICKUP_RELATIONSHIP_REQUIRED,
    pickup_add,
    pickup_remove,
    pickup_update,
)
from tests.conftest import login, make_user
from tests.portal.factories import make_unit

SYSTEM = Actor.system("tests")
MANAGE = Capability.MANAGE_FAMILIES
GRANNY = {"name": "Josette Martin", "relationship": "grand-mère", "phone": "06 11 22 33 44"}


@pytest.fixture
def world(commune_a, parent_a, other_parent_a):
    """Léa lives in the Martin household (parent_a) and the Durand household
    (other_parent_a); each household has authorised one person; Léa is booked today."""
    with commune_a:
        martin = family_create(name="Martin", actor=SYSTEM)
        durand = family_create(name="Durand", actor=SYSTEM)
        for family, user in ((martin, parent_a), (durand, other_parent_a)):
            guardian = guardian_add(family=family, first_name="Camille", last_name=family.name,
                                    actor=SYSTEM)
            guardian.user = user
            guardian.save()
        lea = child_add(family=martin, first_name="Léa", last_name="Martin",
                        birth_date=date(2018, 5, 4), actor=SYSTEM)
        Membership.objects.create(child=lea, family=durand)
        tom = child_add(family=durand, first_name="Tom", last_name="Durand",
                        birth_date=date(2019, 2, 1), actor=SYSTEM)
        granny = pickup_add(family=martin, child=lea, actor=SYSTEM, **GRANNY)
        uncle = pickup_add(family=durand, child=lea, name="Marc Durand", relationship="oncle",
                           phone="0622334455", actor=SYSTEM)
        unit = make_unit(capacity=50)
        Reservation.objects.create(child=lea, unit=unit, family=martin,
                                   date=timezone.localdate())
    return SimpleNamespace(martin=martin, durand=durand, lea=lea, tom=tom, granny=granny,
                           uncle=uncle, unit=unit)


def parent_actor(user):
    return Actor(kind="parent", label=user.email, user=user)


# -- services -------------------------------------------------------------------------------

def test_adding_is_journalled_with_the_new_values(world, commune_a, parent_a):
    with commune_a:
        pickup = pickup_add(family=world.martin, child=world.lea, name=" Paul Voisin ",
                            relationship="voisin", phone="612345678", note="le mercredi",
                            actor=parent_actor(parent_a))
        entry = ActionLog.objects.get(action="pickup.added", changes__pickup_id=pickup.pk)
    assert (pickup.name, pickup.phone, pickup.family_id) == (
        "Paul Voisin", "0612345678", world.martin.pk)
    assert entry.actor_id == parent_a.pk and entry.target_id == str(world.martin.pk)
    assert entry.changes["name"] == [None, "Paul Voisin"]
    assert entry.changes["note"] == [None, "le mercredi"]
    assert entry.changes["family_ids"] == [world.martin.pk]
    assert entry.changes["child_id"] == world.lea.pk


@pytest.mark.parametrize("fields, errors", [
    ({"name": " "}, {"name": [ERROR_PICKUP_NAME_REQUIRED]}),
    ({"relationship": ""}, {"relationship": [ERROR_PICKUP_RELATIONSHIP_REQUIRED]}),
    ({"phone": ""}, {"phone": [ERROR_PICKUP_PHONE_REQUIRED]}),
    ({"name": "JOSETTE  martin"}, {"name": [ERROR_PICKUP_DUPLICATE]}),
])
def test_adding_refuses_bad_input_and_writes_nothing(world, commune_a, fields, errors):
    with commune_a:
        before = ActionLog.objects.count()
        with pytest.raises(ValidationError) as raised:
            pickup_add(family=world.martin, child=world.lea, actor=SYSTEM,
                       **{**GRANNY, **fields})
        assert raised.value.message_dict == {k: [str(m) for m in v] for k, v in errors.items()}
        assert AuthorisedPickup.objects.count() == 2 and ActionLog.objects.count() == before


def test_a_child_of_another_household_is_refused(world, commune_a):
    with commune_a, pytest.raises(ValidationError) as raised:
        pickup_add(family=world.martin, child=world.tom, actor=SYSTEM, **GRANNY)
    assert raised.value.message_dict == {"child": [str(ERROR_PICKUP_CHILD)]}


def test_updating_journals_each_changed_field_before_and_after(world, commune_a):
    with commune_a:
        pickup_update(pickup=world.granny, actor=SYSTEM,
                      **{**GRANNY, "phone": "0699887766", "note": "sauf le lundi"})
        pickup_update(pickup=world.granny, actor=SYSTEM,  # no change: no entry
                      **{**GRANNY, "phone": "0699887766", "note": "sauf le lundi"})
        entries = list(ActionLog.objects.filter(action="pickup.updated"))
        assert AuthorisedPickup.objects.get(pk=world.granny.pk).phone == "0699887766"
    assert len(entries) == 1
    assert entries[0].changes["phone"] == ["06 11 22 33 44", "0699887766"]
    assert entries[0].changes["note"] == ["", "sauf le lundi"]
    assert "name" not in entries[0].changes


def test_removing_is_journalled_once(world, commune_a):
    with commune_a:
        pickup_remove(pickup=world.granny, actor=SYSTEM)
        pickup_remove(pickup=world.granny, actor=SYSTEM)
        assert not AuthorisedPickup.objects.filter(pk=world.granny.pk).exists()
        [entry] = ActionLog.objects.filter(action="pickup.removed")
    assert entry.changes["name"] == ["Josette Martin", None]
    assert entry.changes["family_ids"] == [world.martin.pk]


# -- agent pages: the permission matrix -----------------------------------------------------

AGENT_PAGES = ["/agents/familles/{family}/enfants/{child}/personnes-autorisees/ajouter/",
               "/agents/familles/{family}/personnes-autorisees/{pickup}/modifier/"]
AGENT_ACTIONS = [
    ("/agents/familles/{family}/enfants/{child}/personnes-autorisees/ajouter/",
     {"name": "Paul Voisin", "relationship": "voisin", "phone": "0612345678"}),
    ("/agents/familles/{family}/personnes-autorisees/{pickup}/modifier/",
     {**GRANNY, "note": "le mercredi"}),
    ("/agents/familles/{family}/personnes-autorisees/{pickup}/retirer/", {}),
]


def agent_url(template, world, *, family=None, child=None, pickup=None):
    return template.format(family=(family or world.martin).pk, child=(child or world.lea).pk,
                           pickup=(pickup or world.granny).pk)


@pytest.fixture
def as_role(client_a, commune_a):
    def _login(role):
        user = make_user(commune_a, f"{role or 'un.parent'}@pickups.alpha.test", role=role)
        return login(client_a, commune_a, user)
    return _login


def may_manage(role) -> bool:
    return role is not None and MANAGE in ROLE_CAPABILITIES[role]


@pytest.mark.parametrize("role", [*Role.values, None])
@pytest.mark.parametrize("url", AGENT_PAGES)
def test_each_agent_page_requires_manage_families(world, as_role, url, role):
    client = as_role(role)
    assert client.get(agent_url(url, world)).status_code == (200 if may_manage(role) else 403)


@pytest.mark.parametrize("role", [*Role.values, None])
@pytest.mark.parametrize("url, data", AGENT_ACTIONS)
def test_each_agent_action_requires_manage_families(world, commune_a, as_role, url, data,
                                                    role):
    client = as_role(role)
    response = client.post(agent_url(url, world), data)
    assert response.status_code == (302 if may_manage(role) else 403)
    with commune_a:
        changed = ActionLog.objects.filter(action__startswith="pickup.",
                                           actor__isnull=False).exists()
    assert changed is may_manage(role)


def test_agent_actions_reject_get(world, as_role):
    client = as_role(Role.SCHOOL_LIFE)
    url = agent_url("/agents/familles/{family}/personnes-autorisees/{pickup}/retirer/", world)
    assert client.get(url).status_code == 405


def test_objects_of_another_household_are_not_reached_through_a_family_url(world, commune_a,
                                                                           as_role):
    client = as_role(Role.ADMINISTRATOR)
    for url, data in AGENT_ACTIONS:  # the Durand household's person, through Martin's URL
        response = client.post(agent_url(url, world, pickup=world.uncle, child=world.tom), data)
        assert response.status_code == 404, url
    with commune_a:
        assert AuthorisedPickup.objects.count() == 2
        assert not ActionLog.objects.filter(action="pickup.added",
                                            actor__isnull=False).exists()


def test_an_agent_of_commune_b_gets_404(world, commune_a, client_b, commune_b):
    agent_b = make_user(commune_b, "agent@beta.test", role=Role.ADMINISTRATOR)
    login(client_b, commune_b, agent_b)
    for url in AGENT_PAGES:
        assert client_b.get(agent_url(url, world)).status_code == 404
    for url, data in AGENT_ACTIONS:
        assert client_b.post(agent_url(url, world), data).status_code == 404
    with commune_a:
        assert AuthorisedPickup.objects.count() == 2


def test_an_agent_adds_edits_and_removes_from_the_family_record(world, commune_a, as_role):
    client = as_role(Role.LEISURE)
    record = f"/agents/familles/{world.martin.pk}/"
    response = client.post(agent_url(AGENT_ACTIONS[0][0], world), AGENT_ACTIONS[0][1])
    assert response.url == record + "#personnes-autorisees"
    with commune_a:
        added = AuthorisedPickup.objects.get(name="Paul Voisin")
    page = client.get(record).content.decode()
    assert f'data-pickup="{added.pk}"' in page and f'data-pickup="{world.granny.pk}"' in page
    assert f'data-pickup="{world.uncle.pk}"' not in page  # the Durand household's list
    client.post(agent_url(AGENT_ACTIONS[1][0], world, pickup=added),
                {"name": "Paul Voisin", "relationship": "voisin", "phone": "0612345679"})
    client.post(agent_url(AGENT_ACTIONS[2][0], world))
    with commune_a:
        assert AuthorisedPickup.objects.get(pk=added.pk).phone == "0612345679"
        assert not AuthorisedPickup.objects.filter(pk=world.granny.pk).exists()


def test_an_invalid_agent_form_shows_the_message_and_writes_nothing(world, commune_a, as_role):
    client = as_role(Role.SCHOOL_LIFE)
    response = client.post(agent_url(AGENT_ACTIONS[0][0], world),
                           {"name": "Josette MARTIN", "relationship": "mamie",
                            "phone": "0600000000"})
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == [str(ERROR_PICKUP_DUPLICATE)]
    with commune_a:
        assert AuthorisedPickup.objects.count() == 2


def test_read_only_agents_see_the_people_but_no_buttons(world, as_role):
    client = as_role(Role.READ_ONLY)
    page = client.get(f"/agents/familles/{world.martin.pk}/").content.decode()
    assert f'data-pickup="{world.granny.pk}"' in page and "personnes-autorisees/" not in page


def test_the_family_page_stays_bounded_with_many_pickups(world, commune_a, as_role,
                                                         max_sql_queries):
    client = as_role(Role.SCHOOL_LIFE)
    with commune_a:
        for number in range(15):
            child = child_add(family=world.martin, first_name=f"Enfant{number}",
                              last_name="Martin", birth_date=date(2017, 1, number + 1),
                              actor=SYSTEM)
            for person in ("Anne", "Bruno"):
                pickup_add(family=world.martin, child=child, name=f"{person} {number}",
                           relationship="voisin", phone="0612345678", actor=SYSTEM)
    with max_sql_queries(16):
        response = client.get(f"/agents/familles/{world.martin.pk}/")
    assert response.content.decode().count("data-pickup=") == 31


def test_the_attendance_list_shows_every_households_pickups(world, commune_a, as_role,
                                                            max_sql_queries):
    client = as_role(Role.LEISURE)
    url = (f"/agents/pointage/?etablissement={world.unit.facility_id}&unite={world.unit.pk}"
           f"&jour={timezone.localdate().isoformat()}")
    with commune_a:
        for number in range(20):
            child = child_add(family=world.durand, first_name=f"Enfant{number}",
                              last_name="Durand", birth_date=date(2017, 1, number + 1),
                              actor=SYSTEM)
            Reservation.objects.create(child=child, unit=world.unit, date=timezone.localdate())
            pickup_add(family=world.durand, child=child, name=f"Voisin {number}",
                       relationship="voisin", phone="0612345678", actor=SYSTEM)
    with max_sql_queries(14):
        body = client.get(url).content.decode()
    card = body.split(f'id="enfant-{world.lea.pk}"')[1].split('class="tap-card')[0]
    assert f'data-pickup="{world.granny.pk}"' in card and f'data-pickup="{world.uncle.pk}"' in card
    assert body.count("data-pickup=") == 22


# -- parent pages ---------------------------------------------------------------------------

def parent_add_url(family, child):
    return f"/famille/foyers/{family.pk}/enfants/{child.pk}/personnes-autorisees/ajouter/"


def parent_remove_url(family, pickup):
    return f"/famille/foyers/{family.pk}/personnes-autorisees/{pickup.pk}/retirer/"


def test_a_parent_adds_and_removes_a_person_for_their_child(world, commune_a, client_a,
                                                           parent_a):
    login(client_a, commune_a, parent_a)
    response = client_a.post(parent_add_url(world.martin, world.lea),
                             {"name": "Paul Voisin", "relationship": "voisin",
                              "phone": "0612345678"})
    assert response.status_code == 302
    assert response.url == f"/famille/#pickups-{world.lea.pk}"
    with commune_a:
        added = AuthorisedPickup.objects.get(name="Paul Voisin")
        entry = ActionLog.objects.get(action="pickup.added", actor=parent_a)
    assert added.family_id == world.martin.pk and entry.changes["pickup_id"] == added.pk
    assert client_a.post(parent_remove_url(world.martin, added)).status_code == 302
    with commune_a:
        assert not AuthorisedPickup.objects.filter(pk=added.pk).exists()
        assert ActionLog.objects.filter(action="pickup.removed", actor=parent_a).count() == 1


def test_each_household_sees_only_its_own_list(world, commune_a, client_a, parent_a,
                                               other_parent_a):
    login(client_a, commune_a, parent_a)
    page = client_a.get("/famille/").content.decode()
    assert f'data-pickup="{world.granny.pk}"' in page
    assert f'data-pickup="{world.uncle.pk}"' not in page and "Marc Durand" not in page
    login(client_a, commune_a, other_parent_a)
    page = client_a.get("/famille/").content.decode()
    assert f'data-pickup="{world.uncle.pk}"' in page and "Josette" not in page


def test_an_invalid_parent_form_shows_the_messages(world, commune_a, client_a, parent_a):
    login(client_a, commune_a, parent_a)
    response = client_a.post(parent_add_url(world.martin, world.lea), {"name": "Paul"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["relationship"] == [str(ERROR_PICKUP_RELATIONSHIP_REQUIRED)]
    assert errors["phone"] == [str(ERROR_PICKUP_PHONE_REQUIRED)]
    with commune_a:
        assert AuthorisedPickup.objects.count() == 2


def test_a_parent_cannot_reach_another_households_children_or_people(world, commune_a,
                                                                      client_a,
                                                                      other_parent_a):
    login(client_a, commune_a, other_parent_a)
    data = {"name": "Intrus", "relationship": "ami", "phone": "0612345678"}
    # Martin's household, Martin's person: not theirs.
    assert client_a.post(parent_add_url(world.martin, world.lea), data).status_code == 404
    assert client_a.post(parent_remove_url(world.martin, world.granny)).status_code == 404
    # Martin's person through their own household's URL: not that household's.
    assert client_a.post(parent_remove_url(world.durand, world.granny)).status_code == 404
    with commune_a:
        assert AuthorisedPickup.objects.count() == 2


def test_a_child_not_in_the_household_is_a_404(world, commune_a, client_a, parent_a):
    login(client_a, commune_a, parent_a)
    response = client_a.post(parent_add_url(world.martin, world.tom),
                             {"name": "Intrus", "relationship": "ami", "phone": "0612345678"})
    assert response.status_code == 404


def test_parent_pages_refuse_agents_visitors_and_get_on_remove(world, commune_a, client_a,
                                                               parent_a):
    add, remove = parent_add_url(world.martin, world.lea), parent_remove_url(world.martin,
                                                                             world.granny)
    for url in (add, remove):
        response = client_a.post(url)
        assert response.status_code == 302 and response.url.startswith("/connexion/")
    login(client_a, commune_a, make_user(commune_a, "agent@alpha.test", role=Role.SCHOOL_LIFE))
    assert client_a.get(add).status_code == 403 and client_a.post(remove).status_code == 403
    login(client_a, commune_a, parent_a)
    assert client_a.get(remove).status_code == 405
    assert client_a.get(add).status_code == 200


def test_a_parent_of_commune_b_gets_404(world, commune_a, client_b, commune_b, parent_b):
    login(client_b, commune_b, parent_b)
    assert client_b.get(parent_add_url(world.martin, world.lea)).status_code == 404
    assert client_b.post(parent_remove_url(world.martin, world.granny)).status_code == 404
    with commune_a:
        assert AuthorisedPickup.objects.count() == 2


def test_the_parent_home_stays_bounded_with_pickups(world, commune_a, client_a, parent_a,
                                                    max_sql_queries):
    with commune_a:
        for number in range(6):
            child = child_add(family=world.martin, first_name=f"Enfant{number}",
                              last_name="Martin", birth_date=date(2017, 1, number + 1),
                              actor=SYSTEM)
            pickup_add(family=world.martin, child=child, name=f"Voisin {number}",
                       relationship="voisin", phone="0612345678", actor=SYSTEM)
    login(client_a, commune_a, parent_a)
    with max_sql_queries(8):
        body = client_a.get("/famille/").content.decode()
    assert body.count("data-pickup=") == 7
