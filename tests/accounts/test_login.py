"""Login, throttling, password reset and one-time activation links."""

import re

from django.contrib.auth.hashers import identify_hasher
from django.test import override_settings

from accounts.services import activation_url
from core.models import ActionLog
from tests.conftest import PASSWORD, make_user

NEW_PASSWORD = "Un-nouveau-mot-de-passe-2026"


def test_a_parent_logs_in_with_email_and_password(client_a, parent_a):
    response = client_a.post("/connexion/", {"username": "PARENT@alpha.test",
                                             "password": PASSWORD})
    assert response.status_code == 302
    assert client_a.get("/famille/").status_code == 200


def test_the_login_page_is_in_french_and_accessible(client_a):
    body = client_a.get("/connexion/").content.decode()
    assert '<html lang="fr">' in body
    assert '<label for="id_username">Adresse e-mail' in body
    assert 'name="viewport"' in body and 'href="#contenu"' in body


def test_repeated_failures_lock_the_account_even_with_the_right_password(client_a, parent_a):
    for _ in range(5):
        client_a.post("/connexion/", {"username": parent_a.email, "password": "mauvais"})
    response = client_a.post("/connexion/", {"username": parent_a.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Trop de tentatives" in response.content.decode()
    assert "_auth_user_id" not in client_a.session


def test_a_lockout_in_commune_a_does_not_lock_the_same_address_in_b(client_a, client_b,
                                                                    commune_b, parent_a):
    make_user(commune_b, parent_a.email)
    for _ in range(5):
        client_a.post("/connexion/", {"username": parent_a.email, "password": "mauvais"})
    response = client_b.post("/connexion/", {"username": parent_a.email, "password": PASSWORD})
    assert response.status_code == 302


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.Argon2PasswordHasher"])
def test_passwords_are_hashed_with_argon2(commune_a):
    user = make_user(commune_a, "argon@alpha.test")
    assert identify_hasher(user.password).algorithm == "argon2"


def test_password_reset_by_email_works_once_on_the_communes_host(client_a, commune_a, parent_a,
                                                                 mailoutbox):
    response = client_a.post("/mot-de-passe/oubli/", {"email": parent_a.email})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    link = re.search(r"http://alpha\.parvis\.test/mot-de-passe/\S+/", mailoutbox[0].body).group(0)
    path = link.replace("http://alpha.parvis.test", "")
    form_page = client_a.get(path, follow=True)
    assert form_page.status_code == 200
    done = client_a.post(form_page.redirect_chain[-1][0],
                         {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert client_a.post("/connexion/", {"username": parent_a.email,
                                         "password": NEW_PASSWORD}).status_code == 302
    client_a.logout()
    again = client_a.get(path, follow=True)
    assert "invalide ou a déjà été utilisé" in again.content.decode()
    with commune_a:
        assert ActionLog.objects.filter(action="account.password_reset",
                                        actor_label=parent_a.email).exists()


def test_password_reset_sends_nothing_for_an_account_of_another_commune(client_b, parent_a,
                                                                        mailoutbox):
    client_b.post("/mot-de-passe/oubli/", {"email": parent_a.email})
    assert mailoutbox == []


def test_the_activation_link_sets_the_password_once(client_a, commune_a):
    with commune_a:
        from accounts.models import AccountType, User

        agent = User.objects.create_user(email="nouvel.agent@alpha.test",
                                         account_type=AccountType.AGENT)
        agent.set_unusable_password()
        agent.save()
        url = activation_url(user=agent, base_url="http://alpha.parvis.test")
    path = url.replace("http://alpha.parvis.test", "")
    page = client_a.get(path, follow=True)
    assert "Activez votre compte" in page.content.decode()
    response = client_a.post(page.redirect_chain[-1][0],
                             {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    with commune_a:
        agent.refresh_from_db()
        assert agent.check_password(NEW_PASSWORD)
        assert ActionLog.objects.filter(action="account.activation").exists()
    reused = client_a.get(path, follow=True)
    assert "invalide ou a déjà été utilisé" in reused.content.decode()
