"""A simulated year of a town for the money invariants (``test_money_invariants.py``):
the town, its months of bookings, the invoicing runs and the money events.

The invariants checked after each month are in ``simulation_checks.py``.
"""

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine

from portal.models import (
    Absence,
    AbsenceStatus,
    Attendance,
    FamilyQuotient,
    Reservation,
    ReservationStatus,
)
from tests.treasury.factories import (
    SYSTEM,
    assert_billed_days_match,
    make_household,
    make_priced_unit,
)
from tests.treasury.simulation_checks import _PER_FAMILY_SQL, _rows
from treasury.models import Channel, Invoice, InvoiceKind, InvoiceStatus, InvoicingRun
from treasury.selectors import invoices_with_state
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
    """Invoice the month (after checking the billed days against their sources)."""
    assert_billed_days_match(period)
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
