"""A simulated month of the régie reconciles to zero difference: parents pay by card
through the real flow (localstripe), webhooks arrive twice and out of order, a refund,
a lost dispute, a desk payment, a card payout with fees; then the unpaid invoices go to
the treasury as a real Hélios ORMC bordereau (XSD-valid), acknowledged OK, and a return
file reports part of what the treasury collected."""

from datetime import date

import pytest
import requests
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client

from payments.models import Anomaly, AnomalyKind, Payout
from payments.services.month_close import month_close, month_report
from payments.services.reconcile import anomalies_detect, anomaly_resolve, payouts_reconcile
from payments.services.refunds import card_refund
from portal.models import Guardian
from tests.conftest import HOST_A, login, make_user
from tests.payments.conftest import issue_month
from tests.payments.payouts_fake import (
    charge_txn,
    dispute_txn,
    fee_of,
    net_of,
    payout_txn,
    refund_txn,
)
from tests.payments.stripe_fake import SECRET_A, event
from tests.payments.test_card_payments import pay
from tests.payments.test_webhooks import deliver, dispute
from tests.treasury.factories import SYSTEM, book, make_household, make_priced_unit, weekdays
from tests.treasury.helios_helpers import (
    ack_file,
    collected_lines,
    configure_helios,
    helios_xsd,  # noqa: F401 (fixture)
    needs_xsd,
    return_file,
)
from treasury.models import BordereauStatus, Channel, HeliosPiece, Invoice, Payment, Refund
from treasury.selectors import family_balance
from treasury.services.helios import helios_bordereau_build, helios_bordereau_release
from treasury.services.helios_imports import helios_file_import
from treasury.services.payments import payment_record

APRIL = date(2026, 4, 1)
# Family -> days booked in March at 3,20 € (bracket 3): the invoices issued on 3 April.
DAYS = {"Martin": 5, "Durand": 4, "Petit": 3, "Bernard": 5, "Roux": 2, "Leroy": 3}
CARD_PAYERS = ("Martin", "Bernard", "Roux")
# Unpaid on 4 May (due 3 May): sent to the treasury; what its return file reports collected.
TO_TREASURY = ("Petit", "Leroy", "Roux")
TREASURY_COLLECTED = {"Petit": 960, "Leroy": 480}


@pytest.fixture
def town(commune_a, stripe_a):
    parents = {name: make_user(commune_a, f"{name.lower()}@parents.alpha.test")
               for name in CARD_PAYERS}
    with commune_a:
        unit = make_priced_unit()
        families = {}
        for name, days in DAYS.items():
            family, (child,) = make_household(name)
            book(child, unit, weekdays(date(2026, 3, 2), days))
            families[name] = family
        for name, parent in parents.items():
            Guardian.objects.filter(family=families[name]).update(user=parent)
        with time_machine.travel("2026-04-03 10:00 +02:00", tick=False):
            issue_month(date(2026, 3, 1))
        invoices = {name: Invoice.objects.get(family=family)
                    for name, family in families.items()}
    assert {name: i.total_cents for name, i in invoices.items()} == {
        name: days * 320 for name, days in DAYS.items()}
    clients = {name: login(Client(HTTP_HOST=HOST_A), commune_a, parent)
               for name, parent in parents.items()}
    return families, invoices, clients


def intent_of(base, commune, family) -> dict:
    with commune:
        reference = Payment.objects.get(family=family, channel=Channel.ONLINE_CARD).reference
    return requests.get(f"{base}/v1/payment_intents/{reference}", auth=(SECRET_A, "")).json()


def to_treasury(invoices) -> tuple:
    """The real Hélios path: the commune's settings, the ORMC bordereau (validated
    against the DGFiP XSD), its release, an OK acknowledgement and a return file."""
    configure_helios()
    bordereau = helios_bordereau_build(invoices=[invoices[name] for name in TO_TREASURY],
                                       with_pdf=False, actor=SYSTEM)
    assert (bordereau.status, bordereau.errors) == (BordereauStatus.VALID, "")
    # Roux's card payment was taken back by the lost dispute: the whole 6,40 € is due.
    assert (bordereau.piece_count, bordereau.total_cents) == (3, 960 + 960 + 640)
    bordereau = helios_bordereau_release(bordereau=bordereau, actor=SYSTEM)
    helios_file_import(content=ack_file(exer=2026, number=bordereau.id_bord),
                       file_name="ack.xml", actor=SYSTEM)
    pieces = list(HeliosPiece.objects.filter(bordereau=bordereau).order_by("id_pce"))
    collected = {invoices[name].pk: cents for name, cents in TREASURY_COLLECTED.items()}
    helios_file_import(content=return_file(exer=2026, number=bordereau.id_bord,
                                           lines=collected_lines(pieces, collected)),
                       file_name="retour.xml", actor=SYSTEM)
    bordereau.refresh_from_db()
    return bordereau, {piece.invoice_id: piece for piece in bordereau.pieces.all()}


@needs_xsd
@pytest.mark.usefixtures("helios_xsd")
def test_a_simulated_month_reconciles_to_zero_difference(town, client_a, commune_a, stripe_a):
    families, invoices, clients = town
    intents = {}
    with time_machine.travel("2026-04-10 10:00 +02:00", tick=True):
        for name in CARD_PAYERS:
            pay(clients[name], stripe_a, families[name], [invoices[name]])
            intents[name] = intent_of(stripe_a, commune_a, families[name])
        martin, bernard, roux = (intents[name] for name in CARD_PAYERS)
        # Martin's success delivered twice, then a stale "processing" (out of order).
        succeeded = event("payment_intent.succeeded", martin)
        deliver(client_a, commune_a, succeeded)
        assert deliver(client_a, commune_a, succeeded).status == "processed"  # duplicate
        deliver(client_a, commune_a, event("payment_intent.processing",
                                           {**martin, "status": "processing"}))
        # Bernard's events in the wrong order, then a partial refund to the card.
        deliver(client_a, commune_a, event("payment_intent.processing",
                                           {**bernard, "status": "processing"}))
        deliver(client_a, commune_a, event("payment_intent.succeeded", bernard))
        with commune_a:
            card_refund(payment=Payment.objects.get(reference=bernard["id"]), amount_cents=320,
                        reason="Repas non servi", token="tok-bernard", actor=SYSTEM)
        # Roux's payment is disputed and lost; the "created" event arrives last.
        deliver(client_a, commune_a, event("payment_intent.succeeded", roux))
        deliver(client_a, commune_a, event("charge.dispute.closed",
                                           dispute(roux, "lost", 640)))
        deliver(client_a, commune_a, event("charge.dispute.created",
                                           dispute(roux, "needs_response", 640)))
        with commune_a:
            payment_record(family=families["Durand"], channel=Channel.CHEQUE,
                           amount_cents=1280, received_on=date(2026, 4, 10), actor=SYSTEM,
                           cheque_number="0001234", bank="La Banque Postale",
                           invoices=[invoices["Durand"]])
            refund_id = Refund.objects.get(reference__startswith="re_").reference

    # The card payout of 20 April: three charges (with fees), the refund, the dispute.
    txns = [charge_txn(martin["id"], 1600, charge_id=martin["latest_charge"]["id"]),
            charge_txn(bernard["id"], 1600, charge_id=bernard["latest_charge"]["id"]),
            charge_txn(roux["id"], 640, charge_id=roux["latest_charge"]["id"]),
            refund_txn(bernard["id"], 320, refund_id), dispute_txn(roux["id"], 640, "dp_1")]
    net = net_of(txns)
    localstripe_payout = requests.post(f"{stripe_a}/v1/payouts", auth=(SECRET_A, ""),
                                       data={"amount": net, "currency": "eur"}).json()
    payout_id = localstripe_payout["id"]
    with time_machine.travel("2026-04-21 09:00 +02:00", tick=True):
        deliver(client_a, commune_a, event("payout.paid", {**localstripe_payout,
                                                           "status": "paid"}))
        with commune_a:  # localstripe dates its payouts with the real clock
            Payout.objects.filter(payout_id=payout_id).update(arrival_date=date(2026, 4, 20))
            [payout] = payouts_reconcile(transactions={payout_id: [*txns, payout_txn(
                payout_id, net)]})
    fees = fee_of(1600) * 2 + fee_of(640) + 1500
    assert payout.ties_out and (payout.gross_cents, payout.refunds_cents,
                                payout.disputes_cents, payout.fees_cents) == (
        3840, 320, 640, fees)
    assert payout.amount_cents == net == 3840 - 320 - 640 - fees

    with commune_a, time_machine.travel("2026-05-04 09:00 +02:00", tick=False):
        bordereau, pieces = to_treasury(invoices)
        assert bordereau.status == BordereauStatus.ACCEPTED
        for name, invoice in invoices.items():
            invoice.refresh_from_db()
            assert bool(invoice.sent_to_treasury_at) == (name in TO_TREASURY)
        assert {name: (pieces[invoices[name].pk].collected_cents,
                       pieces[invoices[name].pk].treasury_paid_at is not None)
                for name in TO_TREASURY} == {
            "Petit": (960, True), "Leroy": (480, False), "Roux": (0, False)}
        assert anomalies_detect(period=APRIL) == 1
        [lost] = Anomaly.objects.filter(status="open")
        assert (lost.kind, lost.amount_cents) == (AnomalyKind.LOST_DISPUTE, 640)
        with pytest.raises(ValidationError):  # refused while the anomaly is open
            month_close(period=APRIL, actor=SYSTEM)
        anomaly_resolve(anomaly=lost, note="Famille relancée", actor=SYSTEM)
        closed = month_close(period=APRIL, actor=SYSTEM)
        report = month_report(APRIL)
        for family in families.values():
            balance = family_balance(family.pk)
            assert balance.invoiced == balance.paid + balance.credited + balance.outstanding
            assert balance.payments == balance.paid + balance.refunded + balance.unallocated
        # every card payment credited its invoice the gross amount (fees are a cost)
        assert sum(Payment.objects.filter(channel=Channel.ONLINE_CARD).values_list(
            "amount_cents", flat=True)) == payout.gross_cents
    figures = report["figures"]
    assert figures.ties_out and not figures.differences and figures.total.difference == 0
    assert (figures.total.invoiced, figures.total.paid, figures.total.at_treasury,
            figures.total.credited, figures.total.outstanding) == (
        7040, 1600 + 1280 + 1280, 960 + 960 + 640, 0, 320)
    # What the treasury collected (Petit in full, half of Leroy's) stays "sent to the
    # treasury" for the régie: the title's amount, whatever Hélios recovers of it.
    assert {line.name: (line.invoiced, line.paid, line.at_treasury, line.outstanding)
            for line in figures.families} == {
        "Bernard": (1600, 1280, 0, 320), "Durand": (1280, 1280, 0, 0),
        "Leroy": (960, 0, 960, 0), "Martin": (1600, 1600, 0, 0),
        "Petit": (960, 0, 960, 0), "Roux": (640, 0, 640, 0)}
    assert closed.figures["at_treasury"] == 2560 and closed.figures["outstanding"] == 320
    assert figures.receipts_by_channel == {"cheque": 1280, "online_card": 3840}
    assert figures.refunds_cents == 960
    assert closed.figures["payouts"]["fees_cents"] == fees
