"""Issued documents are never edited: the database refuses it (triggers of migration
treasury 0004), while drafts stay free and credit notes and cancellations still work."""

from datetime import date

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from core.models import ActionLog
from tests.treasury.factories import SYSTEM, book, make_household, make_priced_unit, weekdays
from treasury.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    RunStatus,
    Settlement,
)
from treasury.services.payments import invoice_cancel, invoice_credit, payment_record
from treasury.services.runs import (
    invoicing_run_compute,
    invoicing_run_discard,
    invoicing_run_issue,
    invoicing_run_start,
)

MARCH = date(2026, 3, 1)
NOW = "2026-04-03 10:00 +02:00"
FROZEN_SQL = [
    "UPDATE treasury_invoice SET total_cents = total_cents + 100 WHERE id = %s",
    "UPDATE treasury_invoice SET family_id = family_id WHERE id = %s",  # same value: allowed
    "UPDATE treasury_invoice SET number = 'F2026-99999' WHERE id = %s",
    "UPDATE treasury_invoice SET sequence = 99999 WHERE id = %s",
    "UPDATE treasury_invoice SET year = 2025 WHERE id = %s",
    "UPDATE treasury_invoice SET kind = 'credit_note' WHERE id = %s",
    "UPDATE treasury_invoice SET issue_date = '2026-01-01' WHERE id = %s",
    "UPDATE treasury_invoice SET debtor_name = 'Quelqu''un d''autre' WHERE id = %s",
    "UPDATE treasury_invoice SET debtor_address1 = '1 place du Marché' WHERE id = %s",
    "UPDATE treasury_invoice SET debtor_postcode = '' WHERE id = %s",
    "UPDATE treasury_invoice SET debtor_city = 'Grenoble' WHERE id = %s",
    "UPDATE treasury_invoice SET status = 'draft' WHERE id = %s",
    "DELETE FROM treasury_invoice WHERE id = %s",
]


@pytest.fixture
def in_a(commune_a):
    with commune_a, time_machine.travel(NOW, tick=False):
        yield commune_a


def run_month(period=MARCH, *, issue=True):
    run = invoicing_run_start(period=period, actor=SYSTEM)
    run = invoicing_run_compute(run_id=run.pk)
    return invoicing_run_issue(run_id=run.pk, actor=SYSTEM) if issue else run


@pytest.fixture
def issued(in_a):
    """The Martin family's March invoice, issued: 5 days × 3,20 €."""
    unit = make_priced_unit()
    family, (lea,) = make_household()
    book(lea, unit, weekdays(date(2026, 3, 2), 5))
    run_month()
    return Invoice.objects.get(family=family)


def refused(sql, params=()):
    """True when the database refuses the statement (the test transaction goes on)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except IntegrityError as error:
        assert "cannot be" in str(error)
        return True
    return False


@pytest.mark.parametrize("sql", FROZEN_SQL)
def test_an_issued_invoice_cannot_be_changed_by_sql(issued, sql):
    assert refused(sql, [issued.pk]) == ("SET family_id = family_id" not in sql)
    issued.refresh_from_db()
    assert (issued.number, issued.total_cents, issued.status) == ("F2026-00001", 1600, "issued")


def test_an_issued_invoice_cannot_be_changed_through_the_orm(issued):
    issued.total_cents = 1
    with pytest.raises(IntegrityError), transaction.atomic():
        issued.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=issued.pk).update(debtor_city="Grenoble")
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=issued.pk).delete()


def test_its_state_reminder_and_treasury_dates_may_still_change(issued):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE treasury_invoice SET reminded_at = now(), "
                       "sent_to_treasury_at = now() WHERE id = %s", [issued.pk])
        cursor.execute("UPDATE treasury_invoice SET sent_to_treasury_at = NULL WHERE id = %s",
                       [issued.pk])
    issued.refresh_from_db()
    assert issued.reminded_at and issued.sent_to_treasury_at is None


def test_the_lines_of_an_issued_invoice_cannot_be_changed(issued):
    line = issued.lines.get()
    assert refused("UPDATE treasury_invoiceline SET quantity = 4, amount_cents = 1280 "
                   "WHERE id = %s", [line.pk])
    assert refused("UPDATE treasury_invoiceline SET label = 'autre' WHERE id = %s", [line.pk])
    assert refused("DELETE FROM treasury_invoiceline WHERE id = %s", [line.pk])
    assert refused(
        "INSERT INTO treasury_invoiceline (invoice_id, position, kind, base_kind, quantity, "
        "unit_price_cents, amount_cents, label) VALUES (%s, 9, 'usage', '', 1, 320, 320, 'x')",
        [issued.pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.create(invoice=issued, kind=LineKind.USAGE, quantity=1,
                                   unit_price_cents=320, amount_cents=320, label="ajout")
    # a line of a draft cannot be moved onto the issued invoice either
    _family, (tom,) = make_household("Durand")
    book(tom, issued.lines.get().unit, weekdays(date(2026, 4, 1), 2))
    with time_machine.travel("2026-05-04 10:00 +02:00", tick=False):
        draft = Invoice.objects.get(run=run_month(date(2026, 4, 1), issue=False))
    assert refused("UPDATE treasury_invoiceline SET invoice_id = %s WHERE invoice_id = %s",
                   [issued.pk, draft.pk])
    assert list(issued.lines.values_list("quantity", "amount_cents")) == [(5, 1600)]


def test_a_credit_notes_lines_are_frozen_once_it_has_its_line(issued):
    note = invoice_credit(invoice=issued, amount_cents=320, reason="repas non pris",
                          actor=SYSTEM)
    [line] = note.lines.all()
    assert (note.kind, note.status, line.amount_cents) == (InvoiceKind.CREDIT_NOTE,
                                                           InvoiceStatus.ISSUED, 320)
    insert = ("INSERT INTO treasury_invoiceline (invoice_id, position, kind, base_kind, "
              "quantity, unit_price_cents, amount_cents, label) "
              "VALUES (%s, 1, 'credit', '', 1, %s, %s, 'encore')")
    assert refused(insert, [note.pk, 320, 320])  # a second line
    assert refused("UPDATE treasury_invoiceline SET amount_cents = 1, unit_price_cents = 1 "
                   "WHERE id = %s", [line.pk])
    assert refused("UPDATE treasury_invoice SET total_cents = 1 WHERE id = %s", [note.pk])


def test_a_lineless_issued_credit_note_takes_only_one_line_of_its_total(issued):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO treasury_invoice (kind, status, family_id, year, sequence, number, "
            "issue_date, total_cents, reason, debtor_name, debtor_address1, debtor_address2, "
            "debtor_postcode, debtor_city, created_at) VALUES ('credit_note', 'issued', %s, "
            "2026, 77, 'AV2026-00077', '2026-04-03', 500, 'x', '', '', '', '', '', now()) "
            "RETURNING id", [issued.family_id])
        [note_id] = cursor.fetchone()
    insert = ("INSERT INTO treasury_invoiceline (invoice_id, position, kind, base_kind, "
              "quantity, unit_price_cents, amount_cents, label) VALUES {}")
    row = "(%s, 0, 'credit', '', 1, %s, %s, 'avoir')"
    assert refused(insert.format(row), [note_id, 400, 400])  # not its total
    assert refused(insert.format(f"{row}, {row}"), [note_id, 250, 250, note_id, 250, 250])
    # and an invoice (not a credit note) never takes a line once issued
    assert refused(insert.format(row), [issued.pk, 0, 0])
    assert not refused(insert.format(row), [note_id, 500, 500])


def test_a_draft_can_still_be_edited_and_discarded(in_a):
    unit = make_priced_unit()
    _family, (lea,) = make_household()
    book(lea, unit, weekdays(date(2026, 3, 2), 3))
    run = run_month(issue=False)
    draft = Invoice.objects.get(run=run)
    line = draft.lines.get()
    line.quantity, line.amount_cents = 2, 640
    line.save()
    InvoiceLine.objects.create(invoice=draft, kind=LineKind.USAGE, quantity=1,
                               unit_price_cents=320, amount_cents=320, label="ajout")
    draft.total_cents, draft.debtor_city = 960, "Grenoble"
    draft.save()
    InvoiceLine.objects.filter(pk=line.pk).delete()
    invoicing_run_discard(run=run, actor=SYSTEM)
    run.refresh_from_db()
    assert run.status == RunStatus.DISCARDED
    assert not Invoice.objects.exists() and not InvoiceLine.objects.exists()
    # the month runs again and issues normally (the drafts were numbered by one UPDATE)
    again = run_month()
    assert Invoice.objects.get(run=again).number == "F2026-00001"


def test_cancelling_still_works_and_is_journalled(issued):
    payment = payment_record(family=issued.family, channel="cash", amount_cents=1000,
                             received_on=date(2026, 4, 2), actor=SYSTEM).payment
    note = invoice_cancel(invoice=issued, reason="famille partie", actor=SYSTEM)
    issued.refresh_from_db()
    assert issued.status == InvoiceStatus.CANCELLED and issued.total_cents == 1600
    assert (note.number, note.total_cents, note.credited_invoice_id) == (
        "AV2026-00001", 1600, issued.pk)
    assert list(note.lines.values_list("kind", "amount_cents")) == [(LineKind.CREDIT, 1600)]
    assert not Settlement.objects.filter(payment=payment).exists()  # released to credit
    entry = ActionLog.objects.get(action="treasury.invoice_cancel")
    assert (entry.target_type, entry.target_id) == ("treasury.invoice", str(issued.pk))
    assert "F2026-00001" in entry.summary and "famille partie" in entry.summary
    assert entry.changes == {"credit_note": note.pk, "released_payments": [[payment.pk, 1000]]}
    # a cancelled invoice stays cancelled and keeps its lines
    assert refused("UPDATE treasury_invoice SET status = 'issued' WHERE id = %s", [issued.pk])
    assert refused("DELETE FROM treasury_invoiceline WHERE invoice_id = %s", [issued.pk])


def test_every_commune_schema_has_the_triggers(commune_a, commune_b):
    for commune in (commune_a, commune_b):
        with commune, connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND t.tgname LIKE 'treasury_invoice%%_frozen_%%'",
                [commune.schema_name])
            assert cursor.fetchone()[0] == 5
