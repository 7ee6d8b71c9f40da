"""A commune's Stripe keys: set by the vendor or the commune's administrator, encrypted
at rest, never shown back in full, validated with French messages."""

import pytest
from django.db import connection
from django.urls import reverse

from accounts.roles import Role
from core.crypto import secret_decrypt, secret_encrypt, secret_mask
from core.models import ActionLog
from tenants.models import PaymentSettings
from tests.conftest import login, make_user

KEYS = {"enabled": "on", "publishable_key": "pk_test_abc123",
        "secret_key": "sk_test_TresSecret9876", "webhook_secret": "whsec_Signature5432"}


def test_secrets_are_encrypted_and_masked():
    token = secret_encrypt("sk_live_abcdef1234")
    assert "abcdef" not in token and secret_decrypt(token) == "sk_live_abcdef1234"
    assert secret_mask("sk_live_abcdef1234") == "sk_live_…1234"
    assert secret_mask("whsec_abcdef1234") == "…1234"


def test_the_vendor_sets_a_communes_keys_from_the_console(vendor_client, vendor, commune_a):
    login(vendor_client, None, vendor)
    url = reverse("commune_payment_settings", args=[commune_a.pk],
                  urlconf="config.urls_public")
    assert vendor_client.post(url, KEYS).status_code == 302
    row = PaymentSettings.objects.get(commune=commune_a)
    assert row.is_ready and row.secret_key == KEYS["secret_key"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_key_encrypted || webhook_secret_encrypted "
                       "FROM tenants_paymentsettings")
        stored = cursor.fetchone()[0]
    assert "TresSecret" not in stored and "Signature5432" not in stored
    page = vendor_client.get(url).content.decode()
    assert "sk_test_…9876" in page and "TresSecret" not in page and "Signature" not in page
    assert ActionLog.objects.filter(action="commune.payment_settings").exists()
    with commune_a:
        entry = ActionLog.objects.get(action="commune.payment_settings")
        assert "TresSecret" not in str(entry.changes)
    # A blank secret keeps the stored one.
    vendor_client.post(url, {**KEYS, "secret_key": "", "webhook_secret": ""})
    assert PaymentSettings.objects.get(commune=commune_a).secret_key == KEYS["secret_key"]


@pytest.mark.parametrize("field, value, message", [
    ("publishable_key", "sk_test_oops", "pk_test_"),
    ("secret_key", "pk_test_oops", "sk_test_"),
    ("webhook_secret", "secret", "whsec_"),
    ("secret_key", "sk_live_mixed", "même mode"),
])
def test_bad_keys_get_a_french_message_and_nothing_is_saved(
        client_a, commune_a, field, value, message):
    admin = make_user(commune_a, "admin@alpha.test", role=Role.ADMINISTRATOR)
    login(client_a, commune_a, admin)
    response = client_a.post(reverse("payments:online_settings"), {**KEYS, field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not PaymentSettings.objects.filter(commune=commune_a).exists()


def test_enabling_needs_every_key(client_a, commune_a):
    admin = make_user(commune_a, "admin@alpha.test", role=Role.ADMINISTRATOR)
    login(client_a, commune_a, admin)
    response = client_a.post(reverse("payments:online_settings"),
                             {"enabled": "on", "publishable_key": "pk_test_x"})
    assert "clé secrète" in response.content.decode()
    assert not PaymentSettings.objects.filter(commune=commune_a).exists()


@pytest.mark.parametrize("role, status", [
    (Role.ADMINISTRATOR, 200), (Role.FINANCE, 403), (Role.SCHOOL_LIFE, 403),
    (Role.READ_ONLY, 403), (None, 403)])
def test_only_the_administrator_sees_the_settings(client_a, commune_a, role, status):
    user = make_user(commune_a, "someone@alpha.test", role=role)
    login(client_a, commune_a, user)
    assert client_a.get(reverse("payments:online_settings")).status_code == status


@pytest.mark.parametrize("role, status", [
    (Role.FINANCE, 200), (Role.ADMINISTRATOR, 200), (Role.SCHOOL_LIFE, 403), (None, 403)])
def test_only_finance_staff_see_the_card_payments_page(client_a, commune_a, role, status):
    user = make_user(commune_a, "someone@alpha.test", role=role)
    login(client_a, commune_a, user)
    assert client_a.get(reverse("payments:card_payments")).status_code == status


def test_an_administrator_of_another_commune_cannot_change_these_keys(
        client_b, commune_a, commune_b):
    admin_b = make_user(commune_b, "admin@beta.test", role=Role.ADMINISTRATOR)
    login(client_b, commune_b, admin_b)
    client_b.post(reverse("payments:online_settings"), KEYS)
    assert not PaymentSettings.objects.filter(commune=commune_a).exists()
    assert PaymentSettings.objects.get(commune=commune_b).publishable_key == "pk_test_abc123"
