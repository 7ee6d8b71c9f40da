"""Provider events: signature on the raw body, stored once, applied forward only in the
commune whose secret signed them; refunds, disputes and payouts; the refund form."""

import time

import pytest
import requests
import time_machine
from django.urls import reverse

from accounts.roles import Role
from core.models import ActionLog
from payments.models import (
    AttemptStatus,
    Dispute,
    EventStatus,
    PaymentAttempt,
    Payout,
    RefundRequest,
    WebhookEvent,
)
from payments.services.events import webhook_event_process
from tests.conftest import login, make_user
from tests.payments.stripe_fake import SECRET_A, WEBHOOK_A, WEBHOOK_B, event, signed
from tests.payments.test_card_payments import pay, remaining
from treasury.models import Payment, Refund
from treasury.selectors import family_balance

WEBHOOK = "/paiement/stripe/webhook/"


def post_event(client, body: bytes, header: str | None):
    extra = {"HTTP_STRIPE_SIGNATURE": header} if header is not None else {}
    return client.post(WEBHOOK, body, content_type="application/json", **extra)


def deliver(client, commune, evt, secret=WEBHOOK_A):
    """Send a signed event to the commune's endpoint, then run its task body."""
    body, header = signed(evt, secret)
    response = post_event(client, body, header)
    assert response.status_code == 200, response.content
    with commune:
        stored = WebhookEvent.objects.get(event_id=evt["id"])
        return webhook_event_process(event_pk=stored.pk)


@pytest.fixture
def paid(paying, household, stripe_a, commune_a):
    """February paid by card (9,60 €)."""
    family, february, march = household
    _prepared, _setup, confirmed = pay(paying, stripe_a, family, [february])
    assert confirmed.json()["status"] == "succeeded"
    with commune_a:
        payment = Payment.objects.get()
    intent = requests.get(f"{stripe_a}/v1/payment_intents/{payment.reference}",
                          auth=(SECRET_A, "")).json()
    return family, february, march, payment, intent


@pytest.mark.parametrize("header", [
    None,  # unsigned
    "t=1,v1=deadbeef",  # forged
    "garbage",
])
def test_an_unsigned_or_forged_event_is_refused_and_nothing_is_recorded(
        client_a, commune_a, stripe_a, header):
    body = b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {}}}'
    assert post_event(client_a, body, header).status_code == 400
    with commune_a:
        assert not WebhookEvent.objects.exists()


def test_a_stale_event_is_refused(client_a, commune_a, stripe_a):
    body, header = signed(event("payment_intent.succeeded", {"id": "pi_x"}), WEBHOOK_A,
                          timestamp=int(time.time()) - 600)
    assert post_event(client_a, body, header).status_code == 400
    body, header = signed(event("payment_intent.succeeded", {"id": "pi_x"}), WEBHOOK_B)
    assert post_event(client_a, body, header).status_code == 400  # beta's secret on alpha
    with commune_a:
        assert not WebhookEvent.objects.exists()


def test_the_endpoint_is_csrf_exempt_but_post_only(client_a, stripe_a):
    assert client_a.get(WEBHOOK).status_code == 405


def test_an_event_is_stored_once_and_a_replay_changes_nothing(client_a, commune_a, paid):
    _family, february, _march, payment, intent = paid
    evt = event("payment_intent.succeeded", intent)
    body, header = signed(evt, WEBHOOK_A)
    assert post_event(client_a, body, header).content == b"ok"
    assert post_event(client_a, body, header).content == b"duplicate"
    with commune_a:
        stored = WebhookEvent.objects.get()
        assert webhook_event_process(event_pk=stored.pk).status == EventStatus.PROCESSED
        assert webhook_event_process(event_pk=stored.pk).status == EventStatus.PROCESSED
        assert Payment.objects.count() == 1
    assert remaining(commune_a, february) == 0


def test_a_late_failure_never_undoes_a_success(client_a, commune_a, paid):
    _family, february, _march, payment, intent = paid
    failed = {**intent, "status": "requires_payment_method"}
    deliver(client_a, commune_a, event("payment_intent.payment_failed", failed))
    deliver(client_a, commune_a, event("payment_intent.canceled", failed))
    with commune_a:  # the task re-read the object: it says succeeded
        assert PaymentAttempt.objects.get().status == AttemptStatus.SUCCEEDED
        assert Payment.objects.count() == 1


def test_an_event_naming_another_commune_is_stored_reported_never_applied(
        client_a, commune_a, paid, stripe_a):
    _family, _february, _march, _payment, _intent = paid
    with commune_a:
        from payments.provider import stripe_client

        other = stripe_client().v1.payment_intents.create(params={
            "amount": 960, "currency": "eur", "payment_method": "pm_card_visa",
            "confirm": True, "metadata": {"commune": "beta", "attempt": "1"}})
    stored = deliver(client_a, commune_a, event("payment_intent.succeeded", other.to_dict()))
    assert stored.status == EventStatus.FOREIGN
    with commune_a:
        assert Payment.objects.count() == 1
        assert ActionLog.objects.filter(action="payments.webhook_foreign").exists()


def test_unhandled_types_are_stored_and_ignored(client_a, commune_a, stripe_a):
    evt = event("customer.created", {"id": "cus_1"})
    body, header = signed(evt, WEBHOOK_A)
    assert post_event(client_a, body, header).status_code == 200
    with commune_a:
        assert WebhookEvent.objects.get().status == EventStatus.IGNORED


def test_the_regisseur_refunds_part_of_a_card_payment_once(client_a, commune_a, paid,
                                                           stripe_a):
    family, february, _march, payment, intent = paid
    agent = make_user(commune_a, "regie@alpha.test", role=Role.FINANCE)
    login(client_a, commune_a, agent)
    url = reverse("payments:card_refund", args=[payment.pk])
    assert client_a.get(url).status_code == 200
    form = {"amount": "3,20", "reason": "Repas non servi", "token": "tok-1"}
    for _ in range(2):  # a double submission
        assert client_a.post(url, form).status_code == 302
    with commune_a:
        refund = Refund.objects.get()
        assert (refund.amount_cents, refund.reference[:3]) == (320, "re_")
        assert RefundRequest.objects.count() == 1
        balance = family_balance(family.pk)
        assert balance.payments == balance.paid + balance.refunded + balance.unallocated
        assert balance.invoiced == balance.paid + balance.credited + balance.outstanding
    assert remaining(commune_a, february) == 320
    charge = requests.get(f"{stripe_a}/v1/charges/{intent['latest_charge']['id']}",
                          auth=(SECRET_A, "")).json()
    assert charge["amount_refunded"] == 320
    # Stripe then reports the refund: already known, nothing more.
    deliver(client_a, commune_a, event("charge.refunded", charge))
    with commune_a:
        assert Refund.objects.count() == 1
    too_much = client_a.post(url, {"amount": "7,00", "reason": "x", "token": "tok-2"})
    assert too_much.status_code == 200 and "6,40" in too_much.content.decode()


def test_a_refund_made_in_the_stripe_dashboard_reaches_the_ledger(client_a, commune_a, paid,
                                                                  stripe_a):
    _family, february, _march, payment, intent = paid
    requests.post(f"{stripe_a}/v1/refunds", auth=(SECRET_A, ""),
                  data={"payment_intent": payment.reference, "amount": 960})
    charge = requests.get(f"{stripe_a}/v1/charges/{intent['latest_charge']['id']}",
                          auth=(SECRET_A, "")).json()
    deliver(client_a, commune_a, event("charge.refunded", charge))
    deliver(client_a, commune_a, event("charge.refunded", charge, event_id="evt_again"))
    with commune_a:
        assert list(Refund.objects.values_list("amount_cents", flat=True)) == [960]
    assert remaining(commune_a, february) == 960


def dispute(intent, status, amount=960):
    return {"id": "dp_1", "object": "dispute", "amount": amount, "currency": "eur",
            "charge": intent["latest_charge"]["id"], "payment_intent": intent["id"],
            "reason": "fraudulent", "status": status}


def test_a_lost_dispute_reopens_the_invoice(client_a, commune_a, paid):
    family, february, _march, payment, intent = paid
    deliver(client_a, commune_a, event("charge.dispute.created",
                                       dispute(intent, "needs_response")))
    with commune_a:
        assert Dispute.objects.get().status == "open"
    assert remaining(commune_a, february) == 0
    closed = event("charge.dispute.closed", dispute(intent, "lost"))
    deliver(client_a, commune_a, closed)
    # An older "created" delivered late changes nothing (forward only).
    deliver(client_a, commune_a, event("charge.dispute.created",
                                       dispute(intent, "needs_response"), event_id="evt_l"))
    with commune_a:
        assert Dispute.objects.get().status == "lost"
        assert Refund.objects.get().reference == "dp_1"
        balance = family_balance(family.pk)
        assert balance.invoiced == balance.paid + balance.credited + balance.outstanding
    assert remaining(commune_a, february) == 960


def test_a_won_dispute_changes_no_money(client_a, commune_a, paid):
    _family, february, _march, _payment, intent = paid
    deliver(client_a, commune_a, event("charge.dispute.closed", dispute(intent, "won")))
    with commune_a:
        assert Dispute.objects.get().status == "won" and not Refund.objects.exists()
    assert remaining(commune_a, february) == 0


def test_a_paid_payout_is_recorded_for_reconciliation(client_a, commune_a, stripe_a):
    payout = requests.post(f"{stripe_a}/v1/payouts", auth=(SECRET_A, ""),
                           data={"amount": 2500, "currency": "eur"}).json()
    deliver(client_a, commune_a, event("payout.paid", {**payout, "status": "paid"}))
    with commune_a:
        row = Payout.objects.get()
        assert (row.payout_id, row.amount_cents) == (payout["id"], 2500)
        assert row.arrival_date is not None


def test_an_event_whose_task_was_lost_is_processed_by_the_sweep(client_a, commune_a, paid):
    _family, february, _march, payment, intent = paid
    evt = event("payment_intent.succeeded", intent)
    body, header = signed(evt, WEBHOOK_A)
    assert post_event(client_a, body, header).status_code == 200  # its task never runs
    with commune_a:
        from payments.services.sweep import attempts_sweep

        assert attempts_sweep()["events_processed"] == 0  # too recent
        with time_machine.travel("2027-06-01 10:00 +02:00", tick=False):
            assert attempts_sweep()["events_processed"] == 1
            assert attempts_sweep()["events_processed"] == 0  # done once
        stored = WebhookEvent.objects.get()
        assert stored.status == EventStatus.PROCESSED and stored.attempts == 1
        assert Payment.objects.count() == 1


def test_a_redelivered_unprocessed_event_is_queued_again(client_a, commune_a, paid,
                                                         django_capture_on_commit_callbacks):
    _family, _february, _march, _payment, intent = paid
    body, header = signed(event("payment_intent.succeeded", intent), WEBHOOK_A)
    with django_capture_on_commit_callbacks() as first:
        post_event(client_a, body, header)
    with django_capture_on_commit_callbacks() as again:
        assert post_event(client_a, body, header).content == b"duplicate"
    assert len(first) == len(again) == 1
    with commune_a:
        webhook_event_process(event_pk=WebhookEvent.objects.get().pk)
    with django_capture_on_commit_callbacks() as done:
        post_event(client_a, body, header)
    assert not done  # processed: a redelivery queues nothing
