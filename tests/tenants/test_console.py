"""The vendor console: operators only, list with figures, onboarding form, suspension."""

import pytest
from django.urls import reverse

from tenants.models import Commune, CommuneStatus
from tests.conftest import PASSWORD, login


def test_it_requires_a_login(vendor_client):
    response = vendor_client.get("/")
    assert response.status_code == 302 and "/connexion/" in response.url


def test_a_commune_account_does_not_exist_on_the_console(vendor_client, admin_a):
    response = vendor_client.post("/connexion/", {"username": admin_a.email,
                                                  "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in vendor_client.session


def test_it_lists_communes_with_their_figures(vendor_client, vendor, admin_a, parent_a,
                                              django_assert_max_num_queries):
    login(vendor_client, None, vendor)
    # 6 queries (each preceded by SET search_path), whatever the number of communes.
    with django_assert_max_num_queries(12):
        response = vendor_client.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Alpha-sur-Isère" in body and "Bêta-les-Bains" in body
    alpha = next(c for c in response.context["communes"] if c.schema_name == "alpha")
    assert alpha.figures["agents"] == 1 and alpha.figures["parents"] == 1
    assert "modele" not in [c.schema_name for c in response.context["communes"]]


def test_the_form_onboards_a_commune(vendor_client, vendor):
    login(vendor_client, None, vendor)
    response = vendor_client.post(reverse("onboard", urlconf="config.urls_public"), {
        "name": "Seyssinet-Pariset", "slug": "seyssinet", "domain": "seyssinet.parvis.test",
        "insee": "38485", "siret": "", "admin_email": "dgs@seyssinet.fr", "template": "standard",
    })
    assert response.status_code == 302
    assert Commune.objects.filter(schema_name="seyssinet").exists()


def test_the_form_shows_french_errors_and_creates_nothing(vendor_client, vendor):
    login(vendor_client, None, vendor)
    count = Commune.objects.count()
    response = vendor_client.post("/communes/nouvelle/", {
        "name": "Doublon", "slug": "alpha", "domain": "alpha.parvis.test", "insee": "123",
        "template": "standard",
    })
    assert response.status_code == 200
    body = response.content.decode()
    assert "Une commune utilise déjà cet identifiant." in body
    assert "Un code INSEE comporte 5 caractères" in body
    assert Commune.objects.count() == count


@pytest.mark.parametrize("url", ["/communes/1/suspendre/", "/communes/1/reactiver/"])
def test_status_changes_reject_get(vendor_client, vendor, url):
    login(vendor_client, None, vendor)
    assert vendor_client.get(url).status_code == 405


def test_suspending_shows_maintenance_and_blocks_login(vendor_client, vendor, client_a,
                                                       commune_a, parent_a):
    login(client_a, commune_a, parent_a)
    login(vendor_client, None, vendor)
    response = vendor_client.post(f"/communes/{commune_a.pk}/suspendre/", {"reason": "impayé"})
    assert response.status_code == 302
    assert Commune.objects.get(pk=commune_a.pk).status == CommuneStatus.SUSPENDED

    page = client_a.get("/famille/")  # even with a valid session
    assert page.status_code == 503
    assert "Service momentanément indisponible" in page.content.decode()
    fresh = type(client_a)(HTTP_HOST="alpha.parvis.test")
    attempt = fresh.post("/connexion/", {"username": parent_a.email, "password": PASSWORD})
    assert attempt.status_code == 503 and "_auth_user_id" not in fresh.session
    assert fresh.get("/healthz").status_code == 200  # probes still answer

    vendor_client.post(f"/communes/{commune_a.pk}/reactiver/")
    assert client_a.get("/famille/").status_code == 200
    with commune_a:
        from core.models import ActionLog
        actions = list(ActionLog.objects.values_list("action", flat=True)[:2])
    assert actions == ["commune.reactivated", "commune.suspended"]


def test_a_commune_agent_cannot_use_the_console_even_with_a_forged_session(
        vendor_client, client_a, commune_a, admin_a):
    login(client_a, commune_a, admin_a)
    vendor_client.cookies = client_a.cookies
    assert vendor_client.get("/").status_code == 302
