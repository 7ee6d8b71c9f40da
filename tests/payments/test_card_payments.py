"""A parent pays invoices by card through the pages, as the browser does (Stripe.js
confirms the card on localstripe), with the real stripe SDK on the server side."""

from datetime import date

import pytest
import requests
import time_machine
from django.core import mail
from django.urls import reverse

from core.models import ActionLog
from payments.models import AttemptStatus, PaymentAttempt
from payments.notifications import card_receipt_send
from payments.services.attempts import ERROR_AT_TREASURY, ERROR_CANCELLED, ERROR_OTHER_FAMILY
from payments.services.sweep import attempts_sweep
from portal.models import Guardian
from tests.conftest import login
from tests.payments.stripe_fake import (
    DECLINED,
    SECRET_A,
    THREE_D_SECURE,
    browser_authenticates,
    browser_confirms_setup,
)
from tests.treasury.factories import SYSTEM, make_household
from treasury.models import Channel, Invoice, InvoiceStatus, Payment
from treasury.selectors import family_balance, invoices_with_state
from treasury.services.payments import invoice_cancel, payment_record


def prepare(client, family, invoices=None, **extra):
    body = {"invoices": [str(i.pk) for i in invoices]} if invoices is not None else {}
    return client.post(reverse("payments:prepare", args=[family.pk]), {**body, **extra},
                       content_type="application/json")


def confirm(client, attempt_id, setup_intent):
    return client.post(reverse("payments:confirm", args=[attempt_id]),
                       {"setup_intent": setup_intent}, content_type="application/json")


def pay(client, base, family, invoices=None, card="4242424242424242"):
    prepared = prepare(client, family, invoices).json()
    setup = browser_confirms_setup(base, prepared["client_secret"], card)
    return prepared, setup, confirm(client, prepared["attempt"], setup["id"])


def remaining(commune, invoice) -> int:
    with commune:
        return invoices_with_state(Invoice.objects.filter(pk=invoice.pk)).get().remaining_cents


def test_the_pay_page_lists_what_is_due_and_allows_stripe_js_only_there(
        paying, household, stripe_a):
    family, february, march = household
    response = paying.get(reverse("payments:pay", args=[family.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert february.number in page and march.number in page
    assert f"{stripe_a}/js.stripe.com/v3/" in page
    policy = response["Content-Security-Policy"]
    assert f"script-src 'self' {stripe_a}" in policy and "default-src 'self'" in policy
    invoices_page = paying.get(reverse("treasury:parent_invoices"))
    assert "Content-Security-Policy" not in invoices_page
    assert reverse("payments:pay", args=[family.pk]) in invoices_page.content.decode()


def test_a_parent_pays_everything_due_and_the_invoices_are_paid_at_once(
        paying, household, stripe_a, commune_a, django_capture_on_commit_callbacks):
    family, february, march = household
    with django_capture_on_commit_callbacks() as queued:
        prepared, setup, confirmed = pay(paying, stripe_a, family)
    assert queued, "the receipt e-mail task is queued after commit"
    assert prepared["amount_cents"] == 960 + 1600
    assert setup["status"] == "succeeded"
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["status"] == AttemptStatus.SUCCEEDED
    assert remaining(commune_a, february) == remaining(commune_a, march) == 0
    with commune_a:
        payment = Payment.objects.get()
        assert (payment.channel, payment.amount_cents) == (Channel.ONLINE_CARD, 2560)
        assert payment.reference.startswith("pi_")
        balance = family_balance(family.pk)
        assert balance.invoiced == balance.paid + balance.credited + balance.outstanding
        assert balance.outstanding == 0
        assert ActionLog.objects.filter(action="payments.attempt_succeeded").count() == 1
        attempt = PaymentAttempt.objects.get()
    intent = requests.get(f"{stripe_a}/v1/payment_intents/{payment.reference}",
                          auth=(SECRET_A, "")).json()
    assert intent["amount"] == 2560 and intent["metadata"]["commune"] == "alpha"
    assert intent["metadata"]["invoices"] == f"{february.pk},{march.pk}"
    page = paying.get(confirmed.json()["result_url"]).content.decode()
    assert payment.receipt_number in page
    with commune_a:  # the task queued after commit (no worker here): its body
        assert card_receipt_send(attempt_pk=attempt.pk) == 1
    assert [m.to for m in mail.outbox] == [["martin@famille.test", "parent@alpha.test"]]
    assert payment.receipt_number in mail.outbox[0].subject
    assert attempt.payment_id == payment.pk and not attempt.needs_review


def test_a_double_click_a_second_tab_or_a_retry_charges_once(paying, household, stripe_a,
                                                             commune_a):
    family, february, _march = household
    first = prepare(paying, family, [february]).json()
    second_tab = prepare(paying, family, [february]).json()
    assert second_tab["attempt"] == first["attempt"]
    setup = browser_confirms_setup(stripe_a, first["client_secret"])
    answers = [confirm(paying, first["attempt"], setup["id"]).json() for _ in range(3)]
    assert {answer["status"] for answer in answers} == {"succeeded"}
    intents = requests.get(f"{stripe_a}/v1/payment_intents", auth=(SECRET_A, "")).json()
    assert len(intents["data"]) == 1
    with commune_a:
        assert Payment.objects.count() == 1
    assert remaining(commune_a, february) == 0
    again = prepare(paying, family, [february])
    assert again.status_code == 400 and "Rien" in again.json()["error"] or "nothing" in \
        again.json()["error"]


def test_the_amount_is_computed_by_the_server_whatever_the_client_sends(
        paying, household, stripe_a, commune_a):
    family, february, _march = household
    prepared = prepare(paying, family, [february], amount_cents=1, amount=1).json()
    assert prepared["amount_cents"] == 960
    setup = browser_confirms_setup(stripe_a, prepared["client_secret"])
    confirm(paying, prepared["attempt"], setup["id"])
    with commune_a:
        assert Payment.objects.get().amount_cents == 960


def test_a_setup_intent_of_another_attempt_is_refused(paying, household, stripe_a, commune_a):
    family, february, march = household
    one = prepare(paying, family, [february]).json()
    other = prepare(paying, family, [march]).json()
    setup = browser_confirms_setup(stripe_a, other["client_secret"])
    answer = confirm(paying, one["attempt"], setup["id"])
    assert answer.status_code == 400
    with commune_a:
        assert not Payment.objects.exists()


def test_a_declined_card_charges_nothing_and_says_so(paying, household, stripe_a, commune_a):
    family, february, _march = household
    _prepared, _setup, confirmed = pay(paying, stripe_a, family, [february], card=DECLINED)
    assert confirmed.json()["status"] == AttemptStatus.FAILED
    assert "refus" in confirmed.json()["error"]
    with commune_a:
        assert not Payment.objects.exists()
    assert remaining(commune_a, february) == 960
    retry = prepare(paying, family, [february]).json()  # a new attempt may start
    assert retry["attempt"] != _prepared["attempt"]


def test_3d_secure_is_completed_in_the_browser_then_recorded(paying, household, stripe_a,
                                                             commune_a):
    family, february, _march = household
    prepared = prepare(paying, family, [february]).json()
    setup = browser_confirms_setup(stripe_a, prepared["client_secret"], THREE_D_SECURE)
    if setup.get("status") == "requires_action":  # the card's own authentication
        setup_id = setup["id"]
        requests.post(f"{stripe_a}/v1/setup_intents/{setup_id}/confirm",
                      json={"key": "pk_test_parvis", "client_secret": setup["client_secret"],
                            "use_stripe_sdk": True}, timeout=10)
    answer = confirm(paying, prepared["attempt"], setup["id"]).json()
    if answer["status"] == "requires_action":
        assert answer["client_secret"].startswith("pi_")
        browser_authenticates(stripe_a, answer["client_secret"])
        page = paying.get(answer["result_url"])  # back from the bank: the server asks Stripe
        assert page.status_code == 200
    with commune_a:
        assert PaymentAttempt.objects.get().status == AttemptStatus.SUCCEEDED
    assert remaining(commune_a, february) == 0


@pytest.mark.parametrize("make_unpayable, message", [
    (lambda invoice: invoice_cancel(invoice=invoice, reason="Erreur", actor=SYSTEM),
     ERROR_CANCELLED),
    (lambda invoice: Invoice.objects.filter(pk=invoice.pk).update(
        sent_to_treasury_at="2026-05-01T10:00:00Z"), ERROR_AT_TREASURY),
])
def test_a_cancelled_invoice_or_one_at_the_treasury_cannot_be_paid_by_card(
        paying, household, stripe_a, commune_a, make_unpayable, message):
    family, february, _march = household
    with commune_a:
        make_unpayable(february)
    answer = prepare(paying, family, [february])
    assert answer.status_code == 400
    assert answer.json()["error"] == str(message % {"number": february.number})
    if message is ERROR_AT_TREASURY:
        page = paying.get(reverse("payments:pay", args=[family.pk])).content.decode()
        assert "Trésor public" in page and february.number in page


def test_a_parent_cannot_pay_for_another_family(client_a, commune_a, other_parent_a,
                                                household, stripe_a):
    family, february, _march = household
    login(client_a, commune_a, other_parent_a)
    assert prepare(client_a, family, [february]).status_code == 404
    assert client_a.get(reverse("payments:pay", args=[family.pk])).status_code == 404
    with commune_a:
        own, _kids = make_household("Durand")
        Guardian.objects.filter(family=own).update(user=other_parent_a)
    answer = prepare(client_a, own, [february])
    assert answer.status_code == 400 and answer.json()["error"] == str(ERROR_OTHER_FAMILY)


def test_another_communes_parent_reaches_nothing(client_b, commune_b, parent_b, household):
    family, february, _march = household
    login(client_b, commune_b, parent_b)
    assert client_b.get(reverse("payments:pay", args=[family.pk])).status_code == 404
    assert prepare(client_b, family, [february]).status_code == 404


def test_money_arriving_twice_becomes_a_credit_flagged_for_the_regisseur(
        paying, household, stripe_a, commune_a, monkeypatch):
    family, february, _march = household
    prepared = prepare(paying, family, [february]).json()
    setup = browser_confirms_setup(stripe_a, prepared["client_secret"])
    with commune_a:  # meanwhile the family paid February at the desk
        payment_record(family=family, channel=Channel.CASH, amount_cents=960,
                       received_on=date(2026, 4, 3), actor=SYSTEM, invoices=[february])
        attempt = PaymentAttempt.objects.get()
    answer = confirm(paying, prepared["attempt"], setup["id"])
    assert answer.status_code == 400  # the amount changed: nothing charged
    with commune_a:
        attempt.refresh_from_db()
        assert attempt.status == AttemptStatus.CANCELED
        assert Payment.objects.count() == 1
    # The same race, but the desk payment lands between our check and the charge.
    prepared = prepare(paying, family, [_march]).json()
    setup = browser_confirms_setup(stripe_a, prepared["client_secret"])
    from payments.services import attempts as service

    real_create = service._intent_create

    def desk_pays_first(*args, **kwargs):
        payment_record(family=family, channel=Channel.CHEQUE, amount_cents=1600,
                       received_on=date(2026, 4, 3), actor=SYSTEM, invoices=[_march],
                       cheque_number="123", bank="La Poste")
        return real_create(*args, **kwargs)

    monkeypatch.setattr(service, "_intent_create", desk_pays_first)
    answer = confirm(paying, prepared["attempt"], setup["id"]).json()
    assert answer["status"] == "succeeded"
    with commune_a:
        attempt = PaymentAttempt.objects.get(pk=prepared["attempt"])
        assert attempt.needs_review and attempt.excess_cents == 1600
        balance = family_balance(family.pk)
        assert balance.unallocated == 1600 and balance.outstanding == 0
        assert balance.invoiced == balance.paid + balance.credited + balance.outstanding
        assert balance.payments == balance.paid + balance.refunded + balance.unallocated
        assert ActionLog.objects.filter(action="payments.excess").exists()


def test_the_sweep_records_a_payment_whose_events_never_arrived(
        paying, household, stripe_a, commune_a):
    family, february, _march = household
    prepared = prepare(paying, family, [february]).json()
    setup = browser_confirms_setup(stripe_a, prepared["client_secret"])
    with commune_a:
        from payments.provider import stripe_client

        # The browser confirmed, then the tab was closed before our server heard back.
        attempt = PaymentAttempt.objects.get()
        intent = stripe_client().v1.payment_intents.create(params={
            "amount": 960, "currency": "eur", "payment_method": setup["payment_method"],
            "confirm": True, "metadata": {"commune": "alpha", "attempt": str(attempt.pk)}})
        PaymentAttempt.objects.filter(pk=attempt.pk).update(
            payment_intent_id=intent.id, status=AttemptStatus.PROCESSING)
        assert attempts_sweep()["synced"] == 0  # too recent
        with time_machine.travel("2027-06-01 10:00 +02:00", tick=False):
            assert attempts_sweep()["synced"] == 1
        assert Payment.objects.get().reference == intent.id
        assert PaymentAttempt.objects.get().status == AttemptStatus.SUCCEEDED


def test_without_settings_a_commune_takes_no_card_payment(client_b, commune_b, parent_b,
                                                          fake_stripe):
    login(client_b, commune_b, parent_b)
    with commune_b:
        family, _kids = make_household("Petit")
        Guardian.objects.filter(family=family).update(user=parent_b)
    page = client_b.get(reverse("payments:pay", args=[family.pk])).content.decode()
    assert "guichet" in page or "desk" in page
    assert "js.stripe.com" not in page
    assert InvoiceStatus.ISSUED  # nothing issued: nothing offered


def test_a_success_abandons_the_other_open_attempts_on_the_same_invoices(
        paying, household, stripe_a, commune_a, django_capture_on_commit_callbacks):
    family, february, march = household
    everything = prepare(paying, family, None).json()  # a first tab: both invoices
    only_february = prepare(paying, family, [february]).json()  # a second tab
    assert everything["attempt"] != only_february["attempt"]
    setup = browser_confirms_setup(stripe_a, only_february["client_secret"])
    with django_capture_on_commit_callbacks() as queued:
        assert confirm(paying, only_february["attempt"], setup["id"]).json()["status"] == \
            "succeeded"
    with commune_a:
        other = PaymentAttempt.objects.get(pk=everything["attempt"])
        assert other.status == AttemptStatus.CANCELED
    late = browser_confirms_setup(stripe_a, everything["client_secret"])
    answer = confirm(paying, everything["attempt"], late["id"])
    assert answer.status_code == 400  # nothing charged on the abandoned attempt
    with commune_a:
        assert Payment.objects.count() == 1
    assert len(queued) >= 1
