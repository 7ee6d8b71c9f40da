"""The permission matrix: every role against every agent page."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.roles import ROLE_CAPABILITIES, Capability, Role
from accounts.services import stored_file_create
from core.journal import Actor
from core.models import ActionLog
from tests.conftest import login, make_user

MAY_MANAGE_AGENTS = {Role.ADMINISTRATOR}
MAY_READ_JOURNAL = {Role.ADMINISTRATOR, Role.SCHOOL_LIFE, Role.LEISURE, Role.EARLY_CHILDHOOD,
                    Role.FINANCE, Role.READ_ONLY}


@pytest.fixture
def as_role(client_a, commune_a):
    def _login(role):
        user = make_user(commune_a, f"{role or 'un.parent'}@alpha.test", role=role)
        login(client_a, commune_a, user)
        return user
    return _login


@pytest.mark.parametrize("role", [*Role.values, None])
def test_agents_page_permission(as_role, client_a, role):
    as_role(role)
    expected = 200 if role in MAY_MANAGE_AGENTS else 403
    assert client_a.get("/agents/").status_code == expected


@pytest.mark.parametrize("role", [*Role.values, None])
def test_journal_page_permission(as_role, client_a, role):
    as_role(role)
    expected = 200 if role in MAY_READ_JOURNAL else 403
    assert client_a.get("/journal/").status_code == expected


@pytest.mark.parametrize("role", [*Role.values, None])
def test_reading_another_users_document(as_role, client_a, commune_a, parent_a, role, media_root):
    with commune_a:
        stored = stored_file_create(owner=parent_a, actor=Actor.system(),
                                    uploaded=SimpleUploadedFile("qf.pdf", b"%PDF-1.4 x"))
    as_role(role)
    readers = {r for r, caps in ROLE_CAPABILITIES.items() if Capability.VIEW_FAMILIES in caps}
    expected = 200 if role in readers else 404
    assert client_a.get(f"/fichiers/{stored.uuid}/").status_code == expected


@pytest.mark.parametrize("url", ["/", "/agents/", "/journal/", "/documents/"])
def test_it_requires_login(client_a, url):
    response = client_a.get(url)
    assert response.status_code == 302 and response.url.startswith("/connexion/")


def test_each_role_group_carries_exactly_its_capabilities(commune_a):
    from django.contrib.auth.models import Group

    with commune_a:
        for role, capabilities in ROLE_CAPABILITIES.items():
            codenames = set(Group.objects.get(name=role).permissions.values_list(
                "codename", flat=True))
            assert codenames == {str(c) for c in capabilities}


def test_an_administrator_invites_an_agent(client_a, commune_a, admin_a, mailoutbox,
                                           django_capture_on_commit_callbacks):
    login(client_a, commune_a, admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post("/agents/", {"email": "Regie@Alpha.test", "first_name": "Rémi",
                                              "last_name": "Caron", "role": Role.FINANCE})
    assert response.status_code == 302
    assert "http://alpha.parvis.test" in mailoutbox[0].body and "/activation/" in mailoutbox[0].body
    with commune_a:
        entry = ActionLog.objects.get(action="agent.created")
        assert entry.actor_label == admin_a.email and entry.actor_role == Role.ADMINISTRATOR
        assert entry.ip_address == "127.0.0.1"


def test_inviting_an_existing_email_is_refused_in_french(client_a, commune_a, admin_a):
    login(client_a, commune_a, admin_a)
    response = client_a.post("/agents/", {"email": admin_a.email, "first_name": "A",
                                          "last_name": "B", "role": Role.LEISURE})
    assert response.status_code == 200
    assert "Un compte existe déjà avec cette adresse e-mail." in response.content.decode()


def test_agents_page_rejects_other_methods(as_role, client_a):
    as_role(Role.ADMINISTRATOR)
    assert client_a.delete("/agents/").status_code == 405
