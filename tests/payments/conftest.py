from datetime import date

import pytest
import requests
import time_machine

from core.journal import Actor
from portal.models import Guardian
from tenants.services import payment_settings_update
from tests.conftest import login
from tests.payments.stripe_fake import (
    PUBLISHABLE,
    SECRET_A,
    SECRET_B,
    WEBHOOK_A,
    WEBHOOK_B,
    fake_stripe_server,
)
from tests.treasury.factories import SYSTEM, book, make_household, make_priced_unit, weekdays
from treasury.models import Invoice
from treasury.services.runs import invoicing_run_compute, invoicing_run_issue, invoicing_run_start


@pytest.fixture(scope="session")
def fake_stripe_base():
    with fake_stripe_server() as base:
        yield base


@pytest.fixture
def fake_stripe(fake_stripe_base, settings):
    """The stripe SDK and Stripe.js pointed at a fresh localstripe."""
    requests.delete(f"{fake_stripe_base}/_config/data", timeout=10)
    settings.STRIPE_API_BASE = fake_stripe_base
    settings.STRIPE_JS_URL = f"{fake_stripe_base}/js.stripe.com/v3/"
    return fake_stripe_base


@pytest.fixture
def stripe_a(fake_stripe, commune_a, commune_b):
    """Both test communes take card payments, each into its own (fake) account."""
    actor = Actor.system("tests")
    for commune, secret, webhook in ((commune_a, SECRET_A, WEBHOOK_A),
                                     (commune_b, SECRET_B, WEBHOOK_B)):
        payment_settings_update(commune=commune, actor=actor, enabled=True,
                                publishable_key=PUBLISHABLE, secret_key=secret,
                                webhook_secret=webhook)
    return fake_stripe


def issue_month(period):
    run = invoicing_run_start(period=period, actor=SYSTEM)
    invoicing_run_compute(run_id=run.pk)
    invoicing_run_issue(run_id=run.pk, actor=SYSTEM)


@pytest.fixture
def household(commune_a, parent_a, stripe_a):
    """The Martin family (parent_a's) with February (9,60 €) and March (16,00 €) issued."""
    with commune_a:
        unit = make_priced_unit()
        family, (lea,) = make_household()
        Guardian.objects.filter(family=family).update(user=parent_a)
        book(lea, unit, weekdays(date(2026, 2, 2), 3))
        with time_machine.travel("2026-03-03 10:00 +01:00", tick=False):
            issue_month(date(2026, 2, 1))
        book(lea, unit, weekdays(date(2026, 3, 2), 5))
        with time_machine.travel("2026-04-03 10:00 +02:00", tick=False):
            issue_month(date(2026, 3, 1))
        february, march = Invoice.objects.order_by("sequence")
    return family, february, march


@pytest.fixture
def paying(client_a, commune_a, parent_a):
    return login(client_a, commune_a, parent_a)
