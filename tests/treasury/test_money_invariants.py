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
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.db.models import OuterRef

from portal.models import (
    Absence,
    AbsenceStatus,
    Attendance,
    FamilyQuotient,
    Reservation,
    ReservationStatus,
)
from tests.treasury.factories import SYSTEM, make_household, make_priced_unit
from treasury.models import (
    Channel,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    InvoicingRun,
    LineKind,
    Payment,
    Settlement,
)
from treasury.selectors import family_balance, family_statement, invoices_with_state
from treasury.services.payments import (
    credit_refund,
    invoice_cancel,
    invoice_credit,
    payment_record,
    refundable_credit,
)
from treasury.services.runs import invoicing_run_compute, invoicing_run_issue, invoicing_run_start
from treasury.services.tariffs import tariff_set

PARIS = ZoneInfo("Europe/Paris")
FIRST_MONTH = date(2025, 9, 1)  # a school year: September 2025 to August 2026
MONTHS = 12
LAST_NAMES = ["Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois",
              "Moreau", "Laurent", "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David",
              "Bertrand", "Morel", "Fournier", "Girard", "Bonnet", "Dupont", "Lambert",
              "Fontaine", "Rousseau"]
FIRST_NAMES = ["Léa", "Hugo", "Chloé", "Louis", "Emma", "Jules", "Inès", "Gabriel", "Manon",
               "Arthur", "Zoé", "Nathan", "Jade", "Raphaël", "Lina"]
DESK = [Channel.CASH, Channel.CHEQUE, Channel.CESU, Channel.HOLIDAY_VOUCHERS,
        Channel.DESK_CARD, Channel.TRANSFER]


def month_start(index: int) -> date:
    year, month = divmod(FIRST_MONTH.month - 1 + index, 12)
    return date(FIRST_MONTH.year + year, month + 1, 1)


def days_of(period: date) -> list[date]:
    day, days = period, []
    while day.month == period.month:
        days.append(day)
        day += timedelta(days=1)
    return days


def at(day: date, hour: int = 10):
    """Travel to ``day`` at ``hour`` in the commune's time zone (time stands still)."""
    return time_machine.travel(datetime(day.year, day.month, day.day, hour, tzinfo=PARIS),
                               tick=False)


# --- The town ---------------------------------------------------------------------------

@dataclass
class Town:
    rng: random.Random
    units: dict  # name -> (unit, weekdays allowed)
    families: list  # (family, children)
    # What the simulation itself did, to compare with the ledger.
    paid_in: Counter = field(default_factory=Counter)
    refunded_out: Counter = field(default_factory=Counter)
    events: Counter = field(default_factory=Counter)


def build_town(rng: random.Random) -> Town:
    canteen = make_priced_unit(name="Cantine", sibling_discount_2_pct=Decimal(10),
                               sibling_discount_3_pct=Decimal("12.5"),
                               late_booking_surcharge_cents=100, bill_late_cancellation=True)
    # A new canteen price list from January (the run must pick the tariff of each day).
    tariff_set(unit=canteen, valid_from=date(2026, 1, 1),
               resident_cents=[105, 155, 330, 415, 465, 515, 565],
               non_resident_cents=[205, 255, 430, 515, 565, 615, 665],
               sibling_discount_2_pct=Decimal(10), sibling_discount_3_pct=Decimal("12.5"),
               late_booking_surcharge_cents=100, actor=SYSTEM)
    evening = make_priced_unit(name="Garderie du soir", prices=[90, 130, 170, 210, 250, 290, 333],
                               min_month_cents=500, max_month_cents=3_000,
                               no_booking_surcharge_cents=150, bill_unjustified_absence=False)
    wednesday = make_priced_unit(name="Mercredis loisirs",
                                 prices=[300, 450, 700, 950, 1_150, 1_350, 1_575],
                                 sibling_discount_2_pct=Decimal("7.5"),
                                 bill_late_cancellation=True)
    units = {"canteen": (canteen, {0, 1, 3, 4}), "evening": (evening, {0, 1, 2, 3, 4}),
             "wednesday": (wednesday, {2})}
    families = []
    count = rng.randint(16, 22)
    for last_name in rng.sample(LAST_NAMES, count):
        quotient = None if rng.random() < 0.12 else rng.randint(0, 2_600)
        children = tuple(rng.sample(FIRST_NAMES, rng.choice([1, 1, 2, 2, 3])))
        address = "" if rng.random() < 0.08 else f"{rng.randint(1, 90)} rue des Écoles"
        family, kids = make_household(last_name, quotient=quotient, children=children,
                                      address=address)
        if rng.random() < 0.15:
            family.residency = "non_resident"
            family.save(update_fields=["residency"])
        if quotient is not None and rng.random() < 0.3:  # a new CAF quotient in January
            FamilyQuotient.objects.filter(family=family).update(valid_until=date(2025, 12, 31))
            FamilyQuotient.objects.create(family=family, value=rng.randint(0, 2_600),
                                          source="caf", valid_from=date(2026, 1, 1))
        families.append((family, kids))
    return Town(rng=rng, units=units, families=families)


def book_month(town: Town, period: date) -> None:
    """A month of bookings, cancellations, absences and attendance taps (bulk)."""
    rng = town.rng
    reservations, taps, absences = [], [], []
    for family, kids in town.families:
        if rng.random() < 0.1:  # the family is away this month
            continue
        for child in kids:
            for name, (unit, weekdays) in town.units.items():
                if rng.random() < (0.35 if name == "wednesday" else 0.6):
                    continue
                open_days = [day for day in days_of(period) if day.weekday() in weekdays]
                booked = sorted(rng.sample(open_days, rng.randint(1, len(open_days))))
                free = [day for day in open_days if day not in set(booked)]
                for day in booked:
                    reservations.append(Reservation(
                        child=child, unit=unit, family=family, date=day,
                        booked_late=rng.random() < 0.06))
                    roll = rng.random()
                    if roll < 0.05:
                        taps.append(Attendance(child=child, unit=unit, date=day, present=False))
                    elif roll < 0.08:
                        taps.append(Attendance(child=child, unit=unit, date=day, present=True))
                for day in free:
                    roll = rng.random()
                    if roll < 0.08:
                        reservations.append(Reservation(
                            child=child, unit=unit, family=family, date=day,
                            status=ReservationStatus.CANCELLED,
                            cancelled_late=rng.random() < 0.5))
                    elif roll < 0.11:
                        taps.append(Attendance(child=child, unit=unit, date=day, present=True,
                                               without_booking=True))
            if rng.random() < 0.15:
                start = rng.choice(days_of(period)[:-3])
                absences.append(Absence(
                    child=child, start_date=start,
                    end_date=start + timedelta(days=rng.randint(0, 3)),
                    status=rng.choice([AbsenceStatus.JUSTIFIED, AbsenceStatus.DECLARED])))
    Reservation.objects.bulk_create(reservations)
    Attendance.objects.bulk_create(taps)
    Absence.objects.bulk_create(absences)


def correct_month(town: Town, period: date) -> None:
    """The school corrects a past month: days recorded late for some children, booked
    days that were in fact cancelled in time or justified for others."""
    rng = town.rng
    billed = sorted({family_id for family_id in Invoice.objects.filter(
        period=period, kind=InvoiceKind.INVOICE, status=InvoiceStatus.ISSUED)
        .values_list("family_id", flat=True)})
    by_id = {family.pk: (family, kids) for family, kids in town.families}
    less = rng.sample(billed, min(3, len(billed)))
    for family_id in less:
        booked = list(Reservation.objects.filter(
            family_id=family_id, date__month=period.month, date__year=period.year,
            status=ReservationStatus.BOOKED).order_by("pk").values_list("pk", flat=True))
        # Most of the month goes: the family is surely billed less (a credit note).
        gone = rng.sample(booked, max(1, len(booked) * 3 // 4))
        Reservation.objects.filter(pk__in=gone).update(status=ReservationStatus.CANCELLED)
    more = [family_id for family_id in sorted(by_id) if family_id not in less]
    for family_id in rng.sample(more, min(4, len(more))):
        family, kids = by_id[family_id]
        child = rng.choice(kids)
        unit, weekdays = town.units["canteen"]
        taken = set(Reservation.objects.filter(child=child, unit=unit,
                                               status=ReservationStatus.BOOKED)
                    .values_list("date", flat=True))
        free = [day for day in days_of(period) if day.weekday() in weekdays
                and day not in taken]
        Reservation.objects.bulk_create([
            Reservation(child=child, unit=unit, family=family, date=day)
            for day in rng.sample(free, min(len(free), rng.randint(1, 4)))])
    family, kids = by_id[rng.choice(billed)]
    Absence.objects.create(child=kids[0], start_date=period, end_date=period + timedelta(days=6),
                           status=AbsenceStatus.JUSTIFIED)


def run_month(period: date) -> InvoicingRun:
    run = invoicing_run_start(period=period, actor=SYSTEM)
    invoicing_run_compute(run_id=run.pk)
    return invoicing_run_issue(run_id=run.pk, actor=SYSTEM)


# --- Money events -----------------------------------------------------------------------

def open_invoices(family_id: int) -> list:
    return [invoice for invoice in invoices_with_state(Invoice.objects.filter(
        family_id=family_id, kind=InvoiceKind.INVOICE, status=InvoiceStatus.ISSUED))
        .order_by("sequence") if invoice.remaining_cents > 0]


def creditable(family_id: int) -> list[tuple[Invoice, int]]:
    """Issued invoices of the family with what may still be credited on each."""
    result = []
    for invoice in Invoice.objects.filter(family_id=family_id, kind=InvoiceKind.INVOICE,
                                          status=InvoiceStatus.ISSUED).order_by("sequence"):
        credited = sum(Invoice.objects.filter(credited_invoice=invoice,
                                              status=InvoiceStatus.ISSUED)
                       .values_list("total_cents", flat=True))
        if invoice.total_cents > credited:
            result.append((invoice, invoice.total_cents - credited))
    return result


def pay(town: Town, family, today: date, due: int) -> None:
    """A desk payment: ``due`` is what the family owes net of its credit."""
    rng = town.rng
    roll = rng.random()
    if due <= 0:
        if roll > 0.1:
            return
        amount, kind = rng.randint(100, 5_000), "advance"
    elif roll < 0.4:
        amount, kind = due, "exact"
    elif roll < 0.75 and due > 1:
        amount, kind = rng.randint(1, due - 1), "partial"
    else:
        amount, kind = due + rng.randint(1, 4_000), "overpayment"
    channel = rng.choice(DESK)
    extra = {"cheque_number": f"{rng.randint(1_000_000, 9_999_999)}",
             "bank": "Crédit Agricole Sud Rhône Alpes"} if channel == Channel.CHEQUE else {}
    chosen = None
    if rng.random() < 0.2 and (candidates := open_invoices(family.pk)):
        chosen = rng.sample(candidates, rng.randint(1, len(candidates)))
        town.events["payment_on_chosen_invoices"] += 1
    outcome = payment_record(family=family, channel=channel, amount_cents=amount,
                             received_on=today - timedelta(days=rng.randint(0, 4)),
                             invoices=chosen, actor=SYSTEM, **extra)
    town.paid_in[family.pk] += amount
    town.events[f"payment_{kind}"] += 1
    if outcome.credit_cents > 0:
        town.events["payment_left_credit"] += 1


def credit(town: Town, family, *, then_cancel: bool = False) -> None:
    rng = town.rng
    candidates = creditable(family.pk)
    if not candidates:
        return
    invoice, left = rng.choice(candidates)
    amount = rng.randint(1, left) if left > 1 and rng.random() < 0.85 else left
    if then_cancel and amount == left and left > 1:
        amount = left - 1  # a partial gesture, then the whole invoice is found wrong
    invoice_credit(invoice=invoice, amount_cents=amount, reason="repas non servi (grève)",
                   actor=SYSTEM)
    town.events["credit_note"] += 1
    if then_cancel:
        invoice_cancel(invoice=invoice, reason="facture établie par erreur", actor=SYSTEM)
        town.events["credit_then_cancel"] += 1


def cancel(town: Town, family) -> None:
    invoices = list(Invoice.objects.filter(family=family, kind=InvoiceKind.INVOICE,
                                           status=InvoiceStatus.ISSUED).order_by("sequence"))
    if invoices:
        invoice_cancel(invoice=town.rng.choice(invoices), reason="erreur de tarif",
                       actor=SYSTEM)
        town.events["cancel"] += 1


def refund(town: Town, family) -> None:
    available = refundable_credit(family.pk)
    if available <= 0:
        return
    amount = available if town.rng.random() < 0.5 else town.rng.randint(1, available)
    credit_refund(family=family, amount_cents=amount, reason="départ de la commune",
                  actor=SYSTEM)
    town.refunded_out[family.pk] += amount
    town.events["refund"] += 1


def money_events(town: Town, today: date) -> None:
    rng = town.rng
    # What each family owes net of its credit (invoiced - credit notes - payments +
    # refunds), read once: a family's events touch only its own ledger.
    net_due = {row[0]: row[1] - row[2] - row[6] + row[7] for row in _rows(_PER_FAMILY_SQL)}
    for family, _kids in town.families:
        if rng.random() < 0.7:
            pay(town, family, today, net_due[family.pk])
        roll = rng.random()
        if roll < 0.08:
            credit(town, family)
        elif roll < 0.11:
            cancel(town, family)
        elif roll < 0.13:
            credit(town, family, then_cancel=True)
        if rng.random() < 0.1:
            refund(town, family)


# --- The invariants ----------------------------------------------------------------------

_PER_FAMILY_SQL = """
WITH fam AS (SELECT id FROM portal_family),
docs AS (
    SELECT family_id,
           sum(total_cents) FILTER (WHERE kind = 'invoice') AS invoiced,
           sum(total_cents) FILTER (WHERE kind = 'credit_note') AS notes
    FROM treasury_invoice WHERE status IN ('issued', 'cancelled') GROUP BY family_id
),
settled AS (
    SELECT i.family_id,
           sum(s.amount_cents) FILTER (WHERE s.payment_id IS NOT NULL) AS paid,
           sum(s.amount_cents) FILTER (WHERE s.credit_note_id IS NOT NULL) AS credited
    FROM treasury_settlement s JOIN treasury_invoice i ON i.id = s.invoice_id
    GROUP BY i.family_id
),
remaining AS (
    SELECT i.family_id,
           sum(i.total_cents - COALESCE((SELECT sum(s.amount_cents) FROM treasury_settlement s
                                         WHERE s.invoice_id = i.id), 0)) AS outstanding
    FROM treasury_invoice i
    WHERE i.kind = 'invoice' AND i.status IN ('issued', 'cancelled') GROUP BY i.family_id
),
paid_in AS (SELECT family_id, sum(amount_cents) AS payments FROM treasury_payment
            GROUP BY family_id),
paid_out AS (SELECT p.family_id, sum(r.amount_cents) AS refunded
             FROM treasury_refund r JOIN treasury_payment p ON p.id = r.payment_id
             GROUP BY p.family_id)
SELECT fam.id, COALESCE(invoiced, 0), COALESCE(notes, 0), COALESCE(paid, 0),
       COALESCE(credited, 0), COALESCE(outstanding, 0), COALESCE(payments, 0),
       COALESCE(refunded, 0)
FROM fam
LEFT JOIN docs ON docs.family_id = fam.id
LEFT JOIN settled ON settled.family_id = fam.id
LEFT JOIN remaining ON remaining.family_id = fam.id
LEFT JOIN paid_in ON paid_in.family_id = fam.id
LEFT JOIN paid_out ON paid_out.family_id = fam.id
ORDER BY fam.id
"""

_TOTALS_SQL = """
SELECT (SELECT COALESCE(sum(total_cents), 0) FROM treasury_invoice
        WHERE kind = 'invoice' AND status IN ('issued', 'cancelled')),
       (SELECT COALESCE(sum(amount_cents), 0) FROM treasury_settlement
        WHERE payment_id IS NOT NULL),
       (SELECT COALESCE(sum(amount_cents), 0) FROM treasury_settlement
        WHERE credit_note_id IS NOT NULL),
       (SELECT COALESCE(sum(amount_cents), 0) FROM treasury_payment),
       (SELECT COALESCE(sum(amount_cents), 0) FROM treasury_refund)
"""

# Each query lists what breaks one invariant; all must come back empty.
_VIOLATIONS_SQL = {
    "a document's total is not the sum of its lines": """
        SELECT i.number, i.total_cents, COALESCE(sum(l.amount_cents), 0)
        FROM treasury_invoice i LEFT JOIN treasury_invoiceline l ON l.invoice_id = i.id
        GROUP BY i.id HAVING i.total_cents <> COALESCE(sum(l.amount_cents), 0)""",
    "a line's amount is not quantity x unit price": """
        SELECT id FROM treasury_invoiceline WHERE amount_cents <> quantity * unit_price_cents""",
    "an invoice is settled beyond its total": """
        SELECT i.number, i.total_cents, sum(s.amount_cents)
        FROM treasury_invoice i JOIN treasury_settlement s ON s.invoice_id = i.id
        GROUP BY i.id HAVING sum(s.amount_cents) > i.total_cents""",
    "a cancelled invoice is not entirely settled": """
        SELECT i.number, i.total_cents, COALESCE(sum(s.amount_cents), 0)
        FROM treasury_invoice i LEFT JOIN treasury_settlement s ON s.invoice_id = i.id
        WHERE i.status = 'cancelled' GROUP BY i.id
        HAVING COALESCE(sum(s.amount_cents), 0) <> i.total_cents""",
    "something other than an issued or cancelled invoice is settled": """
        SELECT s.id, i.kind, i.status FROM treasury_settlement s
        JOIN treasury_invoice i ON i.id = s.invoice_id
        WHERE i.kind <> 'invoice' OR i.status NOT IN ('issued', 'cancelled')""",
    "a payment is used or refunded beyond its amount": """
        SELECT p.receipt_number, p.amount_cents,
               COALESCE((SELECT sum(amount_cents) FROM treasury_settlement
                         WHERE payment_id = p.id), 0),
               COALESCE((SELECT sum(amount_cents) FROM treasury_refund
                         WHERE payment_id = p.id), 0)
        FROM treasury_payment p
        WHERE p.amount_cents < COALESCE((SELECT sum(amount_cents) FROM treasury_settlement
                                         WHERE payment_id = p.id), 0)
                             + COALESCE((SELECT sum(amount_cents) FROM treasury_refund
                                         WHERE payment_id = p.id), 0)""",
    "a credit note is used beyond its amount": """
        SELECT n.number, n.total_cents, sum(s.amount_cents)
        FROM treasury_invoice n JOIN treasury_settlement s ON s.credit_note_id = n.id
        GROUP BY n.id HAVING sum(s.amount_cents) > n.total_cents""",
    "a credit note settles something else than an issued credit note": """
        SELECT s.id FROM treasury_settlement s JOIN treasury_invoice n ON n.id = s.credit_note_id
        WHERE n.kind <> 'credit_note' OR n.status <> 'issued'""",
    "an invoice is credited beyond its total": """
        SELECT i.number, i.total_cents, sum(n.total_cents)
        FROM treasury_invoice i JOIN treasury_invoice n ON n.credited_invoice_id = i.id
        WHERE n.status = 'issued' GROUP BY i.id HAVING sum(n.total_cents) > i.total_cents""",
    "money moves between families": """
        SELECT s.id FROM treasury_settlement s
        JOIN treasury_invoice i ON i.id = s.invoice_id
        LEFT JOIN treasury_payment p ON p.id = s.payment_id
        LEFT JOIN treasury_invoice n ON n.id = s.credit_note_id
        WHERE p.family_id <> i.family_id OR n.family_id <> i.family_id""",
    "an issued document has no number or a negative total": """
        SELECT id FROM treasury_invoice
        WHERE status <> 'draft' AND (number = '' OR total_cents < 0)""",
}


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def check_invariants(town: Town, when: str, *, selector: bool = True) -> dict:
    """Check every invariant, with the project's ``Balance`` too when ``selector``;
    return the totals (for the non-vacuity assertions)."""
    for invariant, sql in _VIOLATIONS_SQL.items():
        assert _rows(sql) == [], f"{when}: {invariant}"

    per_family = {row[0]: row[1:] for row in _rows(_PER_FAMILY_SQL)}
    totals = Counter()
    for family, _kids in town.families:
        invoiced, notes, paid, credited, outstanding, payments, refunded = per_family[family.pk]
        unallocated = payments - paid - refunded
        label = f"{when}, family {family.name}"
        # The identities, from the tables alone (outstanding summed invoice by invoice).
        assert invoiced == paid + credited + outstanding, label
        assert outstanding >= 0 and unallocated >= 0, label
        assert credited <= notes, f"{label}: credit notes used beyond their amount"
        # What the simulation paid in and refunded is what the ledger holds.
        assert (payments, refunded) == (town.paid_in[family.pk],
                                        town.refunded_out[family.pk]), label
        totals.update(invoiced=invoiced, notes=notes, paid=paid, credited=credited,
                      outstanding=outstanding, payments=payments, refunded=refunded,
                      unallocated=unallocated, credit=unallocated + notes - credited)
        if not selector:
            continue
        # The project's Balance says the same, to the cent.
        balance = family_balance(family.pk)
        assert (balance.invoiced, balance.paid, balance.credited, balance.outstanding,
                balance.payments, balance.refunded, balance.unallocated,
                balance.credit_notes) == (invoiced, paid, credited, outstanding, payments,
                                          refunded, unallocated, notes), label
        assert balance.invoiced == balance.paid + balance.credited + balance.outstanding
        assert balance.payments == balance.paid + balance.refunded + balance.unallocated
        assert balance.credit_notes_unapplied >= 0 and balance.credit >= 0, label

    # In total: the per-family sums are the sums over the whole tables.
    invoiced, paid, credited, payments, refunded = _rows(_TOTALS_SQL)[0]
    assert (invoiced, paid, credited, payments, refunded) == (
        totals["invoiced"], totals["paid"], totals["credited"], totals["payments"],
        totals["refunded"]), when
    assert totals["invoiced"] == totals["paid"] + totals["credited"] + totals["outstanding"]
    assert totals["payments"] == totals["paid"] + totals["refunded"] + totals["unallocated"]
    # The invoice list's state (what the pages show) agrees with the ledger.
    shown = sum(invoices_with_state(Invoice.objects.filter(
        kind=InvoiceKind.INVOICE, status__in=[InvoiceStatus.ISSUED, InvoiceStatus.CANCELLED]))
        .values_list("remaining_cents", flat=True))
    assert shown == totals["outstanding"], when
    return totals


def check_statements(town: Town) -> None:
    """Each family's statement ends on what it owes net of its credit."""
    for family, _kids in town.families:
        balance = family_balance(family.pk)
        statement = family_statement(family.pk)
        last = statement[-1].balance_cents if statement else 0
        assert last == balance.net_due == (balance.invoiced - balance.credit_notes
                                           - balance.payments + balance.refunded), family.name


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
