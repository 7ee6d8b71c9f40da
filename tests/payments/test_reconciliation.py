"""Payouts reconciled against their balance transactions (pure matching, then stored),
and each kind of anomaly detected once and resolved (journalled)."""

from datetime import date

import pytest
import requests
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.models import ActionLog
from payments.models import Anomaly, AnomalyKind, Payout, PayoutTransaction
from payments.reconciliation import Kind, PaymentRef, line_of, payout_match, summarise
from payments.services.reconcile import (
    ERROR_NOTE,
    anomalies_detect,
    anomaly_resolve,
    payouts_reconcile,
)
from tests.payments.payouts_fake import (
    charge_txn,
    dispute_txn,
    fee_of,
    net_of,
    payout_txn,
    refund_txn,
    stripe_fee_txn,
)
from tests.payments.stripe_fake import SECRET_A, event
from tests.payments.test_card_payments import pay, remaining
from tests.payments.test_webhooks import deliver, dispute
from tests.treasury.factories import SYSTEM
from treasury.models import Channel, Invoice, Payment, Refund
from treasury.services.payments import invoice_cancel, payment_record


def a_payout_of_everything():
    txns = [charge_txn("pi_a", 2560), charge_txn("pi_b", 960), charge_txn("pi_c", 1600),
            refund_txn("pi_b", 320, "re_1"), dispute_txn("pi_c", 1600, "dp_1"),
            stripe_fee_txn(200)]
    return txns, net_of(txns)


def test_a_payout_ties_out_to_the_cent_and_reports_fees_apart():
    txns, net = a_payout_of_everything()
    lines = [line_of(txn) for txn in [*txns, payout_txn("po_1", net)]]
    summary = summarise(lines, net)
    fees = fee_of(2560) + fee_of(960) + fee_of(1600) + 1500 + 200
    assert (summary.gross, summary.refunds, summary.disputes, summary.fees) == (
        5120, 320, 1600, fees)
    assert summary.net == net == 5120 - 320 - 1600 - fees and summary.ties_out
    assert [line.kind for line in lines] == [Kind.CHARGE] * 3 + [
        Kind.REFUND, Kind.DISPUTE, Kind.FEE, Kind.PAYOUT]
    assert all(isinstance(value, int) for value in vars(summary).values())
    assert summarise(lines, net + 1).difference == 1  # one cent off: flagged


def test_matching_follows_each_transaction_to_the_ledger():
    txns, _net = a_payout_of_everything()
    match = payout_match([line_of(txn) for txn in txns],
                         payments={"pi_a": PaymentRef(1, 2560), "pi_b": PaymentRef(2, 900)},
                         intents_with_events={"pi_a"}, known_disputes={"dp_1"})
    assert match.payment_of_line == {txns[0]["id"]: 1, txns[1]["id"]: 2, txns[3]["id"]: 2}
    assert sorted((f.kind, f.key, f.amount) for f in match.findings) == [
        ("amount_mismatch", f"txn:{txns[1]['id']}", 60),
        ("no_invoice", "pi:pi_c", 1600),
        ("webhook_missing", "pi:pi_b", 960),
        ("webhook_missing", "pi:pi_c", 1600)]


def test_an_unexpanded_source_and_a_missing_net_are_understood():
    line = line_of({"id": "txn_1", "type": "adjustment", "amount": -500, "fee": 1500,
                    "source": "dp_9"})
    assert (line.kind, line.net, line.source_id, line.payment_intent_id) == (
        Kind.DISPUTE, -2000, "dp_9", "")


@pytest.fixture
def card_paid(paying, household, stripe_a, commune_a, client_a):
    """Both invoices paid by card (25,60 €), its event received."""
    family, february, march = household
    pay(paying, stripe_a, family)
    with commune_a:
        payment = Payment.objects.get()
    intent = requests.get(f"{stripe_a}/v1/payment_intents/{payment.reference}",
                          auth=(SECRET_A, "")).json()
    deliver(client_a, commune_a, event("payment_intent.succeeded", intent))
    return family, february, march, payment, intent


def make_payout(amount, payout_id="po_test"):
    return Payout.objects.create(payout_id=payout_id, amount_cents=amount, status="paid",
                                 arrival_date=timezone.localdate())


def open_anomalies(kind=None):
    queryset = Anomaly.objects.filter(status="open")
    return list(queryset.filter(kind=kind) if kind else queryset)


def test_a_payout_with_a_card_payment_ties_out_and_the_invoices_are_credited_gross(
        card_paid, commune_a, stripe_a):
    family, february, march, payment, intent = card_paid
    txns = [charge_txn(payment.reference, 2560, charge_id=intent["latest_charge"]["id"]),
            stripe_fee_txn(35)]
    with commune_a:
        make_payout(net_of(txns))
        [payout] = payouts_reconcile(transactions={"po_test": [*txns, payout_txn(
            "po_test", net_of(txns))]})
        assert payout.ties_out and payout.gross_cents == 2560
        assert payout.fees_cents == fee_of(2560) + 35
        assert payout.lines_net_cents == payout.amount_cents == 2560 - payout.fees_cents
        charge = PayoutTransaction.objects.get(kind=Kind.CHARGE)
        assert charge.payment_id == payment.pk and charge.net_cents == 2560 - fee_of(2560)
        # the invoices are settled by the gross amount: the fees are not the family's
        assert sum(s.amount_cents for s in payment.settlements.all()) == 2560
        assert not open_anomalies()
        assert ActionLog.objects.filter(action="payments.payout_reconciled").count() == 1
    assert remaining(commune_a, february) == remaining(commune_a, march) == 0


def test_a_payout_that_does_not_tie_out_is_flagged_once(card_paid, commune_a):
    _family, _february, _march, payment, _intent = card_paid
    txns = [charge_txn(payment.reference, 2560)]
    with commune_a:
        make_payout(net_of(txns) - 7)
        for _ in range(2):  # reconciling again: same anomaly, same lines
            [payout] = payouts_reconcile(transactions={"po_test": txns})
        assert payout.ties_out is False and payout.difference_cents == -7
        [anomaly] = open_anomalies()
        assert (anomaly.kind, anomaly.amount_cents, anomaly.payout_id) == (
            AnomalyKind.PAYOUT_DIFFERENCE, -7, payout.pk)
        assert PayoutTransaction.objects.count() == 1


def resolve_each(commune, kinds):
    """Resolve the open anomalies of ``kinds`` (a note is required) and check the journal."""
    with commune:
        found = open_anomalies()
        assert sorted(a.kind for a in found) == sorted(kinds)
        for anomaly in found:
            with pytest.raises(ValidationError) as refused:
                anomaly_resolve(anomaly=anomaly, note="  ", actor=SYSTEM)
            assert refused.value.messages == [str(ERROR_NOTE)]
            anomaly_resolve(anomaly=anomaly, note="Vu avec la famille", actor=SYSTEM)
        assert not open_anomalies()
        assert ActionLog.objects.filter(action="payments.anomaly_resolved").count() == len(kinds)
        assert anomalies_detect(period=timezone.localdate()) == 0  # never queued again


def test_charges_unknown_here_or_of_another_amount_are_anomalies(card_paid, commune_a):
    _family, _february, _march, payment, _intent = card_paid
    txns = [charge_txn(payment.reference, 2600), charge_txn("pi_elsewhere", 500)]
    with commune_a:
        make_payout(net_of(txns))
        payouts_reconcile(transactions={"po_test": txns})
        mismatch = Anomaly.objects.get(kind=AnomalyKind.AMOUNT_MISMATCH)
        assert (mismatch.amount_cents, mismatch.payment_id) == (40, payment.pk)
        assert Anomaly.objects.get(kind=AnomalyKind.NO_INVOICE).key == "pi:pi_elsewhere"
    resolve_each(commune_a, ["amount_mismatch", "no_invoice", "webhook_missing"])


def test_a_payment_whose_webhook_never_arrived_is_an_anomaly(paying, household, stripe_a,
                                                             commune_a):
    family, february, _march = household
    pay(paying, stripe_a, family, [february])  # recorded by the page, no event since
    with commune_a:
        assert anomalies_detect(period=timezone.localdate()) == 1
        [anomaly] = open_anomalies()
        assert anomaly.kind == AnomalyKind.WEBHOOK_MISSING and anomaly.amount_cents == 960
    resolve_each(commune_a, ["webhook_missing"])


def test_a_card_payment_settling_no_invoice_is_an_anomaly(household, commune_a, stripe_a):
    family, _february, _march = household
    with commune_a:
        payment_record(family=family, channel=Channel.ONLINE_CARD, amount_cents=700,
                       received_on=timezone.localdate(), reference="pi_lost",
                       actor=SYSTEM, allocate=False)
        anomalies_detect(period=timezone.localdate())
        assert {a.kind for a in open_anomalies()} == {"no_invoice", "webhook_missing"}
    resolve_each(commune_a, ["no_invoice", "webhook_missing"])


def test_a_payment_for_an_invoice_cancelled_since_is_an_anomaly(card_paid, commune_a):
    family, february, _march, payment, _intent = card_paid
    with commune_a:
        invoice_cancel(invoice=february, reason="Erreur de facturation", actor=SYSTEM)
        anomalies_detect(period=timezone.localdate())
        anomaly = Anomaly.objects.get(kind=AnomalyKind.CANCELLED_INVOICE)
        assert (anomaly.amount_cents, anomaly.payment_id, anomaly.family_id) == (
            960, payment.pk, family.pk)
    resolve_each(commune_a, ["cancelled_invoice"])


def test_money_for_an_invoice_sent_to_the_treasury_is_to_regularise(
        paying, household, stripe_a, commune_a, client_a, monkeypatch):
    family, february, _march = household
    from payments.services import attempts as service

    real_create = service._intent_create

    def sent_meanwhile(*args, **kwargs):  # the Hélios export ran during the payment
        Invoice.objects.filter(pk=february.pk).update(sent_to_treasury_at=timezone.now())
        return real_create(*args, **kwargs)

    monkeypatch.setattr(service, "_intent_create", sent_meanwhile)
    pay(paying, stripe_a, family, [february])
    with commune_a:
        payment = Payment.objects.get()
        assert not payment.settlements.exists()
    intent = requests.get(f"{stripe_a}/v1/payment_intents/{payment.reference}",
                          auth=(SECRET_A, "")).json()
    deliver(client_a, commune_a, event("payment_intent.succeeded", intent))
    with commune_a:
        anomalies_detect(period=timezone.localdate())
        [anomaly] = open_anomalies()
        assert (anomaly.kind, anomaly.amount_cents) == (AnomalyKind.AT_TREASURY, 960)
        assert anomaly.attempt.needs_review
    resolve_each(commune_a, ["at_treasury"])
    with commune_a:  # the attempt's review went with it
        anomaly.attempt.refresh_from_db()
        assert not anomaly.attempt.needs_review


def test_a_double_payment_is_an_anomaly(paying, household, stripe_a, commune_a, client_a,
                                        monkeypatch):
    family, _february, march = household
    from payments.services import attempts as service

    real_create = service._intent_create

    def desk_pays_first(*args, **kwargs):
        payment_record(family=family, channel=Channel.CASH, amount_cents=1600,
                       received_on=date.today(), actor=SYSTEM, invoices=[march])
        return real_create(*args, **kwargs)

    monkeypatch.setattr(service, "_intent_create", desk_pays_first)
    pay(paying, stripe_a, family, [march])
    with commune_a:
        card = Payment.objects.get(channel=Channel.ONLINE_CARD)
    intent = requests.get(f"{stripe_a}/v1/payment_intents/{card.reference}",
                          auth=(SECRET_A, "")).json()
    deliver(client_a, commune_a, event("payment_intent.succeeded", intent))
    with commune_a:
        anomalies_detect(period=timezone.localdate())
        [anomaly] = open_anomalies()
        assert (anomaly.kind, anomaly.amount_cents) == (AnomalyKind.DOUBLE_PAYMENT, 1600)
    resolve_each(commune_a, ["double_payment"])


def test_a_lost_dispute_is_an_anomaly_and_a_dispute_in_a_payout_is_followed(
        card_paid, commune_a, client_a):
    _family, _february, march, payment, intent = card_paid
    deliver(client_a, commune_a, event("charge.dispute.closed", dispute(intent, "lost", 960)))
    txns = [charge_txn(payment.reference, 2560), dispute_txn(payment.reference, 960, "dp_1"),
            dispute_txn(payment.reference, 100, "dp_unheard")]
    with commune_a:
        assert Refund.objects.get().reference == "dp_1"
        make_payout(net_of(txns))
        [payout] = payouts_reconcile(transactions={"po_test": txns})
        assert payout.ties_out and payout.disputes_cents == 1060
        assert payout.fees_cents == fee_of(2560) + 3000
        anomalies_detect(period=timezone.localdate())
        lost = Anomaly.objects.get(kind=AnomalyKind.LOST_DISPUTE)
        assert (lost.key, lost.amount_cents, lost.payment_id) == ("dispute:dp_1", 960,
                                                                 payment.pk)
        assert Anomaly.objects.get(kind=AnomalyKind.WEBHOOK_MISSING).key == \
            "dispute:dp_unheard"
    assert remaining(commune_a, march) == 960  # released from the latest invoice
    resolve_each(commune_a, ["lost_dispute", "webhook_missing"])


def test_the_payout_page_follows_each_transaction_to_the_invoices(card_paid, commune_a,
                                                                 client_a, max_sql_queries):
    from accounts.roles import Role
    from tests.conftest import login, make_user

    _family, february, march, payment, _intent = card_paid
    txns = [charge_txn(payment.reference, 2560), charge_txn("pi_elsewhere", 500)]
    with commune_a:
        payout = make_payout(net_of(txns))
        payouts_reconcile(transactions={"po_test": txns})
    login(client_a, commune_a, make_user(commune_a, "regie@alpha.test", role=Role.FINANCE))
    with max_sql_queries(16):
        page = client_a.get(f"/agents/finances/rapprochement/versements/{payout.pk}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert payment.receipt_number in text and february.number in text and march.number in text
    overview = client_a.get("/agents/finances/rapprochement/")
    assert sorted(a.kind for a in overview.context["open_anomalies"]) == [
        "no_invoice", "webhook_missing"]  # pi_elsewhere
