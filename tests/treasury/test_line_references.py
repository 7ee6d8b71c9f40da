"""An invoice line's child, unit, tariff (treasury migration 0005) and invoice (0007):
checked by the database once per statement with the guarantees of a foreign key."""

from datetime import date

import psycopg
import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from tests.committed import raw_connection, throwaway_commune
from tests.portal.factories import make_unit
from tests.treasury.factories import book, make_household, make_priced_unit, weekdays
from treasury.models import Invoice, InvoiceLine, LineKind, Tariff
from treasury.services.runs import invoicing_run_compute, invoicing_run_start

from .factories import SYSTEM

MISSING = 987_654_321


def draft_month():
    """The Martin family's March draft: one line naming Léa, the canteen and its tariff."""
    unit = make_priced_unit()
    _family, (lea,) = make_household()
    book(lea, unit, weekdays(date(2026, 3, 2), 5))
    with time_machine.travel("2026-04-03 10:00 +02:00", tick=False):
        run = invoicing_run_start(period=date(2026, 3, 1), actor=SYSTEM)
        invoicing_run_compute(run_id=run.pk)
    return Invoice.objects.get(run=run)


@pytest.fixture
def draft(commune_a):
    with commune_a:
        yield draft_month()


def refusal(sql, params=()) -> str:
    """The database's refusal of the statement ('' if it ran); the test goes on."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except IntegrityError as error:
        return str(error)
    return ""


def add_line(invoice, **references):
    owner = {} if "invoice_id" in references else {"invoice": invoice}
    InvoiceLine.objects.create(kind=LineKind.USAGE, quantity=1, unit_price_cents=320,
                               amount_cents=320, label="Cantine", **owner, **references)


@pytest.mark.parametrize("field", ["child_id", "unit_id", "tariff_id", "invoice_id"])
def test_a_line_naming_a_missing_row_is_refused(draft, field):
    line = draft.lines.get()
    with pytest.raises(IntegrityError, match="does not exist"), transaction.atomic():
        add_line(draft, **{field: MISSING})
    assert "does not exist" in refusal(
        f"UPDATE treasury_invoiceline SET {field} = %s WHERE id = %s", [MISSING, line.pk])
    add_line(draft, child_id=line.child_id, unit_id=line.unit_id, tariff_id=line.tariff_id)
    add_line(draft)  # lines without child, unit or tariff (a credit, a fee) are fine
    assert draft.lines.count() == 3


def test_one_bad_reference_among_many_refuses_the_whole_statement(draft):
    line = draft.lines.get()
    good = dict(invoice=draft, kind=LineKind.USAGE, quantity=1, unit_price_cents=320,
                amount_cents=320, label="Cantine", child_id=line.child_id,
                unit_id=line.unit_id, tariff_id=line.tariff_id)
    lines = [InvoiceLine(**good) for _ in range(50)] + [InvoiceLine(**{**good,
                                                                      "tariff_id": MISSING})]
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.bulk_create(lines)
    assert draft.lines.count() == 1


@pytest.mark.parametrize(("table", "field"), [("portal_child", "child_id"),
                                              ("portal_unit", "unit_id"),
                                              ("treasury_tariff", "tariff_id"),
                                              ("treasury_invoice", "invoice_id")])
def test_a_row_named_by_a_line_cannot_be_deleted_or_renumbered(draft, table, field):
    named = getattr(draft.lines.get(), field)
    assert "named by invoice lines" in refusal(f"DELETE FROM {table} WHERE id = %s", [named])
    assert "cannot change" in refusal(f"UPDATE {table} SET id = %s WHERE id = %s",
                                      [MISSING, named])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE id = %s", [named])
        assert cursor.fetchone() == (1,)


def test_rows_no_line_names_are_deleted_as_before(draft):
    spare = make_priced_unit(name="Garderie")
    assert refusal("DELETE FROM treasury_tariff WHERE unit_id = %s", [spare.pk]) == ""
    assert not Tariff.objects.filter(unit=spare).exists()


def test_django_still_protects_them_first(draft):
    with pytest.raises(ProtectedError):
        draft.lines.get().tariff.delete()


# --- Against another transaction (committed data, two connections) --------------------

@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    with throwaway_commune(django_db_blocker, "lignes") as commune:
        with django_db_blocker.unblock(), commune:
            invoice = draft_month()
            line = invoice.lines.get()
            spare = make_unit(name="Étude")
        yield commune, invoice, line, spare.pk


def test_a_concurrent_delete_waits_for_the_lines_then_is_refused(committed):
    commune, invoice, line, _spare = committed
    inserter, deleter = raw_connection(commune.schema_name), raw_connection(commune.schema_name)
    try:
        inserter.execute(
            "INSERT INTO treasury_invoiceline (invoice_id, position, child_id, unit_id, "
            "tariff_id, kind, base_kind, quantity, unit_price_cents, amount_cents, label) "
            "VALUES (%s, 1, %s, %s, %s, 'usage', '', 1, 320, 320, 'Cantine')",
            [invoice.pk, line.child_id, line.unit_id, line.tariff_id])
        # The uncommitted line holds the tariff: the delete cannot go through meanwhile.
        deleter.execute("SET lock_timeout = '300ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            deleter.execute("DELETE FROM treasury_tariff WHERE id = %s", [line.tariff_id])
        deleter.rollback()
        inserter.commit()
        # The new line is committed now: the tariff stays.
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="named by invoice"):
            deleter.execute("DELETE FROM treasury_tariff WHERE id = %s", [line.tariff_id])
        deleter.rollback()
    finally:
        inserter.close()
        deleter.close()


def test_a_line_naming_a_row_deleted_meanwhile_is_refused(committed):
    commune, invoice, _line, spare = committed
    deleter, inserter = raw_connection(commune.schema_name), raw_connection(commune.schema_name)
    try:
        deleter.execute("DELETE FROM portal_unit WHERE id = %s", [spare])  # not committed
        inserter.execute("SET lock_timeout = '300ms'")
        sql = ("INSERT INTO treasury_invoiceline (invoice_id, position, unit_id, kind, "
               "base_kind, quantity, unit_price_cents, amount_cents, label) "
               "VALUES (%s, 1, %s, 'usage', '', 1, 320, 320, 'Étude')")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            inserter.execute(sql, [invoice.pk, spare])
        inserter.rollback()
        deleter.commit()
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="does not exist"):
            inserter.execute(sql, [invoice.pk, spare])
        inserter.rollback()
    finally:
        inserter.close()
        deleter.close()
