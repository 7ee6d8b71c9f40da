"""Agent pages: merging duplicate children and guardians.

Assertions are on data, status codes and ``data-*`` attributes, never on translated text.
"""

from datetime import date

from accounts.roles import Role
from core.models import ActionLog
from portal.models import Child, Guardian
from portal.services.families import child_add, family_create, guardian_add
from tests.portal.agent_world import SYSTEM, fill
from tests.portal.factories import make_child

# -- merges ---------------------------------------------------------------------------------

def test_merging_two_children_through_the_page(world, commune_a, as_actor, client_a):
    with commune_a:
        other = family_create(name="Martin", actor=SYSTEM)
        duplicate = child_add(family=other, first_name="Lea", last_name="Lefevre",
                              birth_date=date(2018, 5, 5), actor=SYSTEM)
    as_actor(Role.SCHOOL_LIFE)
    keep = world["child"]
    candidates = client_a.get("/agents/fusion/enfants/?q=lefevre lea").content.decode()
    assert f'data-child="{keep.pk}"' in candidates and f'data-child="{duplicate.pk}"' in candidates
    compare = client_a.get(f"/agents/fusion/enfants/?keep={keep.pk}&remove={duplicate.pk}")
    assert compare.status_code == 200 and compare.context["remove"] == duplicate
    response = client_a.post("/agents/fusion/enfants/", {"keep": keep.pk,
                                                         "remove": duplicate.pk})
    assert response.status_code == 302
    with commune_a:
        assert not Child.objects.filter(pk=duplicate.pk).exists()
        assert set(Child.objects.get(pk=keep.pk).families.all()) == {world["family"], other}
        assert ActionLog.objects.filter(action="child.merged").count() == 1


def test_merging_a_child_into_itself_is_refused(world, as_actor, client_a):
    as_actor(Role.SCHOOL_LIFE)
    pk = world["child"].pk
    assert client_a.post("/agents/fusion/enfants/", {"keep": pk, "remove": pk}).status_code == 400


def test_the_merge_page_lists_namesakes(world, commune_a, as_actor, client_a):
    with commune_a:
        twin = make_child("Léa", "Lefèvre", birth_date=date(2018, 4, 5))
    as_actor(Role.SCHOOL_LIFE)
    response = client_a.get("/agents/fusion/enfants/")
    assert {c.pk for c in response.context["namesakes"]} == {world["child"].pk, twin.pk}


def test_merging_two_guardians_through_the_page(world, commune_a, as_actor, client_a):
    with commune_a:
        duplicate = guardian_add(family=world["family"], first_name="Paul", last_name="Lefevre",
                                 phone="0476000000", actor=SYSTEM)
    as_actor(Role.LEISURE)
    url = fill("/agents/familles/{family}/responsables/fusion/", world)
    response = client_a.post(url, {"keep": world["guardian"].pk, "remove": duplicate.pk})
    assert response.status_code == 302
    with commune_a:
        assert list(Guardian.objects.filter(family=world["family"])) == [world["guardian"]]
        assert ActionLog.objects.filter(action="guardian.merged").count() == 1


def test_a_guardian_of_another_family_is_not_offered_for_merging(world, commune_a, as_actor,
                                                                  client_a):
    with commune_a:
        other = family_create(name="Autre", actor=SYSTEM)
        stranger = guardian_add(family=other, first_name="Zoé", last_name="Autre", actor=SYSTEM)
    as_actor(Role.LEISURE)
    response = client_a.post(fill("/agents/familles/{family}/responsables/fusion/", world),
                             {"keep": world["guardian"].pk, "remove": stranger.pk})
    assert response.status_code == 200 and response.context["form"].errors["remove"]
    with commune_a:
        assert Guardian.objects.filter(pk=stranger.pk).exists()
