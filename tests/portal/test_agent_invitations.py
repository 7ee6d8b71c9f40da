"""Agent pages: inviting a guardian to the parent portal.

Assertions are on data, status codes and ``data-*`` attributes, never on translated text.
"""

import re

from accounts.models import AccountType, User
from accounts.roles import Role
from core.models import ActionLog
from portal.models import Guardian
from portal.services.families import guardian_add
from tests.conftest import PASSWORD
from tests.portal.agent_world import SYSTEM, fill

# -- guardian invitation --------------------------------------------------------------------

def test_inviting_a_guardian_creates_the_account_and_the_link_works(
        world, commune_a, as_actor, client_a, mailoutbox, django_capture_on_commit_callbacks):
    as_actor(Role.SCHOOL_LIFE)
    url = fill("/agents/familles/{family}/responsables/{guardian}/inviter/", world)
    with django_capture_on_commit_callbacks(execute=True):
        assert client_a.post(url).status_code == 302
    with commune_a:
        guardian = Guardian.objects.select_related("user").get(pk=world["guardian"].pk)
        user = guardian.user
        assert user.email == "paul.lefevre@example.fr"
        assert user.account_type == AccountType.PARENT and not user.has_usable_password()
        entry = ActionLog.objects.get(action="guardian.invited")
        assert entry.changes["family_ids"] == [world["family"].pk]
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["paul.lefevre@example.fr"]
    path = re.search(r"https?://alpha\.parvis\.test(?::\d+)?(/activation/\S+)",
                     mailoutbox[0].body).group(1)

    client_a.logout()
    page = client_a.get(path, follow=True)
    assert page.status_code == 200 and page.context["validlink"]
    new_password = "un-mot-de-passe-de-parent-9"
    response = client_a.post(page.redirect_chain[-1][0],
                             {"new_password1": new_password, "new_password2": new_password})
    assert response.status_code == 302
    logged = client_a.post("/connexion/", {"username": "paul.lefevre@example.fr",
                                           "password": new_password})
    assert logged.status_code == 302
    home = client_a.get("/famille/")
    assert home.status_code == 200 and "Lefèvre" in home.content.decode()


def test_inviting_again_before_activation_resends_a_link(
        world, commune_a, as_actor, client_a, mailoutbox, django_capture_on_commit_callbacks):
    as_actor(Role.SCHOOL_LIFE)
    url = fill("/agents/familles/{family}/responsables/{guardian}/inviter/", world)
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post(url)
        client_a.post(url)
    assert len(mailoutbox) == 2
    with commune_a:
        assert User.objects.filter(email="paul.lefevre@example.fr").count() == 1
        assert ActionLog.objects.filter(action="guardian.invitation_resent").count() == 1


def test_an_activated_guardian_is_not_invited_again(world, commune_a, as_actor, client_a,
                                                    mailoutbox,
                                                    django_capture_on_commit_callbacks):
    with commune_a:
        guardian = world["guardian"]
        guardian.user = User.objects.create_user(email="paul.lefevre@example.fr",
                                                 password=PASSWORD)
        guardian.save()
    as_actor(Role.SCHOOL_LIFE)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(fill(
            "/agents/familles/{family}/responsables/{guardian}/inviter/", world), follow=True)
    assert response.status_code == 200 and mailoutbox == []
    assert [m.level_tag for m in response.context["messages"]] == ["error"]


def test_a_guardian_without_email_cannot_be_invited(world, commune_a, as_actor, client_a,
                                                    mailoutbox):
    with commune_a:
        guardian = guardian_add(family=world["family"], first_name="Sans", last_name="Mail",
                                actor=SYSTEM)
    as_actor(Role.SCHOOL_LIFE)
    client_a.post(f"/agents/familles/{world['family'].pk}/responsables/{guardian.pk}/inviter/")
    with commune_a:
        assert Guardian.objects.get(pk=guardian.pk).user is None
    assert mailoutbox == []
