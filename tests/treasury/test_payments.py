"""The payments ledger: desk payments and their allocation, family credit, credit notes,
cancellations, refunds, reminders, and the command line."""

from datetime import date

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import translation

from core.models import ActionLog
from tests.treasury.factories import SYSTEM, book, make_household, make_priced_unit, weekdays
from treasury.models import Invoice, InvoiceKind, InvoiceStatus, Payment, Settlement
from treasury.notifications import payment_reminders_send
from treasury.selectors import family_balance, family_statement, unpaid_invoices
from treasury.services.payments import (
    ERROR_CHEQUE,
    ERROR_CREDIT_TOO_BIG,
    ERROR_REFUND_TOO_BIG,
    credit_refund,
    invoice_cancel,
    invoice_credit,
    payment_record,
)
from treasury.services.runs import invoicing_run_compute, invoicing_run_issue, invoicing_run_start

APRIL_3 = "2026-04-03 10:00 +02:00"


@pytest.fixture
def in_a(commune_a):
    with commune_a, time_machine.travel(APRIL_3, tick=False):
        yield commune_a


def issue_month(period, **travel):
    run = invoicing_run_start(period=period, actor=SYSTEM)
    invoicing_run_compute(run_id=run.pk)
    return invoicing_run_issue(run_id=run.pk, actor=SYSTEM)


@pytest.fixture
def two_invoices(in_a):
    """The Martin family with February (3 days, 9,60 €) and March (5 days, 16,00 €)."""
    unit = make_priced_unit()
    family, (lea,) = make_household()
    book(lea, unit, weekdays(date(2026, 2, 2), 3))
    with time_machine.travel("2026-03-03 10:00 +01:00", tick=False):
        issue_month(date(2026, 2, 1))
    book(lea, unit, weekdays(date(2026, 3, 2), 5))
    issue_month(date(2026, 3, 1))
    february, march = Invoice.objects.order_by("sequence")
    return family, february, march, unit, lea


def settled(invoice) -> int:
    return sum(invoice.settlements.values_list("amount_cents", flat=True))


def test_a_payment_settles_the_oldest_invoice_first_and_journals(two_invoices):
    family, february, march, *_ = two_invoices
    outcome = payment_record(family=family, channel="cash", amount_cents=1500,
                             received_on=date(2026, 4, 2), actor=SYSTEM)
    assert (settled(february), settled(march)) == (960, 540)
    assert outcome.credit_cents == 0 and outcome.payment.receipt_number == "R2026-00001"
    entry = ActionLog.objects.get(action="treasury.payment_record")
    assert entry.changes["allocated"] == [[february.number, 960], [march.number, 540]]


def test_a_payment_settles_the_chosen_invoices_in_their_order(two_invoices):
    family, february, march, *_ = two_invoices
    payment_record(family=family, channel="cesu", amount_cents=1600,
                   received_on=date(2026, 4, 2), invoices=[march], actor=SYSTEM)
    assert (settled(february), settled(march)) == (0, 1600)


def test_an_overpayment_is_kept_as_credit_and_used_on_the_next_invoice(two_invoices):
    family, february, march, unit, lea = two_invoices
    outcome = payment_record(family=family, channel="transfer", amount_cents=3000,
                             received_on=date(2026, 4, 2), actor=SYSTEM)
    assert outcome.credit_cents == 3000 - 960 - 1600
    assert family_balance(family.pk).credit == 440
    book(lea, unit, weekdays(date(2026, 4, 1), 2))  # April: 6,40 €
    with time_machine.travel("2026-05-04 10:00 +02:00", tick=False):
        issue_month(date(2026, 4, 1))
    april = Invoice.objects.get(period=date(2026, 4, 1))
    assert settled(april) == 440
    balance = family_balance(family.pk)
    assert (balance.invoiced, balance.paid, balance.outstanding, balance.credit) == (
        960 + 1600 + 640, 3000, 200, 0)


def test_a_cheque_needs_a_number_and_a_bank_and_bad_input_writes_nothing(two_invoices):
    family, *_ = two_invoices
    with pytest.raises(ValidationError) as error:
        payment_record(family=family, channel="cheque", amount_cents=100,
                       received_on=date(2026, 4, 2), actor=SYSTEM)
    assert error.value.messages == [str(ERROR_CHEQUE)]
    for bad in ({"amount_cents": 0}, {"amount_cents": -5}, {"channel": "bitcoin"},
                {"received_on": date(2026, 4, 4)}):
        arguments = {"family": family, "channel": "cash", "amount_cents": 100,
                     "received_on": date(2026, 4, 2), "actor": SYSTEM, **bad}
        with pytest.raises(ValidationError):
            payment_record(**arguments)
    assert not Payment.objects.exists() and not Settlement.objects.exists()


def test_a_payment_reference_is_recorded_once(two_invoices):
    family, *_ = two_invoices
    first = payment_record(family=family, channel="online_card", amount_cents=960,
                           received_on=date(2026, 4, 2), reference="pi_123", actor=SYSTEM)
    again = payment_record(family=family, channel="online_card", amount_cents=960,
                           received_on=date(2026, 4, 2), reference="pi_123", actor=SYSTEM)
    assert again.payment.pk == first.payment.pk and not again.created
    assert Payment.objects.count() == 1 and Settlement.objects.count() == 1


def test_a_credit_note_reduces_an_invoice_with_its_reason(two_invoices):
    family, february, march, *_ = two_invoices
    note = invoice_credit(invoice=march, amount_cents=320, reason="repas non servi (grève)",
                          actor=SYSTEM)
    assert note.kind == InvoiceKind.CREDIT_NOTE and note.number == "AV2026-00001"
    assert note.credited_invoice == march and settled(march) == 320
    assert note.lines.get().amount_cents == 320
    march.refresh_from_db()
    assert march.total_cents == 1600  # the issued invoice itself is never edited
    with pytest.raises(ValidationError) as error:
        invoice_credit(invoice=march, amount_cents=1281, reason="trop", actor=SYSTEM)
    with translation.override("fr"):
        assert error.value.messages == [ERROR_CREDIT_TOO_BIG % {
            "amount": "12,81\u00a0€", "left": "12,80\u00a0€"}]
    with pytest.raises(ValidationError):
        invoice_credit(invoice=march, amount_cents=100, reason="  ", actor=SYSTEM)
    assert ActionLog.objects.filter(action="treasury.invoice_credit").count() == 1


def test_crediting_a_paid_invoice_gives_the_family_credit(two_invoices):
    family, february, march, *_ = two_invoices
    payment_record(family=family, channel="cash", amount_cents=960,
                   received_on=date(2026, 4, 2), invoices=[february], actor=SYSTEM)
    invoice_credit(invoice=february, amount_cents=320, reason="absence justifiée tardive",
                   actor=SYSTEM)
    # the credit note found February paid: it settles March instead
    assert settled(march) == 320
    balance = family_balance(family.pk)
    assert balance.outstanding == 1600 - 320 and balance.credit == 0


def test_cancelling_releases_the_payments_to_the_family_credit(two_invoices):
    family, february, march, *_ = two_invoices
    payment_record(family=family, channel="cash", amount_cents=500,
                   received_on=date(2026, 4, 2), invoices=[march], actor=SYSTEM)
    note = invoice_cancel(invoice=march, reason="facture en double", actor=SYSTEM)
    march.refresh_from_db()
    assert march.status == InvoiceStatus.CANCELLED and note.total_cents == 1600
    assert settled(march) == 1600  # entirely by the credit note
    assert settled(february) == 500  # the released payment went to February
    balance = family_balance(family.pk)
    assert balance.invoiced == balance.paid + balance.credited + balance.outstanding
    with pytest.raises(ValidationError):
        invoice_cancel(invoice=march, reason="encore", actor=SYSTEM)


def test_a_refund_gives_back_unused_money_only(two_invoices):
    family, *_ = two_invoices
    payment_record(family=family, channel="cash", amount_cents=3000,
                   received_on=date(2026, 4, 2), actor=SYSTEM)
    with pytest.raises(ValidationError) as error:
        credit_refund(family=family, amount_cents=441, reason="départ", actor=SYSTEM)
    with translation.override("fr"):
        assert error.value.messages == [ERROR_REFUND_TOO_BIG % {
            "credit": "4,40\u00a0€", "amount": "4,41\u00a0€"}]
    credit_refund(family=family, amount_cents=440, reason="départ de la commune", actor=SYSTEM)
    balance = family_balance(family.pk)
    assert (balance.refunded, balance.unallocated, balance.credit) == (440, 0, 0)
    assert balance.payments == balance.paid + balance.refunded + balance.unallocated
    statement = family_statement(family.pk)
    assert statement[-1].balance_cents == 0


def test_reminders_go_once_after_the_deadline_plus_the_delay(two_invoices):
    family, february, march, *_ = two_invoices
    # February is due 2 April; the reminder waits 10 more days.
    assert payment_reminders_send() == 0
    with time_machine.travel("2026-04-13 09:00 +02:00", tick=False):
        assert [i.pk for i in unpaid_invoices()] == [february.pk]
        assert payment_reminders_send() == 1
        assert payment_reminders_send() == 0
    [message] = mail.outbox
    assert february.number in message.subject and "9,60" in message.body


def test_the_command_computes_and_issues_a_month(in_a, capsys):
    unit = make_priced_unit()
    _family, (lea,) = make_household()
    book(lea, unit, weekdays(date(2026, 3, 2), 4))
    call_command("run_invoicing", "--commune", "alpha", "--period", "2026-03")
    assert "drafts" in capsys.readouterr().out
    assert Invoice.objects.get().status == InvoiceStatus.DRAFT
    with pytest.raises(CommandError):  # the month has a run under review
        call_command("run_invoicing", "--commune", "alpha", "--period", "2026-03")
    Invoice.objects.all().delete()
    from treasury.models import InvoicingRun

    InvoicingRun.objects.all().delete()
    call_command("run_invoicing", "--commune", "alpha", "--period", "2026-03", "--issue")
    assert Invoice.objects.get().number == "F2026-00001"
    for bad in (["--commune", "nowhere", "--period", "2026-03"],
                ["--commune", "alpha", "--period", "mars"]):
        with pytest.raises(CommandError):
            call_command("run_invoicing", *bad)
