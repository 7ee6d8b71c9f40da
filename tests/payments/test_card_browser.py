"""Card payments end to end on a live server: a parent pays an invoice (through the API as
Stripe.js would, then in a phone's browser with localstripe's fake card form), and
localstripe's own signed webhook reaches the server and is applied by a real Celery
worker thread.

Committed data (a throwaway commune, dropped afterwards); localstripe is the session's
(``fake_stripe_base``), its webhook registrations are global, so the one made here is
pointed back to nothing at the end.
"""

import re
import time
from datetime import date
from types import SimpleNamespace

import pytest
import requests
import time_machine
from celery.contrib.testing.worker import start_worker
from django.db import connection

from config.celery import app
from core.journal import Actor
from core.models import ActionLog
from payments.models import EventStatus, WebhookEvent
from portal.models import Guardian
from tenants.models import Domain
from tenants.services import payment_settings_update
from tests.browser import (
    PHONE,
    french,
    horizontal_overflow,
    live_server,
    phone_browser,
    require_test_database,
    skip_without_browser,
)
from tests.committed import throwaway_commune
from tests.conftest import PASSWORD, make_user
from tests.payments.conftest import issue_month
from tests.payments.stripe_fake import (
    PUBLISHABLE,
    SECRET_A,
    WEBHOOK_A,
    browser_confirms_setup,
)
from tests.treasury.factories import book, make_household, make_priced_unit, weekdays
from treasury.models import Invoice, Payment
from treasury.pricing import format_cents
from treasury.selectors import invoices_with_state

SLUG = "cartes"
PARENT = "parent@cartes.test"
HOOK_ID = "parvis-card-browser"
INTENT_EVENTS = ["payment_intent.succeeded", "payment_intent.payment_failed",
                 "payment_intent.canceled", "payment_intent.processing",
                 "payment_intent.requires_action"]


@pytest.fixture
def card_site(request, django_db_blocker, fake_stripe):
    """A commune taking card payments, the Martin household (parent linked) with its
    February invoice issued (9,60 €), a Celery worker thread and a live server."""
    skip_without_browser()
    require_test_database(request)
    with throwaway_commune(django_db_blocker, SLUG) as commune:
        with django_db_blocker.unblock():
            payment_settings_update(commune=commune, actor=Actor.system("tests"),
                                    enabled=True, publishable_key=PUBLISHABLE,
                                    secret_key=SECRET_A, webhook_secret=WEBHOOK_A)
            parent = make_user(commune, PARENT)
            with commune:
                unit = make_priced_unit()
                family, (lea,) = make_household()
                Guardian.objects.filter(family=family).update(user=parent)
                book(lea, unit, weekdays(date(2026, 2, 2), 3))
                with time_machine.travel("2026-03-03 10:00 +01:00", tick=False):
                    issue_month(date(2026, 2, 1))
                invoice = Invoice.objects.get()
            connection.set_schema_to_public()
            app.control.purge()  # only this test's tasks for the worker below
        with django_db_blocker.unblock(), start_worker(app, pool="solo",
                                                       perform_ping_check=False,
                                                       shutdown_timeout=10), \
                live_server() as server:
            try:
                yield SimpleNamespace(commune=commune, family=family, invoice=invoice,
                                      port=server.port, stripe=fake_stripe,
                                      url=f"http://{SLUG}.parvis.test:{server.port}")
            finally:
                connection.set_schema_to_public()
        with django_db_blocker.unblock():
            app.control.purge()  # no task of this commune outlives its schema


def remaining(site) -> int:
    with site.commune:
        return invoices_with_state(Invoice.objects.filter(pk=site.invoice.pk)
                                   ).get().remaining_cents


def until(check, seconds=45.0):
    """Poll ``check`` (committed data written by other threads) until it holds."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def register_webhook(base, url, events):
    requests.post(f"{base}/_config/webhooks/{HOOK_ID}", timeout=10, data=[
        ("url", url), ("secret", WEBHOOK_A), *(("events[]", kind) for kind in events)],
    ).raise_for_status()


@pytest.fixture
def loopback_webhook(card_site, django_db_blocker):
    """localstripe delivers to http://127.0.0.1:<port>/...: that host is the commune's
    for this test; afterwards the registration sends nothing anywhere."""
    with django_db_blocker.unblock():
        loopback = Domain.objects.create(domain="127.0.0.1", tenant=card_site.commune,
                                         is_primary=False)
    try:
        register_webhook(card_site.stripe,
                         f"http://127.0.0.1:{card_site.port}/paiement/stripe/webhook/",
                         INTENT_EVENTS)
        yield f"http://127.0.0.1:{card_site.port}"
    finally:
        register_webhook(card_site.stripe, "http://127.0.0.1:9/nowhere/",
                         ["parvis.never_sent"])
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            loopback.delete()


def test_end_to_end_pay_then_the_signed_webhook_arrives_on_the_live_server(
        card_site, loopback_webhook):
    site, url = card_site, loopback_webhook
    browser = requests.Session()
    login_page = browser.get(f"{url}/connexion/", timeout=10).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page)[1]
    logged_in = browser.post(f"{url}/connexion/", timeout=10, data={
        "csrfmiddlewaretoken": token, "username": PARENT, "password": PASSWORD})
    assert logged_in.status_code == 200 and "parvis_session" in browser.cookies
    pay_page = browser.get(f"{url}/paiement/familles/{site.family.pk}/", timeout=10)
    assert pay_page.status_code == 200 and site.invoice.number in pay_page.text
    csrf = {"X-CSRFToken": re.search(r'data-csrf="([^"]+)"', pay_page.text)[1]}
    prepared = browser.post(f"{url}/paiement/familles/{site.family.pk}/preparer/",
                            json={"invoices": [str(site.invoice.pk)]}, headers=csrf,
                            timeout=30).json()
    assert prepared["amount_cents"] == 960, prepared
    setup = browser_confirms_setup(site.stripe, prepared["client_secret"])
    assert setup["status"] == "succeeded", setup
    confirmed = browser.post(url + prepared["confirm_url"], json={"setup_intent": setup["id"]},
                             headers=csrf, timeout=30).json()
    assert confirmed["status"] == "succeeded", confirmed

    def webhook_applied():
        with site.commune:
            return WebhookEvent.objects.filter(type="payment_intent.succeeded",
                                               status=EventStatus.PROCESSED).exists()

    assert until(webhook_applied), "localstripe's signed event was not stored and processed"
    assert remaining(site) == 0
    with site.commune:
        event = WebhookEvent.objects.get(type="payment_intent.succeeded")
        payment = Payment.objects.get()  # the event found the money already recorded
        assert event.object_id == payment.reference and event.attempts == 1
        assert ActionLog.objects.filter(action="payments.attempt_succeeded").count() == 1
    result = browser.get(url + confirmed["result_url"], timeout=10).text
    assert payment.receipt_number in result


def test_a_parent_pays_an_invoice_with_the_test_card_on_a_phone(card_site, monkeypatch):
    site = card_site
    with phone_browser(monkeypatch, screen=PHONE) as page:
        page.goto(site.url + "/")
        page.get_by_label(french("E-mail address") + french(":"), exact=True).fill(PARENT)
        page.get_by_label(french("Password") + french(":"), exact=True).fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name=french("Log in"), exact=True).click()
        invoices_link = page.get_by_role("navigation", name=french("Main menu")).get_by_role(
            "link", name=french("Invoices"), exact=True)
        with page.expect_navigation():
            invoices_link.tap()
        with page.expect_navigation():
            page.get_by_role("link", name=french("Pay online by card")).tap()
        # localstripe's fake form takes the 16 digits only (Stripe's own strips spaces).
        card = page.locator("#card-element")
        for field, value in (("number", "4242424242424242"), ("exp_month", "12"),
                             ("exp_year", "34"), ("cvc", "123"), ("postal_code", "38360")):
            card.get_by_placeholder(field, exact=True).fill(value)
        assert horizontal_overflow(page) == 0
        started = time.monotonic()
        with page.expect_navigation(url=re.compile(r"/paiement/\d+/$"), timeout=20_000):
            page.locator("#pay-button").tap()
        print(f"pay step: {time.monotonic() - started:.2f} s")
        recorded = french("Thank you: your payment of %(amount)s is recorded.") % {
            "amount": format_cents(960)}
        assert page.get_by_role("status").inner_text() == recorded
        with page.expect_navigation():
            page.get_by_role("link", name=french("Back to my invoices")).tap()
        invoice_card = page.locator(".card", has_text=site.invoice.number)
        assert invoice_card.locator("strong").inner_text() == french("paid")
        assert page.get_by_role("link", name=french("Pay online by card")).count() == 0
        assert remaining(site) == 0
        with site.commune:
            assert Payment.objects.count() == 1
