"""Money invariants over a simulated year of a town.

A seeded town (families with one to three children, quotients, residents and not,
three priced units, a tariff and some quotients changing in January) books, cancels,
is absent and taps in for twelve months. Each month is invoiced through the real
services (start, compute, issue); then the régie records desk payments (exact, partial,
overpaying, on chosen invoices), credits invoices with a reason, cancels some, refunds
credit by decision, and now and then a past month is corrected and run again
(regularisation lines, regularisation credit notes, a cancelled invoice billed again).

After every month the ledger is checked twice, with the project's ``Balance`` and with
independent SQL sums over the tables, per family and in total, to the cent:

* invoiced = paid + credited + outstanding, and outstanding >= 0, every invoice settled
  at most up to its total and a cancelled invoice settled exactly;
* payments = paid + refunded + unallocated, no payment used beyond its amount, no credit
  note used beyond its amount;
* every document's total is the sum of its lines.
"""

import random
from collections import Counter
from datetime import date, timedelta

import pytest
from django.db.models import OuterRef

from tests.treasury.factories import SYSTEM, make_household, make_priced_unit
from tests.treasury.simulation import (
    FIRST_MONTH,
    MONTHS,
    at,
    book_month,
    build_town,
    correct_month,
    money_events,
    month_start,
    run_month,
)
from tests.treasury.simulation_checks import check_invariants, check_statements
from treasury.models import (
    Channel,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Payment,
    Settlement,
)
from treasury.selectors import family_balance
from treasury.services.payments import invoice_cancel, invoice_credit, payment_record
from treasury.services.runs import invoicing_run_compute, invoicing_run_start

# --- The simulated year -------------------------------------------------------------------

CORRECTED = {3: 1, 6: 4, 9: 7, 11: 2}  # in month index k, month index v is corrected


@pytest.mark.parametrize("seed", [20250901, 7, 1789])
def test_money_invariants_hold_over_a_simulated_year(commune_a, seed):
    with commune_a:
        rng = random.Random(seed)
        with at(FIRST_MONTH - timedelta(days=20)):
            town = build_town(rng)
        peak = Counter()
        for index in range(MONTHS):
            period = month_start(index)
            following = month_start(index + 1)
            with at(period):
                book_month(town, period)
            with at(following + timedelta(days=1), hour=9):
                run_month(period)
                if index in CORRECTED:
                    past = month_start(CORRECTED[index])
                    correct_month(town, past)
                    run_month(past)
                    town.events["re_run"] += 1
            with at(following + timedelta(days=rng.randint(5, 25))):
                money_events(town, date.today())
                # The tables every month, the Balance selector every quarter.
                totals = check_invariants(town, f"after {period:%Y-%m}",
                                          selector=index % 3 == 2)
            peak.update({key: 1 for key, value in totals.items() if value > 0})

        # A last pass over the whole year: any month still to correct (e.g. a cancelled
        # invoice) is billed again, and then every month is settled: a re-run drafts nothing.
        with at(month_start(MONTHS) + timedelta(days=10)):
            for index in range(MONTHS):
                run_month(month_start(index))
            check_invariants(town, "after the catch-up runs")
            for index in range(MONTHS):
                run = invoicing_run_start(period=month_start(index), actor=SYSTEM)
                run = invoicing_run_compute(run_id=run.pk)
                assert not Invoice.objects.filter(run=run).exists(), month_start(index)
            totals = check_invariants(town, "at the end of the year")
            check_statements(town)

        # Not vacuous: the year saw every kind of money event.
        events = town.events
        assert totals["invoiced"] > 100_000 and totals["paid"] > 0, totals
        assert peak["outstanding"] and peak["unallocated"] and peak["credited"], peak
        assert events["payment_exact"] and events["payment_partial"], events
        assert events["payment_overpayment"] and events["payment_left_credit"], events
        assert events["payment_on_chosen_invoices"], events
        assert events["credit_note"] >= 3 and events["credit_then_cancel"], events
        assert events["cancel"] and events["refund"] and events["re_run"] == len(CORRECTED)
        lines = InvoiceLine.objects.filter(invoice__status=InvoiceStatus.ISSUED)
        assert lines.filter(kind=LineKind.REGULARISATION, invoice__kind=InvoiceKind.INVOICE
                            ).exists()
        assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE, run__isnull=False,
                                      credited_invoice__isnull=True).exists()  # re-run note
        for kind in (LineKind.DISCOUNT, LineKind.MINIMUM, LineKind.SURCHARGE,
                     LineKind.ABSENCE, LineKind.LATE_CANCELLATION):
            assert lines.filter(kind=kind).exists(), kind
        # Credit was used at issue: a payment settled an invoice issued after it.
        assert Settlement.objects.filter(payment__received_on__lt=Invoice.objects.filter(
            pk=OuterRef("invoice_id")).values("issue_date")[:1]).exists()
        assert Payment.objects.filter(channel=Channel.CHEQUE).exclude(cheque_number="").exists()


# --- The case the simulation found ---------------------------------------------------------

def test_cancelling_an_invoice_credited_after_it_was_paid_keeps_the_credit_notes_whole(
        commune_a):
    """A gesture on a paid invoice becomes family credit used elsewhere; cancelling that
    invoice later must not make its cancellation credit note settle more than its amount."""
    from tests.treasury.factories import book, weekdays

    with commune_a, at(date(2026, 4, 3)):
        unit = make_priced_unit()
        family, (lea,) = make_household()
        book(lea, unit, weekdays(date(2026, 2, 2), 3))  # February: 9,60 €
        book(lea, unit, weekdays(date(2026, 3, 2), 5))  # March: 16,00 €
        with at(date(2026, 3, 3)):
            run_month(date(2026, 2, 1))
        run_month(date(2026, 3, 1))
        february, march = Invoice.objects.order_by("sequence")
        payment_record(family=family, channel="cash", amount_cents=960,
                       received_on=date(2026, 4, 2), invoices=[february], actor=SYSTEM)
        gesture = invoice_credit(invoice=february, amount_cents=320, reason="grève",
                                 actor=SYSTEM)  # February is paid: it settles March
        note = invoice_cancel(invoice=february, reason="facture en double", actor=SYSTEM)
        used = sum(Settlement.objects.filter(credit_note=note)
                   .values_list("amount_cents", flat=True))
        assert (gesture.total_cents, note.total_cents) == (320, 640)
        assert used <= note.total_cents, "the cancellation credit note settles more than it is"
        balance = family_balance(family.pk)
        # The family owes March (16,00 €) less its 9,60 € payment: 6,40 € on March.
        assert balance.credit_notes_unapplied >= 0
        assert (balance.outstanding, balance.credit) == (640, 0)
