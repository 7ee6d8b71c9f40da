"""Agent pages: the permission matrix of every page and action.

Assertions are on data, status codes and ``data-*`` attributes, never on translated text.
"""


import pytest

from accounts.roles import ROLE_CAPABILITIES, Capability, Role
from portal.models import Child, Family, FamilyDocument
from portal.services.families import family_create
from tests.conftest import login, make_user
from tests.portal.agent_world import SYSTEM, fill

VIEW = Capability.VIEW_FAMILIES
MANAGE = Capability.MANAGE_FAMILIES
ATTENDANCE = Capability.TAKE_ATTENDANCE
JOURNAL = Capability.VIEW_JOURNAL

# (url template, capability) of every page answering GET.
PAGES = [
    ("/agents/tableau-de-bord/", VIEW),
    ("/agents/documents-a-valider/", VIEW),
    ("/agents/absences-a-examiner/", VIEW),
    ("/agents/familles/?q=lefevre", VIEW),
    ("/agents/familles/nouvelle/", MANAGE),
    ("/agents/familles/{family}/", VIEW),
    ("/agents/familles/{family}/modifier/", MANAGE),
    ("/agents/familles/{family}/responsables/ajouter/", MANAGE),
    ("/agents/familles/{family}/responsables/fusion/", MANAGE),
    ("/agents/familles/{family}/responsables/{guardian}/modifier/", MANAGE),
    ("/agents/familles/{family}/enfants/ajouter/", MANAGE),
    ("/agents/fusion/enfants/?q=lea", MANAGE),
    ("/agents/pointage/?unite={unit}", ATTENDANCE),
    ("/agents/journal/?famille={family}", JOURNAL),
]
# (url template, capability, a valid POST body) of every POST-only action.
ACTIONS = [
    ("/agents/familles/{family}/responsables/{guardian}/inviter/", MANAGE, {}),
    ("/agents/familles/{family}/documents/{document}/examen/", MANAGE, {"decision": "yes"}),
    ("/agents/familles/{family}/absences/{absence}/examen/", MANAGE, {"decision": "no"}),
    ("/agents/pointage/enregistrer/", ATTENDANCE,
     {"unite": "{unit}", "jour": "{today}", "enfant": "{child}", "present": "1"}),
]
ACTORS = [*Role.values, None]  # None: a parent


def may(role, capability) -> bool:
    return role is not None and capability in ROLE_CAPABILITIES[role]


# -- the permission matrix ------------------------------------------------------------------

@pytest.mark.parametrize("role", ACTORS)
@pytest.mark.parametrize("url, capability", PAGES)
def test_each_page_requires_its_capability(world, as_actor, client_a, url, capability, role):
    as_actor(role)
    response = client_a.get(fill(url, world))
    assert response.status_code == (200 if may(role, capability) else 403)


@pytest.mark.parametrize("role", ACTORS)
@pytest.mark.parametrize("url, capability, body", ACTIONS)
def test_each_action_requires_its_capability(world, as_actor, client_a, url, capability, body,
                                             role):
    as_actor(role)
    data = {key: fill(value, world) for key, value in body.items()}
    response = client_a.post(fill(url, world), data)
    assert response.status_code == (302 if may(role, capability) else 403)


@pytest.mark.parametrize("url", [url for url, _cap in PAGES] + [url for url, *_ in ACTIONS])
def test_it_requires_login(world, client_a, url):
    response = client_a.get(fill(url, world))
    assert response.status_code == 302 and response.url.startswith("/connexion/")


@pytest.mark.parametrize("url", [url for url, *_ in ACTIONS])
def test_actions_reject_get(world, as_actor, client_a, url):
    as_actor(Role.ADMINISTRATOR)
    assert client_a.get(fill(url, world)).status_code == 405


@pytest.mark.parametrize("url", [
    "/agents/familles/{family}/", "/agents/familles/{family}/modifier/",
    "/agents/familles/{family}/enfants/ajouter/",
    "/agents/familles/{family}/responsables/{guardian}/modifier/",
    "/agents/fusion/enfants/?keep={child}&remove={child}",
])
def test_an_agent_of_commune_b_cannot_reach_a_family_of_a(world, client_b, commune_b, url):
    with commune_b:
        assert not Family.objects.filter(pk=world["family"].pk).exists()
        assert not Child.objects.filter(pk=world["child"].pk).exists()
    agent_b = make_user(commune_b, "agent@beta.test", role=Role.ADMINISTRATOR)
    login(client_b, commune_b, agent_b)
    assert client_b.get(fill(url, world)).status_code == 404


def test_an_agent_of_commune_b_cannot_review_a_document_of_a(world, client_b, commune_b):
    agent_b = make_user(commune_b, "agent@beta.test", role=Role.ADMINISTRATOR)
    login(client_b, commune_b, agent_b)
    response = client_b.post(fill("/agents/familles/{family}/documents/{document}/examen/",
                                  world), {"decision": "yes"})
    assert response.status_code == 404


def test_objects_of_another_family_are_not_reached_through_a_family_url(world, commune_a,
                                                                        as_actor, client_a):
    with commune_a:
        other = family_create(name="Autre", actor=SYSTEM)
    as_actor(Role.ADMINISTRATOR)
    for url in ("/agents/familles/{other}/documents/{document}/examen/",
                "/agents/familles/{other}/absences/{absence}/examen/",
                "/agents/familles/{other}/responsables/{guardian}/inviter/",
                "/agents/familles/{other}/responsables/{guardian}/modifier/"):
        response = client_a.post(fill(url, {**world, "other": other}), {"decision": "yes"})
        assert response.status_code == 404
    with commune_a:
        assert FamilyDocument.objects.get().status == FamilyDocument.Status.PENDING


def test_an_unknown_family_is_a_404(as_actor, client_a):
    as_actor(Role.ADMINISTRATOR)
    assert client_a.get("/agents/familles/999999/").status_code == 404
