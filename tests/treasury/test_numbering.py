"""Document numbers: one series per kind, calendar year and commune, without gap or
duplicate, also when issues race (threads on committed data)."""

import threading
from datetime import date

import pytest
import time_machine
from django.db import connection

from core.journal import Actor
from tests.committed import throwaway_commune
from tests.treasury.factories import SYSTEM, book, make_household, make_priced_unit, weekdays
from treasury.models import Invoice, InvoiceStatus, InvoicingRun, NumberSequence, RunStatus
from treasury.services.payments import invoice_credit, payment_record
from treasury.services.runs import invoicing_run_compute, invoicing_run_issue, invoicing_run_start


def run_month(period, *, issue=True):
    run = invoicing_run_start(period=period, actor=SYSTEM)
    run = invoicing_run_compute(run_id=run.pk)
    return invoicing_run_issue(run_id=run.pk, actor=SYSTEM) if issue else run


def numbers(run) -> list[str]:
    return list(Invoice.objects.filter(run=run).order_by("sequence")
                .values_list("number", flat=True))


def test_a_new_year_starts_every_series_again_at_one(commune_a):
    with commune_a, time_machine.travel("2026-12-03 10:00 +01:00", tick=False):
        unit = make_priced_unit()
        families = []
        for name in ("Martin", "Durand"):
            family, (child,) = make_household(name)
            book(child, unit, weekdays(date(2026, 11, 2), 3) + weekdays(date(2026, 12, 1), 2))
            families.append(family)
        november = run_month(date(2026, 11, 1))
        payment_record(family=families[0], channel="cash", amount_cents=100,
                       received_on=date(2026, 12, 2), actor=SYSTEM)
        first = Invoice.objects.filter(run=november).order_by("sequence").first()
        invoice_credit(invoice=first, amount_cents=50, reason="geste", actor=SYSTEM)
        assert numbers(november) == ["F2026-00001", "F2026-00002"]
    with commune_a, time_machine.travel("2027-01-05 10:00 +01:00", tick=False):
        december = run_month(date(2026, 12, 1))
        assert numbers(december) == ["F2027-00001", "F2027-00002"]
        assert all(invoice.year == 2027 and invoice.issue_date == date(2027, 1, 5)
                   for invoice in Invoice.objects.filter(run=december))
        receipt = payment_record(family=families[1], channel="cash", amount_cents=100,
                                 received_on=date(2027, 1, 4), actor=SYSTEM).payment
        assert receipt.receipt_number == "R2027-00001"
        note = invoice_credit(invoice=first, amount_cents=50, reason="geste", actor=SYSTEM)
        assert note.number == "AV2027-00001"
        assert dict(NumberSequence.objects.filter(year=2026).values_list("series",
                                                                         "last_number")) == {
            "F": 2, "AV": 1, "R": 1}
        assert dict(NumberSequence.objects.filter(year=2027).values_list("series",
                                                                         "last_number")) == {
            "F": 2, "AV": 1, "R": 1}


def test_each_commune_has_its_own_series(commune_a, commune_b):
    with time_machine.travel("2026-04-03 10:00 +02:00", tick=False):
        with commune_a:
            unit = make_priced_unit()
            for name in ("Martin", "Durand", "Petit"):
                _family, (child,) = make_household(name)
                book(child, unit, weekdays(date(2026, 3, 2), 2))
            assert numbers(run_month(date(2026, 3, 1)))[-1] == "F2026-00003"
        with commune_b:
            unit = make_priced_unit()
            family, (child,) = make_household("Bernard")
            book(child, unit, weekdays(date(2026, 3, 2), 2))
            assert numbers(run_month(date(2026, 3, 1))) == ["F2026-00001"]
            payment = payment_record(family=family, channel="cash", amount_cents=100,
                                     received_on=date(2026, 4, 2), actor=SYSTEM).payment
            assert payment.receipt_number == "R2026-00001"
        with commune_a:
            assert NumberSequence.objects.get(series="F", year=2026).last_number == 3
            assert not NumberSequence.objects.filter(series="R").exists()


# --- Races (committed data: each thread has its own connection) -------------------------

@pytest.fixture
def committed_commune(django_db_setup, django_db_blocker):
    with throwaway_commune(django_db_blocker, "numerotation") as commune:
        yield commune


def in_threads(commune, jobs):
    """Run every job at once (a barrier), each on its own connection; return errors."""
    barrier = threading.Barrier(len(jobs))
    errors = []

    def work(job):
        try:
            connection.set_tenant(commune)
            barrier.wait(timeout=30)
            job()
        except Exception as exc:  # reported by the caller
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_issues_racing_leave_no_gap_and_no_duplicate(committed_commune, django_db_blocker,
                                                      monkeypatch):
    from treasury.services import payments

    months = [date(2026, month, 1) for month in (1, 2, 3, 4)]
    with django_db_blocker.unblock():
        with committed_commune:
            unit = make_priced_unit()
            households = []
            for index, name in enumerate(("Martin", "Durand", "Petit", "Robert", "Simon",
                                          "Girard", "Morel", "Fournier")):
                family, (child,) = make_household(name)
                households.append(family)
                # two households per month: each run numbers two invoices
                book(child, unit, weekdays(months[index // 2].replace(day=2), 2))
            with time_machine.travel("2026-05-04 10:00 +02:00", tick=False):
                runs = [run_month(month, issue=False) for month in months]
            failing = {households[6].pk, households[7].pk}  # April's families
        connection.set_schema_to_public()
        original = payments.family_credits_apply

        def credits_apply(*, family_ids, actor):
            if set(family_ids) & failing:
                raise RuntimeError("the April issue fails after taking its numbers")
            return original(family_ids=family_ids, actor=actor)

        monkeypatch.setattr(payments, "family_credits_apply", credits_apply)
        issue_day = date(2026, 5, 4)
        jobs = [lambda run=run: invoicing_run_issue(run_id=run.pk, actor=Actor.system("t"),
                                                    issue_date=issue_day) for run in runs]
        # receipts race too, in the same year's series
        jobs += [lambda family=family: payment_record(
            family=family, channel="cash", amount_cents=100, received_on=date(2026, 5, 1),
            actor=Actor.system("t")) for family in households[:6]]
        errors = in_threads(committed_commune, jobs)
        assert errors == [repr(RuntimeError("the April issue fails after taking its numbers"))]
        monkeypatch.setattr(payments, "family_credits_apply", original)

        with committed_commune:
            issued = list(Invoice.objects.exclude(status=InvoiceStatus.DRAFT)
                          .order_by("sequence").values_list("run_id", "sequence", "number"))
            assert [sequence for _run, sequence, _number in issued] == list(range(1, 7))
            assert [number for *_rest, number in issued] == [f"F2026-{n:05d}" for n in
                                                             range(1, 7)]
            for run in runs[:3]:  # a run's numbers follow each other
                mine = [sequence for run_id, sequence, _ in issued if run_id == run.pk]
                assert len(mine) == 2 and mine[1] == mine[0] + 1
            april = InvoicingRun.objects.get(pk=runs[3].pk)
            assert april.status == RunStatus.DRAFTED  # rolled back, numbers given back
            assert not Invoice.objects.filter(run=april).exclude(number="").exists()
            receipts = sorted(payments.Payment.objects.values_list("receipt_sequence",
                                                                   flat=True))
            assert receipts == list(range(1, 7))
            assert NumberSequence.objects.get(series="F", year=2026).last_number == 6
            invoicing_run_issue(run_id=april.pk, actor=SYSTEM, issue_date=issue_day)
            assert numbers(april) == ["F2026-00007", "F2026-00008"]
