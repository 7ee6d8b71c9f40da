"""The invoicing run: facts read in SQL, drafts, review summary, issue, re-runs."""

from datetime import date

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from core.models import ActionLog
from portal.models import Absence, AbsenceStatus, ReservationStatus
from tests.treasury.factories import SYSTEM, book, make_household, make_priced_unit, tap, weekdays
from treasury.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    InvoicingRun,
    LineKind,
    RunStatus,
)
from treasury.services.runs import (
    ERROR_FUTURE_MONTH,
    ERROR_RUN_ACTIVE,
    invoicing_run_compute,
    invoicing_run_discard,
    invoicing_run_issue,
    invoicing_run_issue_request,
    invoicing_run_start,
)
from treasury.tasks import invoicing_run_compute_task

MARCH = date(2026, 3, 1)
NOW = "2026-04-03 10:00 +02:00"


@pytest.fixture
def in_a(commune_a):
    with commune_a, time_machine.travel(NOW, tick=False):
        yield commune_a


def run_month(period=MARCH, *, issue=False):
    run = invoicing_run_start(period=period, actor=SYSTEM)
    run = invoicing_run_compute(run_id=run.pk)
    if issue:
        run = invoicing_run_issue(run_id=run.pk, actor=SYSTEM)
    return run


def test_a_month_is_priced_from_bookings_attendance_and_absences(in_a):
    unit = make_priced_unit(late_booking_surcharge_cents=100)
    family, (lea,) = make_household(quotient=700)  # bracket 3: 3,20 €
    days = weekdays(date(2026, 3, 2), 16)
    book(lea, unit, days[:12])
    book(lea, unit, days[12:14], booked_late=True)
    Absence.objects.create(child=lea, start_date=days[0], end_date=days[0],
                           status=AbsenceStatus.JUSTIFIED)
    tap(lea, unit, days[1], present=False)          # absent, not justified: billed
    tap(lea, unit, days[15], without_booking=True)  # present without booking
    run = run_month()
    assert run.status == RunStatus.DRAFTED
    invoice = Invoice.objects.get(run=run)
    lines = {(line.kind, line.quantity, line.unit_price_cents)
             for line in invoice.lines.all()}
    # 12 booked - 1 justified - 1 absent = 10, + 2 late + 1 without booking = 13 days
    assert (LineKind.USAGE, 13, 320) in lines
    assert (LineKind.ABSENCE, 1, 320) in lines
    assert (LineKind.SURCHARGE, 2, 100) in lines
    assert invoice.total_cents == sum(line.amount_cents for line in invoice.lines.all())
    assert invoice.total_cents == 14 * 320 + 2 * 100
    assert invoice.status == InvoiceStatus.DRAFT and not invoice.number
    assert invoice.debtor_name == "Camille Martin" and invoice.debtor_city == "Sassenage"


def test_the_summary_totals_by_service_and_bracket_and_lists_anomalies(in_a):
    unit = make_priced_unit()
    _, (lea,) = make_household("Martin", quotient=700)
    _, (tom,) = make_household("Durand", quotient=None, address="")
    book(lea, unit, weekdays(date(2026, 3, 2), 4))
    book(tom, unit, weekdays(date(2026, 3, 2), 2))
    run = run_month()
    service = run.summary["services"][unit.service.name]
    assert service["brackets"]["3"] == {"days": 4, "amount": 1280}
    assert service["brackets"]["7"] == {"days": 2, "amount": 1100}  # no QF: highest
    assert run.summary["invoices"] == 2 and run.summary["total_cents"] == 2380
    [anomaly] = run.summary["anomalies"]
    assert anomaly["name"] == "Camille Durand" and len(anomaly["reasons"]) == 2


def test_issuing_numbers_without_gaps_sets_due_dates_and_journals(in_a):
    unit = make_priced_unit()
    for name in ("Martin", "Durand", "Petit"):
        _, (child,) = make_household(name)
        book(child, unit, weekdays(date(2026, 3, 2), 3))
    run = run_month(issue=True)
    invoices = list(Invoice.objects.filter(run=run).order_by("sequence"))
    assert [i.number for i in invoices] == ["F2026-00001", "F2026-00002", "F2026-00003"]
    assert [i.debtor_name for i in invoices] == sorted(i.debtor_name for i in invoices)
    assert all(i.status == InvoiceStatus.ISSUED and i.due_date == date(2026, 5, 3)
               for i in invoices)
    assert ActionLog.objects.filter(action="treasury.invoice_issue").count() == 3
    # the next month continues the series
    book(invoices[0].lines.first().child, unit, weekdays(date(2026, 4, 1), 2))
    with time_machine.travel("2026-05-02 10:00 +02:00", tick=False):
        april = run_month(date(2026, 4, 1), issue=True)
    assert Invoice.objects.get(run=april).number == "F2026-00004"


def test_re_running_an_unchanged_month_gives_nothing(in_a):
    unit = make_priced_unit()
    _, (lea,) = make_household()
    book(lea, unit, weekdays(date(2026, 3, 2), 5))
    run_month(issue=True)
    again = run_month()
    assert again.status == RunStatus.DRAFTED
    assert not Invoice.objects.filter(run=again).exists()
    assert Invoice.objects.filter(period=MARCH, status=InvoiceStatus.ISSUED).count() == 1


def test_corrections_of_a_past_month_become_regularisation_lines(in_a):
    unit = make_priced_unit()
    _, (lea,) = make_household()
    days = weekdays(date(2026, 3, 2), 10)
    book(lea, unit, days[:8])
    first = run_month(issue=True)
    original = Invoice.objects.get(run=first)
    book(lea, unit, days[8:])  # two days recorded late by the school
    second = run_month(issue=True)
    [line] = Invoice.objects.get(run=second).lines.all()
    assert line.kind == LineKind.REGULARISATION and line.base_kind == LineKind.USAGE
    assert (line.quantity, line.unit_price_cents, line.amount_cents) == (2, 320, 640)
    original.refresh_from_db()
    assert original.total_cents == 8 * 320  # the issued invoice was not edited
    # a day billed but in fact justified: a credit note for that day
    Absence.objects.create(child=lea, start_date=days[0], end_date=days[0],
                           status=AbsenceStatus.JUSTIFIED)
    third = run_month(issue=True)
    note = Invoice.objects.get(run=third)
    assert note.kind == InvoiceKind.CREDIT_NOTE and note.total_cents == 320
    assert note.number.startswith("AV2026-")
    assert not Invoice.objects.filter(run=run_month()).exists()


def test_a_cancelled_invoice_is_billed_again_by_a_re_run(in_a):
    from treasury.services.payments import invoice_cancel

    unit = make_priced_unit()
    _, (lea,) = make_household()
    book(lea, unit, weekdays(date(2026, 3, 2), 3))
    invoice = Invoice.objects.get(run=run_month(issue=True))
    invoice_cancel(invoice=invoice, reason="erreur de tarif", actor=SYSTEM)
    again = Invoice.objects.get(run=run_month())
    assert again.total_cents == 960 and again.lines.get().kind == LineKind.USAGE


def test_only_one_active_run_per_month_and_not_for_the_future(in_a):
    invoicing_run_start(period=MARCH, actor=SYSTEM)
    with pytest.raises(ValidationError) as error:
        invoicing_run_start(period=date(2026, 3, 15), actor=SYSTEM)
    assert error.value.messages == [ERROR_RUN_ACTIVE % {"month": "mars 2026"}]
    with pytest.raises(ValidationError) as error:
        invoicing_run_start(period=date(2026, 5, 1), actor=SYSTEM)
    assert error.value.messages == [str(ERROR_FUTURE_MONTH)]


def test_a_discarded_run_leaves_nothing_and_the_month_can_run_again(in_a):
    unit = make_priced_unit()
    _, (lea,) = make_household()
    book(lea, unit, weekdays(date(2026, 3, 2), 3))
    run = run_month()
    invoicing_run_discard(run=run, actor=SYSTEM)
    assert not Invoice.objects.exists() and not InvoiceLine.objects.exists()
    assert Invoice.objects.filter(run=run_month()).count() == 1


def test_the_task_computes_in_the_communes_schema_and_is_idempotent(in_a):
    unit = make_priced_unit()
    _, (lea,) = make_household()
    book(lea, unit, weekdays(date(2026, 3, 2), 3))
    run = invoicing_run_start(period=MARCH, actor=SYSTEM)
    result = invoicing_run_compute_task.apply(args=[run.pk],
                                              headers={"_schema_name": "alpha"}).get()
    assert result == {"run": run.pk, "status": "drafted"}
    invoicing_run_compute(run_id=run.pk)  # a second delivery changes nothing
    assert Invoice.objects.filter(run=run).count() == 1


def test_a_failing_computation_removes_its_drafts_and_says_so(in_a, monkeypatch):
    from treasury.services import runs

    unit = make_priced_unit()
    for name in ("Martin", "Durand"):
        _, (child,) = make_household(name)
        book(child, unit, weekdays(date(2026, 3, 2), 3))
    monkeypatch.setattr(runs, "BATCH_FAMILIES", 1)
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(*args, **kwargs)

    original = runs.price_family
    monkeypatch.setattr(runs, "price_family", failing)
    run = invoicing_run_start(period=MARCH, actor=SYSTEM)
    with pytest.raises(RuntimeError):
        invoicing_run_compute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "disk full" in run.error
    assert not Invoice.objects.exists()


def test_lines_the_database_refuses_fail_the_run_and_leave_nothing(in_a, monkeypatch):
    """The lines' COPY is checked when it ends (treasury 0005, 0007), after the batch's
    invoices were written: the refusal rolls the whole batch back."""
    from treasury.services import runs

    unit = make_priced_unit()
    for name in ("Martin", "Durand", "Petit"):
        _, (child,) = make_household(name)
        book(child, unit, weekdays(date(2026, 3, 2), 3))
    monkeypatch.setattr(runs, "BATCH_FAMILIES", 2)
    original = runs.price_family

    def naming_a_missing_child(facts, **rules):
        return [line._replace(child_id=987_654_321) for line in original(facts, **rules)]

    monkeypatch.setattr(runs, "price_family", naming_a_missing_child)
    run = invoicing_run_start(period=MARCH, actor=SYSTEM)
    with pytest.raises(IntegrityError, match="names a child that does not exist"):
        invoicing_run_compute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "does not exist" in run.error
    assert not Invoice.objects.exists() and not InvoiceLine.objects.exists()


def test_issuing_twice_is_refused_and_families_are_emailed_after_commit(
        in_a, django_capture_on_commit_callbacks):
    from treasury.tasks import invoices_available_notify_task

    unit = make_priced_unit()
    _, (lea,) = make_household(email="camille@famille.test")
    book(lea, unit, weekdays(date(2026, 3, 2), 3))
    run = run_month()
    invoicing_run_issue_request(run=run, actor=SYSTEM)
    with pytest.raises(ValidationError):
        invoicing_run_issue_request(run=run, actor=SYSTEM)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invoicing_run_issue(run_id=run.pk, actor=SYSTEM)
    assert callbacks  # the e-mail task is queued after commit only
    invoices_available_notify_task.apply(args=[run.pk], headers={"_schema_name": "alpha"})
    [message] = mail.outbox
    assert message.to == ["camille@famille.test"] and "F2026-00001" in message.subject
    assert "9,60" in message.body
    with pytest.raises(ValidationError):
        invoicing_run_issue(run_id=run.pk, actor=SYSTEM)


def test_late_cancellations_and_cancelled_days(in_a):
    unit = make_priced_unit()
    _, (lea,) = make_household()
    days = weekdays(date(2026, 3, 2), 3)
    book(lea, unit, days[:1], status=ReservationStatus.CANCELLED)
    book(lea, unit, days[1:2], status=ReservationStatus.CANCELLED, cancelled_late=True)
    run = run_month()
    [line] = Invoice.objects.get(run=run).lines.all()
    assert (line.kind, line.quantity) == (LineKind.LATE_CANCELLATION, 1)


def test_runs_of_one_commune_never_see_another(in_a, commune_b):
    unit = make_priced_unit()
    _, (lea,) = make_household()
    book(lea, unit, weekdays(date(2026, 3, 2), 3))
    run_month(issue=True)
    with commune_b:
        assert not Invoice.objects.exists()
        run = run_month()
        assert run.summary["invoices"] == 0 and not InvoicingRun.objects.exclude(pk=run.pk).exists()



def test_credit_is_used_at_issue_in_statements_that_do_not_grow_with_families(in_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from treasury.models import NumberSequence, Settlement
    from treasury.services.payments import payment_record

    unit = make_priced_unit()
    for series in ("F", "AV"):  # as after a first issue: both issues below use the same rows
        NumberSequence.objects.create(series=series, year=2026)

    def issue_with_credit(names, period, *, now):
        with time_machine.travel(now, tick=False):
            for name in names:
                family, (child,) = make_household(name)
                book(child, unit, weekdays(period.replace(day=2), 3))  # 3 × 3,20 € = 9,60 €
                payment_record(family=family, channel="cash", amount_cents=500,
                               received_on=period.replace(day=20), actor=SYSTEM)
            run = run_month(period)
            with CaptureQueriesContext(connection) as queries:
                invoicing_run_issue(run_id=run.pk, actor=SYSTEM)
        return len(queries)

    one = issue_with_credit(["Martin"], MARCH, now=NOW)
    four = issue_with_credit(["Durand", "Petit", "Robert", "Simon"], date(2026, 4, 1),
                             now="2026-05-04 10:00 +02:00")
    # 5,00 € of credit on each 9,60 € invoice; one journal entry per family served
    assert list(Settlement.objects.values_list("amount_cents", flat=True)) == [500] * 5
    assert ActionLog.objects.filter(action="treasury.credit_apply").count() == 5
    assert one == four
