"""A month whose QF, tariff and grid change on different days, through a real run
(``treasury.facts`` counts days per validity stretch): every line is checked to the
cent, for a child billed in two households too."""

from datetime import date

import pytest
import time_machine

from portal.models import (
    Absence,
    AbsenceStatus,
    Family,
    FamilyQuotient,
    Guardian,
    Membership,
)
from portal.normalize import normalize_name
from tests.treasury.factories import SYSTEM, book, make_household, make_priced_unit, tap, weekdays
from treasury.facts import month_facts
from treasury.models import Invoice, LineKind, Tariff
from treasury.services.runs import invoicing_run_compute, invoicing_run_start
from treasury.services.tariffs import quotient_grid_set, tariff_set

MARCH = date(2026, 3, 1)
NOW = "2026-04-03 10:00 +02:00"
# March 2026: weekdays 2-6, 9-13, 16-20, 23-27, 30-31 (22 days).
MARCH_DAYS = weekdays(date(2026, 3, 2), 22)
NEW_PRICES = [110, 160, 330, 420, 470, 520, 570]  # from Friday 20 March
NEW_BOUNDS = [0, 500, 800, 1100, 1300, 1800, 2100]  # from Wednesday 25 March


def d(day: int) -> date:
    return date(2026, 3, day)


@pytest.fixture
def in_a(commune_a):
    with commune_a, time_machine.travel(NOW, tick=False):
        yield commune_a


@pytest.fixture
def changes(in_a):
    """The canteen (old prices 1,00 … 5,50 €, 2,00 € without booking) gets new prices on
    the 20th (2,50 € without booking) and the commune a new grid on the 25th."""
    unit = make_priced_unit(no_booking_surcharge_cents=200)
    tariff_set(unit=unit, valid_from=d(20), resident_cents=NEW_PRICES,
               no_booking_surcharge_cents=250, actor=SYSTEM)
    quotient_grid_set(valid_from=d(25), lower_bounds=NEW_BOUNDS, actor=SYSTEM)
    old, new = Tariff.objects.filter(unit=unit).order_by("valid_from")
    return unit, old, new


def run_march():
    run = invoicing_run_start(period=MARCH, actor=SYSTEM)
    return invoicing_run_compute(run_id=run.pk)


def lines_of(invoice):
    return sorted((line.kind, line.bracket, line.quantity, line.unit_price_cents,
                   line.amount_cents, line.tariff_id) for line in invoice.lines.all())


def add_household(child, last_name, quotient):
    """The child's other household (separated parents), with its own QF."""
    family = Family.objects.create(reference=f"F-{last_name}", name=last_name,
                                   search_name=normalize_name(last_name),
                                   address_line1="8 avenue du Vercors", postcode="38360",
                                   city="Sassenage")
    Membership.objects.create(child=child, family=family)
    Guardian.objects.create(family=family, first_name="Dominique", last_name=last_name,
                            search_name=normalize_name(last_name, "Dominique"), is_payer=True,
                            email=f"{normalize_name(last_name)}@famille.test")
    FamilyQuotient.objects.create(family=family, value=quotient, source="caf",
                                  valid_from=date(2024, 1, 1))
    return family


def test_qf_tariff_and_grid_changes_split_the_month_into_priced_stretches(changes):
    unit, old, new = changes
    family, (lea,) = make_household("Martin", quotient=700)
    FamilyQuotient.objects.filter(family=family).update(valid_until=d(15))
    FamilyQuotient.objects.create(family=family, value=1200, source="caf", valid_from=d(16))
    book(lea, unit, MARCH_DAYS)
    Absence.objects.create(child=lea, start_date=d(10), end_date=d(11),
                           status=AbsenceStatus.JUSTIFIED)  # never billed
    tap(lea, unit, d(23), present=False)  # unjustified: billed as an absence
    run = run_march()
    invoice = Invoice.objects.get(run=run)
    assert lines_of(invoice) == sorted([
        # 2-13: QF 700, old grid: bracket 3 at 3,20 € (10 days - 2 justified)
        (LineKind.USAGE, 3, 8, 320, 2560, old.pk),
        # 16-19: QF 1 200 (on a bound: the upper bracket), old tariff: bracket 5, 4,50 €
        (LineKind.USAGE, 5, 4, 450, 1800, old.pk),
        # 20-24: new tariff, same bracket: 4,70 € (20, 24; 23 absent)
        (LineKind.USAGE, 5, 2, 470, 940, new.pk),
        (LineKind.ABSENCE, 5, 1, 470, 470, new.pk),
        # 25-31: new grid, QF 1 200 is in bracket 4 there: 4,20 €
        (LineKind.USAGE, 4, 5, 420, 2100, new.pk),
    ])
    assert invoice.total_cents == 2560 + 1800 + 940 + 470 + 2100
    labels = {line.unit_price_cents: line.label for line in invoice.lines.all()
              if line.kind == LineKind.USAGE}
    assert "3" in labels[320] and "8" in labels[320] and "3,20" in labels[320]
    assert "4,70" in labels[470] and "4,20" in labels[420]
    service = run.summary["services"][unit.service.name]
    assert service["total"] == invoice.total_cents
    assert service["brackets"] == {  # days attended per bracket, across both tariffs
        "3": {"days": 8, "amount": 2560}, "4": {"days": 5, "amount": 2100},
        "5": {"days": 6, "amount": 1800 + 940}}
    assert not run.summary["anomalies"]


def test_a_child_in_two_households_is_billed_to_each_at_its_own_qf(changes):
    unit, old, new = changes
    durand, (tom,) = make_household("Durand", quotient=500, children=("Tom",))
    bernard = add_household(tom, "Bernard", 1700)
    book(tom, unit, weekdays(d(2), 5), family=durand)          # 2-6
    book(tom, unit, [d(16), d(17), d(18), d(19), d(20), d(23), d(24), d(25), d(26), d(27)],
         family=bernard)
    Absence.objects.create(child=tom, start_date=d(4), end_date=d(4),
                           status=AbsenceStatus.JUSTIFIED)
    tap(tom, unit, d(30), without_booking=True)  # no booking: the first household pays
    run = run_march()
    assert lines_of(Invoice.objects.get(run=run, family=durand)) == sorted([
        # QF 500, old grid: bracket 2 at 1,50 € (5 days - 1 justified)
        (LineKind.USAGE, 2, 4, 150, 600, old.pk),
        # the 30th: new grid (500 on a bound: bracket 2), new tariff 1,60 € + 2,50 €
        (LineKind.USAGE, 2, 1, 160, 160, new.pk),
        (LineKind.SURCHARGE, None, 1, 250, 250, new.pk),
    ])
    assert lines_of(Invoice.objects.get(run=run, family=bernard)) == sorted([
        # QF 1 700, old grid: bracket 6; old tariff 16-19, new tariff 20-24
        (LineKind.USAGE, 6, 4, 500, 2000, old.pk),
        (LineKind.USAGE, 6, 3, 520, 1560, new.pk),
        # from the 25th the new grid puts 1 700 in bracket 5
        (LineKind.USAGE, 5, 3, 470, 1410, new.pk),
    ])
    assert Invoice.objects.get(run=run, family=bernard).debtor_name == "Dominique Bernard"
    assert Invoice.objects.filter(run=run).count() == 2


def test_a_gap_in_the_qf_applies_the_communes_rule_for_those_days_only(changes):
    unit, old, _new = changes
    family, (lea,) = make_household("Martin", quotient=700)
    FamilyQuotient.objects.filter(family=family).update(valid_until=d(10))
    FamilyQuotient.objects.create(family=family, value=700, source="caf", valid_from=d(14),
                                  valid_until=d(18))
    book(lea, unit, [d(9), d(10), d(11), d(12), d(13), d(16), d(17)])
    run = run_march()
    assert lines_of(Invoice.objects.get(run=run)) == sorted([
        (LineKind.USAGE, 3, 4, 320, 1280, old.pk),  # 9, 10, 16, 17
        (LineKind.USAGE, 7, 3, 550, 1650, old.pk),  # 11-13: no QF, the highest bracket
    ])
    [anomaly] = run.summary["anomalies"]
    assert anomaly["name"] == "Camille Martin"


def naive_counts(unit, families):
    """The facts recomputed day by day in Python: {(family, tariff, grid, QF, category):
    days} (the reference the set-based statement must agree with)."""
    from portal.models import Reservation
    from treasury.models import QuotientGrid

    tariffs = list(Tariff.objects.filter(unit=unit).order_by("valid_from"))
    grids = list(QuotientGrid.objects.order_by("valid_from"))
    counts = {}
    for reservation in Reservation.objects.filter(unit=unit, status="booked",
                                                  date__month=3, date__year=2026):
        day, family = reservation.date, reservation.family_id
        tariff = [t for t in tariffs if t.valid_from <= day][-1]
        grid = [g for g in grids if g.valid_from <= day][-1]
        quotient = next((q.value for q in FamilyQuotient.objects.filter(family_id=family)
                         if q.valid_from <= day and (q.valid_until is None
                                                     or day <= q.valid_until)), None)
        key = (family, tariff.pk, grid.pk, quotient, "attended")
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_the_stretches_agree_with_a_day_by_day_count(changes):
    """Several families whose QF change on different days (each day of the month is a
    break for someone): the set-based counts equal a naive per-day count."""
    unit, _old, _new = changes
    families = []
    for index, name in enumerate(("Martin", "Durand", "Petit", "Robert", "Simon")):
        family, (child,) = make_household(name, quotient=300 + 250 * index)
        change = d(3 + 6 * index)  # the 3rd, 9th, 15th, 21st, 27th
        FamilyQuotient.objects.filter(family=family).update(valid_until=change)
        FamilyQuotient.objects.create(family=family, value=2100 - 300 * index, source="caf",
                                      valid_from=date.fromordinal(change.toordinal() + 1))
        book(child, unit, MARCH_DAYS[index::2] if index % 2 else MARCH_DAYS)
        families.append(family)
    facts = month_facts(MARCH)
    computed = {}
    for family_id, family_facts in facts.families.items():
        for count in family_facts.counts:
            key = (family_id, count.tariff_id, count.grid_id, count.quotient,
                   count.category.value)
            computed[key] = computed.get(key, 0) + count.days
    assert computed == naive_counts(unit, families)
    assert sum(computed.values()) == 3 * 22 + 11 + 10
