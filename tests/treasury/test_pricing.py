"""The pricing of a family's month (``treasury.pricing``): worked examples in exact cents,
then properties over random but valid grids, tariffs, children and counts. No database."""

import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from treasury.pricing import (
    ERROR_DISCOUNT_COUNT,
    ERROR_DISCOUNT_RANGE,
    ERROR_LENGTHS,
    ERROR_MIN_ABOVE_MAX,
    ERROR_NEGATIVE_LIMIT,
    ERROR_NEGATIVE_PRICE,
    ERROR_NEGATIVE_SURCHARGE,
    ERROR_NO_PRICES,
    ERROR_NON_RESIDENT_DECREASING,
    ERROR_RESIDENT_DECREASING,
    Category,
    ChildInfo,
    DayCount,
    FamilyFacts,
    Grid,
    LineKind,
    PricedLine,
    PricingError,
    TariffRule,
    bracket_for,
    format_cents,
    percent_of,
    price_family,
    tariff_errors,
    total_cents,
)

NBSP, NNBSP = "\u00a0", "\u202f"
GRID = Grid(id=1, lower_bounds=(0, 400, 700, 1000, 1400))  # 5 brackets
CANTINE = TariffRule(id=10, unit_id=100, service_id=1, label="Cantine",
                     resident_cents=(250, 280, 320, 360, 400),
                     non_resident_cents=(450, 480, 520, 560, 600))
ELDEST = ChildInfo(id=1, first_name="Léa", birth_date=date(2014, 3, 2))
MIDDLE = ChildInfo(id=2, first_name="Hugo", birth_date=date(2016, 9, 30))
YOUNGEST = ChildInfo(id=3, first_name="Inès", birth_date=date(2019, 1, 15))


def count(category=Category.ATTENDED, days=14, *, child=ELDEST, tariff=CANTINE, quotient=800):
    return DayCount(child_id=child.id, unit_id=tariff.unit_id, tariff_id=tariff.id,
                    grid_id=GRID.id, quotient=quotient, category=category, days=days)


def price(*counts, tariffs=(CANTINE,), resident=True, children=(ELDEST, MIDDLE, YOUNGEST),
          missing="highest"):
    facts = FamilyFacts(family_id=7, resident=resident, children=tuple(children),
                        counts=tuple(counts))
    return price_family(facts, tariffs={rule.id: rule for rule in tariffs},
                        grids={GRID.id: GRID}, missing=missing)


def summary(lines):
    return [(line.child_id, line.tariff_id, str(line.kind), line.bracket, line.quantity,
             line.unit_price_cents, line.amount_cents) for line in lines]


# --- Worked examples ---------------------------------------------------------------------

def test_fourteen_days_in_bracket_3_cost_44_80():
    lines = price(count(days=14, quotient=800))
    assert summary(lines) == [(1, 10, "usage", 3, 14, 320, 4480)]
    assert total_cents(lines) == 4480


def test_a_non_resident_family_pays_the_non_resident_price():
    lines = price(count(days=14, quotient=800), resident=False)
    assert summary(lines) == [(1, 10, "usage", 3, 14, 520, 7280)]


def test_late_booking_days_are_used_days_plus_a_surcharge_line():
    rule = replace(CANTINE, late_booking_surcharge_cents=100)
    lines = price(count(days=10, tariff=rule), count(Category.LATE_BOOKING, 2, tariff=rule),
                  tariffs=(rule,))
    assert summary(lines) == [(1, 10, "usage", 3, 12, 320, 3840),
                              (1, 10, "surcharge", None, 2, 100, 200)]
    assert total_cents(lines) == 4040


def test_late_booking_without_a_surcharge_policy_is_plain_usage():
    lines = price(count(Category.LATE_BOOKING, 2))
    assert summary(lines) == [(1, 10, "usage", 3, 2, 320, 640)]


def test_presence_without_booking_is_surcharged():
    rule = replace(CANTINE, late_booking_surcharge_cents=100, no_booking_surcharge_cents=150)
    lines = price(count(Category.NO_BOOKING, 3, tariff=rule),
                  count(Category.LATE_BOOKING, 1, tariff=rule), tariffs=(rule,))
    assert summary(lines) == [(1, 10, "usage", 3, 4, 320, 1280),
                              (1, 10, "surcharge", None, 1, 100, 100),
                              (1, 10, "surcharge", None, 3, 150, 450)]


def test_an_unjustified_absence_is_billed_unless_the_tariff_says_not():
    billed = price(count(Category.UNJUSTIFIED_ABSENCE, 2))
    assert summary(billed) == [(1, 10, "absence", 3, 2, 320, 640)]
    rule = replace(CANTINE, bill_unjustified_absence=False)
    assert price(count(Category.UNJUSTIFIED_ABSENCE, 2, tariff=rule), tariffs=(rule,)) == []


def test_a_justified_absence_is_never_billed_not_even_a_minimum():
    rule = replace(CANTINE, min_month_cents=1000, sibling_discount_pct=(Decimal(10),))
    assert price(count(Category.JUSTIFIED_ABSENCE, 5, tariff=rule), tariffs=(rule,)) == []


def test_a_late_cancellation_is_billed_unless_the_tariff_says_not():
    billed = price(count(Category.LATE_CANCELLATION, 1))
    assert summary(billed) == [(1, 10, "late_cancellation", 3, 1, 320, 320)]
    rule = replace(CANTINE, bill_late_cancellation=False)
    assert price(count(Category.LATE_CANCELLATION, 1, tariff=rule), tariffs=(rule,)) == []


def test_zero_or_negative_days_bill_nothing():
    assert price(count(days=0), count(Category.UNJUSTIFIED_ABSENCE, -2)) == []


def test_without_a_quotient_the_highest_bracket_applies_or_the_lowest_by_rule():
    assert summary(price(count(days=2, quotient=None))) == [(1, 10, "usage", 5, 2, 400, 800)]
    lowest = price(count(days=2, quotient=None), missing="lowest")
    assert summary(lowest) == [(1, 10, "usage", 1, 2, 250, 500)]
    with pytest.raises(ValueError):
        price(count(), missing="middle")


def test_bracket_for_puts_a_quotient_on_a_bound_in_the_upper_bracket():
    assert [bracket_for(GRID, q) for q in (0, 399, 400, 699, 700, 1399, 1400, 99999)] == [
        1, 1, 2, 2, 3, 4, 5, 5]
    assert bracket_for(GRID, None) == 5
    assert bracket_for(GRID, None, missing="lowest") == 1
    assert summary(price(count(days=1, quotient=700))) == [(1, 10, "usage", 3, 1, 320, 320)]


def test_two_quotients_in_a_month_give_two_lines_in_bracket_order():
    lines = price(count(days=6, quotient=1000), count(days=4, quotient=650))
    assert summary(lines) == [(1, 10, "usage", 2, 4, 280, 1120),
                              (1, 10, "usage", 4, 6, 360, 2160)]


def test_days_of_the_same_bracket_and_price_are_merged_whatever_the_quotient():
    lines = price(count(days=3, quotient=710), count(days=4, quotient=990),
                  count(Category.LATE_BOOKING, 1, quotient=800))
    assert summary(lines) == [(1, 10, "usage", 3, 8, 320, 2560)]


def test_sibling_discount_ranks_children_by_birth_date_across_units_of_a_service():
    pct = (Decimal(10), Decimal("20.5"))
    cantine = replace(CANTINE, sibling_discount_pct=pct, late_booking_surcharge_cents=100)
    maternelle = TariffRule(id=11, unit_id=101, service_id=1, label="Cantine maternelle",
                            resident_cents=(247,) * 5, non_resident_cents=(300,) * 5,
                            sibling_discount_pct=pct)
    garderie = TariffRule(id=12, unit_id=102, service_id=2, label="Garderie",
                          resident_cents=(100,) * 5, non_resident_cents=(100,) * 5,
                          sibling_discount_pct=(Decimal(50),))
    older = ChildInfo(id=9, first_name="Zoé", birth_date=date(2012, 5, 5))
    lines = price(
        count(Category.JUSTIFIED_ABSENCE, 3, child=older),  # billed nothing: not ranked
        count(days=5, child=older, tariff=garderie),  # another service: not ranked here
        count(days=5, child=YOUNGEST, tariff=maternelle),
        count(days=2, child=YOUNGEST), count(Category.LATE_BOOKING, 1, child=YOUNGEST),
        count(days=5, child=MIDDLE, tariff=maternelle),
        count(days=1, child=ELDEST),
        tariffs=(cantine, maternelle, garderie), children=(YOUNGEST, older, MIDDLE, ELDEST))
    discounts = [(line.child_id, line.tariff_id, line.amount_cents, line.quantity)
                 for line in lines if line.kind == LineKind.DISCOUNT]
    assert discounts == [
        (MIDDLE.id, 11, -124, 1),   # 2nd child: 10 % of 1235 = 123.5 → 124
        (YOUNGEST.id, 10, -197, 1),  # 3rd: 20.5 % of 960 (surcharge excluded) = 196.8
        (YOUNGEST.id, 11, -253, 1),  # 3rd: 20.5 % of 1235 = 253.175
    ]
    assert [line.child_id for line in lines] == [9, 1, 2, 2, 3, 3, 3, 3, 3]
    assert total_cents(lines) == 500 + 320 + 1235 - 124 + 960 + 100 - 197 + 1235 - 253


def test_percent_of_rounds_half_up_to_the_cent():
    assert percent_of(1235, Decimal(10)) == 124
    assert percent_of(1234, Decimal(10)) == 123
    assert percent_of(5, Decimal(10)) == 1
    assert percent_of(4, Decimal(10)) == 0
    assert percent_of(1000, Decimal("33.33")) == 333


def test_a_minimum_tops_up_and_a_maximum_caps_per_child_and_tariff():
    rule = replace(CANTINE, min_month_cents=1000, max_month_cents=5000)
    low = price(count(days=2, quotient=0, tariff=rule), tariffs=(rule,))
    assert summary(low)[-1] == (1, 10, "minimum", None, 1, 500, 500)
    assert total_cents(low) == 1000
    high = price(count(days=20, tariff=rule), count(days=3, child=MIDDLE, tariff=rule),
                 tariffs=(rule,))
    assert summary(high) == [(1, 10, "usage", 3, 20, 320, 6400),
                             (1, 10, "maximum", None, 1, -1400, -1400),
                             (2, 10, "usage", 3, 3, 320, 960),
                             (2, 10, "minimum", None, 1, 40, 40)]


def test_the_minimum_applies_after_the_discount():
    rule = replace(CANTINE, min_month_cents=1000, sibling_discount_pct=(Decimal(50),))
    lines = price(count(days=1), count(days=4, quotient=0, child=MIDDLE), tariffs=(rule,))
    assert summary(lines) == [(1, 10, "usage", 3, 1, 320, 320),
                              (1, 10, "minimum", None, 1, 680, 680),
                              (2, 10, "usage", 1, 4, 250, 1000),
                              (2, 10, "discount", None, 1, -500, -500),
                              (2, 10, "minimum", None, 1, 500, 500)]


def test_unknown_tariffs_grids_or_brackets_are_refused():
    with pytest.raises(PricingError):
        price(count(), tariffs=())
    short = replace(CANTINE, resident_cents=(250, 280))
    with pytest.raises(PricingError):
        price(count(quotient=800, tariff=short), tariffs=(short,))


def test_labels_show_service_bracket_days_and_price():
    rule = replace(CANTINE, late_booking_surcharge_cents=100, min_month_cents=10_000,
                   sibling_discount_pct=(Decimal(10),))
    with translation.override("en"):  # the source strings
        lines = price(count(days=14), count(Category.LATE_BOOKING, 1, child=MIDDLE),
                      tariffs=(rule,))
        assert [line.label for line in lines] == [
            f"Cantine – bracket 3 – 14 days × 3,20{NBSP}€",
            "Monthly minimum – Cantine",
            f"Cantine – bracket 3 – 1 day × 3,20{NBSP}€",
            f"Late booking surcharge – Cantine – 1 day × 1,00{NBSP}€",
            f"2nd child discount (10{NBSP}%) – Cantine",
            "Monthly minimum – Cantine",
        ]
    with translation.override("fr"):
        usage = price(count(days=14))[0].label
    assert usage.startswith("Cantine – ")
    assert re.search(r"\b3\b.*\b14\b.*3,20\u00a0€$", usage)


# --- Formatting and validation ---------------------------------------------------------

@pytest.mark.parametrize(("cents", "text"), [
    (0, "0,00 €"), (5, "0,05 €"), (320, "3,20 €"), (123450, "1 234,50 €"),
    (123456789, "1 234 567,89 €"), (-320, "-3,20 €"), (-123450, "-1 234,50 €"),
])
def test_format_cents(cents, text):
    assert format_cents(cents) == text.replace(" €", f"{NBSP}€").replace(" ", NNBSP)


def test_format_cents_refuses_floats_and_decimals():
    with pytest.raises(TypeError):
        format_cents(3.2)
    with pytest.raises(TypeError):
        format_cents(Decimal("3.20"))


def test_a_valid_tariff_has_no_error():
    assert tariff_errors(CANTINE) == []
    assert tariff_errors(CANTINE, grid=GRID) == []
    full = replace(CANTINE, sibling_discount_pct=(Decimal(0), Decimal(100)),
                   min_month_cents=0, max_month_cents=0)
    assert tariff_errors(full) == []


@pytest.mark.parametrize(("changes", "message"), [
    ({"resident_cents": (), "non_resident_cents": ()}, ERROR_NO_PRICES),
    ({"resident_cents": (-1, 280, 320, 360, 400)}, ERROR_NEGATIVE_PRICE),
    ({"non_resident_cents": (450, 480)},
     ERROR_LENGTHS % {"resident": 5, "non_resident": 2}),
    ({"resident_cents": (250, 280, 270, 360, 400)},
     ERROR_RESIDENT_DECREASING % {"bracket": 3, "previous": 2}),
    ({"non_resident_cents": (450, 480, 520, 560, 100)},
     ERROR_NON_RESIDENT_DECREASING % {"bracket": 5, "previous": 4}),
    ({"sibling_discount_pct": (Decimal(10), Decimal("100.01"))}, ERROR_DISCOUNT_RANGE),
    ({"sibling_discount_pct": (Decimal(-1),)}, ERROR_DISCOUNT_RANGE),
    ({"sibling_discount_pct": (Decimal(1),) * 3}, ERROR_DISCOUNT_COUNT),
    ({"min_month_cents": 2000, "max_month_cents": 1000},
     ERROR_MIN_ABOVE_MAX % {"minimum": format_cents(2000), "maximum": format_cents(1000)}),
    ({"min_month_cents": -1}, ERROR_NEGATIVE_LIMIT),
    ({"late_booking_surcharge_cents": -5}, ERROR_NEGATIVE_SURCHARGE),
    ({"no_booking_surcharge_cents": -5}, ERROR_NEGATIVE_SURCHARGE),
])
def test_tariff_errors(changes, message):
    assert tariff_errors(replace(CANTINE, **changes)) == [str(message)]


def test_tariff_errors_checks_the_grid_length_and_translates():
    errors = tariff_errors(replace(CANTINE, resident_cents=(1, 2, 3), non_resident_cents=(1, 2, 3)),
                           grid=GRID)
    assert len(errors) == 1 and "5" in errors[0] and "3" in errors[0]
    assert all(isinstance(error, str) for error in errors)
    with translation.override("fr"):
        assert tariff_errors(replace(CANTINE, no_booking_surcharge_cents=-1)) == [
            str(ERROR_NEGATIVE_SURCHARGE)]


# --- Properties --------------------------------------------------------------------------

# Strategies are built once and draw few values: generating the data costs more than pricing.
LABELS = st.sampled_from(["Cantine", "Garderie", "Accueil du mercredi"])
MONEY = st.integers(0, 300)
PERCENTS = st.lists(st.integers(0, 10_000).map(lambda n: Decimal(n) / 100), max_size=2)
LIMITS = st.lists(st.integers(0, 20_000), min_size=2, max_size=2)
GRIDS = st.builds(lambda gaps: Grid(id=1, lower_bounds=tuple(
    sum(gaps[:k]) for k in range(len(gaps) + 1))), st.lists(st.integers(1, 500), max_size=4))
# Per bracket count: a rising price list (a start then non-negative steps).
PRICES = {size: st.builds(lambda start, steps: tuple(start + sum(steps[:k]) for k in range(
    len(steps) + 1)), st.integers(0, 600), st.lists(MONEY, min_size=size - 1,
                                                    max_size=size - 1))
          for size in range(1, 6)}
# (child and tariff as one number: child = n % 4, tariff = n // 4), quotient, category, days
COUNT_PARTS = st.tuples(st.integers(0, 11), st.none() | st.integers(0, 3_000),
                        st.sampled_from(Category), st.integers(-1, 23))
BIRTHS = st.lists(st.integers(0, 5_800).map(lambda n: date(2008, 1, 1) + timedelta(n)),
                  min_size=1, max_size=4)


def tariffs_for(size: int):
    """Valid tariffs for a grid of ``size`` brackets; flags are the bits of one integer."""
    def build(tariff_id, service, label, resident, other, pcts, limits, flags, late, unbooked):
        low, high = sorted(limits)
        return TariffRule(
            id=tariff_id, unit_id=100 + tariff_id, service_id=service, label=label,
            resident_cents=resident, non_resident_cents=other, sibling_discount_pct=tuple(pcts),
            min_month_cents=low if flags & 1 else None,
            max_month_cents=high if flags & 2 else None,
            late_booking_surcharge_cents=late, no_booking_surcharge_cents=unbooked,
            bill_unjustified_absence=bool(flags & 4), bill_late_cancellation=bool(flags & 8))

    return st.builds(build, st.just(0), st.integers(1, 2), LABELS, PRICES[size], PRICES[size],
                     PERCENTS, LIMITS, st.integers(0, 15), MONEY, MONEY)


TARIFFS = {size: st.lists(tariffs_for(size), min_size=1, max_size=3) for size in range(1, 6)}


@st.composite
def scenarios(draw):
    """Valid rules and a family's month: (facts, tariffs, grids, missing)."""
    grid = draw(GRIDS)
    rules = [replace(rule, id=k + 1, unit_id=101 + k)
             for k, rule in enumerate(draw(TARIFFS[len(grid.lower_bounds)]))]
    children = tuple(ChildInfo(id=k + 1, first_name=f"Enfant {k + 1}", birth_date=birth)
                     for k, birth in enumerate(draw(BIRTHS)))
    counts = tuple(
        DayCount(child_id=children[who % 4 % len(children)].id, unit_id=rule.unit_id,
                 tariff_id=rule.id, grid_id=1, quotient=quotient, category=category, days=days)
        for who, quotient, category, days in draw(st.lists(COUNT_PARTS, max_size=8))
        for rule in [rules[who // 4 % len(rules)]])
    facts = FamilyFacts(family_id=1, resident=draw(st.booleans()), children=children,
                        counts=counts)
    return (facts, {rule.id: rule for rule in rules}, {1: grid},
            draw(st.sampled_from(["highest", "lowest"])))


def run(scenario):
    facts, tariffs, grids, missing = scenario
    return price_family(facts, tariffs=tariffs, grids=grids, missing=missing)


PROPERTY = settings(max_examples=200, deadline=None, database=None)


@PROPERTY
@given(scenarios(), st.data())
def test_a_higher_quotient_never_lowers_the_total(scenario, data):
    facts, tariffs, grids, missing = scenario
    raised = tuple(c._replace(quotient=None if c.quotient is None
                              else c.quotient + data.draw(st.integers(0, 2_000)))
                   for c in facts.counts)
    higher = run((replace(facts, counts=raised), tariffs, grids, missing))
    assert total_cents(higher) >= total_cents(run(scenario))


def assert_exact_integer_cents(lines):
    """(2) the total is the sum of the lines, each quantity × unit price; (3) ints only."""
    assert total_cents(lines) == sum(line.amount_cents for line in lines)
    for line in lines:
        assert isinstance(line, PricedLine) and type(line.kind) is LineKind
        assert type(line.quantity) is int and type(line.unit_price_cents) is int
        assert type(line.amount_cents) is int and type(line.label) is str
        assert line.bracket is None or type(line.bracket) is int
        assert line.amount_cents == line.quantity * line.unit_price_cents
        assert line.kind != LineKind.REGULARISATION


def assert_discounts_within_base(lines):
    """(4) a discount never exceeds its base; no child's tariff total, nor the family's, is
    negative."""
    base, totals = {}, {}
    for line in lines:
        key = (line.child_id, line.tariff_id)
        totals[key] = totals.get(key, 0) + line.amount_cents
        if line.kind in (LineKind.USAGE, LineKind.ABSENCE, LineKind.LATE_CANCELLATION):
            base[key] = base.get(key, 0) + line.amount_cents
    for line in lines:
        if line.kind == LineKind.DISCOUNT:
            assert 0 < -line.amount_cents <= base[line.child_id, line.tariff_id]
    assert all(total >= 0 for total in totals.values())
    assert total_cents(lines) >= 0


# Generating a scenario costs more than pricing it, so (2), (3) and (4) share one test.
@PROPERTY
@given(scenarios())
def test_lines_are_exact_integer_cents_and_discounts_stay_within_their_base(scenario):
    lines = run(scenario)
    assert_exact_integer_cents(lines)
    assert_discounts_within_base(lines)


@PROPERTY
@given(scenarios(), st.randoms(use_true_random=False))
def test_pricing_is_deterministic_and_ignores_the_order_of_counts(scenario, random):
    facts, tariffs, grids, missing = scenario
    counts = list(facts.counts)
    random.shuffle(counts)
    shuffled = (replace(facts, counts=tuple(counts)), tariffs, grids, missing)
    assert run(scenario) == run(scenario) == run(shuffled)


@PROPERTY
@given(GRIDS, st.none() | st.integers(0, 3_000))
def test_bracket_for_matches_a_linear_scan(grid, quotient):
    if quotient is None:
        assert bracket_for(grid, quotient) == len(grid.lower_bounds)
    else:
        assert bracket_for(grid, quotient) == sum(1 for b in grid.lower_bounds if b <= quotient)
