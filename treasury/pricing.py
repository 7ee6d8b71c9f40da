"""Pricing one family's month: a pure function of the facts and the rules (no database).

Rounding: every amount is an integer number of cents. A percentage (sibling discount) is
applied once per line to that line's base and rounded half up to the cent with ``Decimal``;
no float is ever used. Totals are exact sums of lines, and every line's amount is exactly
its quantity times its unit price.

Billing rules, one per fact:

* The bracket is read from the commune's grid valid on the days billed and the family
  quotient valid on those days; without a known quotient the commune's rule applies (the
  highest bracket by default, or the lowest).
* The day price is the tariff's resident price of the bracket, or its non-resident price
  for a family living outside the commune.
* A day attended (booked in time, or attendance not recorded) is billed at the day price.
* A day booked late is billed at the day price plus the late-booking surcharge per day.
* A day present without a booking is billed at the day price plus the no-booking surcharge.
* An unjustified absence on a booked day is billed at the day price, unless the tariff
  says otherwise; a justified absence is never billed.
* A late cancellation is billed at the day price, unless the tariff says otherwise.
* Sibling discount, per service: the children billed at least one day on that service are
  ranked by birth date, eldest first; the 2nd gets the first percentage, the 3rd and later
  the second one (or the first if there is only one). It applies to the days billed on each
  tariff (never to surcharges), as one line per child and tariff.
* Monthly minimum and maximum, per child and tariff, on the total after discount: a line
  tops a total up to the minimum (only when something is billed) or caps it at the maximum.
"""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from operator import index

from django.utils.translation import get_language, gettext_lazy, ngettext, ngettext_lazy
from django.utils.translation import gettext as _

from treasury.pricing_types import (  # noqa: F401 (re-exported)
    Category,
    ChildInfo,
    DayCount,
    FamilyFacts,
    Grid,
    LineKind,
    PricedLine,
    PricingError,
    TariffRule,
)

MISSING_RULES = ("highest", "lowest")
NBSP, NNBSP = "\u00a0", "\u202f"

ERROR_NO_PRICES = gettext_lazy("The tariff needs at least one price.")
ERROR_NEGATIVE_PRICE = gettext_lazy("Prices cannot be negative.")
ERROR_LENGTHS = gettext_lazy(
    "Resident and non-resident prices must have the same number of brackets "
    "(%(resident)s and %(non_resident)s given).")
ERROR_RESIDENT_DECREASING = gettext_lazy(
    "Resident prices: bracket %(bracket)s cannot be cheaper than bracket %(previous)s.")
ERROR_NON_RESIDENT_DECREASING = gettext_lazy(
    "Non-resident prices: bracket %(bracket)s cannot be cheaper than bracket %(previous)s.")
ERROR_DISCOUNT_COUNT = gettext_lazy(
    "Give at most two sibling discounts (2nd child, 3rd child and later).")
ERROR_DISCOUNT_RANGE = gettext_lazy("A sibling discount must be between 0 and 100 %.")
ERROR_NEGATIVE_LIMIT = gettext_lazy("The monthly minimum and maximum cannot be negative.")
ERROR_MIN_ABOVE_MAX = gettext_lazy(
    "The monthly minimum (%(minimum)s) cannot exceed the monthly maximum (%(maximum)s).")
ERROR_NEGATIVE_SURCHARGE = gettext_lazy("Surcharges cannot be negative.")


# --- Formatting --------------------------------------------------------------------------

def format_cents(amount_cents: int) -> str:
    """``320`` → ``"3,20 €"``, ``123450`` → ``"1 234,50 €"`` (narrow no-break space between
    thousands, no-break space before €), ``-320`` → ``"-3,20 €"`` (hyphen-minus)."""
    amount = index(amount_cents)  # refuses floats and Decimals
    euros, cents = divmod(abs(amount), 100)
    sign = "-" if amount < 0 else ""
    return f"{sign}{euros:,}".replace(",", NNBSP) + f",{cents:02d}{NBSP}€"


def format_percent(pct: Decimal) -> str:
    """``Decimal("10.00")`` → ``"10 %"``, ``Decimal("12.5")`` → ``"12,5 %"``."""
    return f"{Decimal(pct).normalize():f}".replace(".", ",") + f"{NBSP}%"


def total_cents(lines: Iterable[PricedLine]) -> int:
    return sum(line.amount_cents for line in lines)


# --- Rules -------------------------------------------------------------------------------

def bracket_for(grid: Grid, quotient: int | None, *, missing: str = "highest") -> int:
    """The 1-based bracket of ``quotient``; a quotient on a bound is in the upper bracket."""
    if missing not in MISSING_RULES:
        raise ValueError(f"missing must be one of {MISSING_RULES}, not {missing!r}")
    if not grid.lower_bounds:
        raise PricingError(f"grid {grid.id} has no bracket")
    if quotient is None:
        return len(grid.lower_bounds) if missing == "highest" else 1
    return max(1, bisect_right(grid.lower_bounds, quotient))


def _decreasing_errors(prices: tuple[int, ...], message) -> list[str]:
    return [message % {"bracket": k + 2, "previous": k + 1}
            for k, (low, high) in enumerate(zip(prices, prices[1:], strict=False)) if high < low]


def _discount_errors(pcts: tuple[Decimal, ...]) -> list[str]:
    errors = [str(ERROR_DISCOUNT_COUNT)] if len(pcts) > 2 else []
    if any(not (Decimal(p).is_finite() and 0 <= Decimal(p) <= 100) for p in pcts):
        errors.append(str(ERROR_DISCOUNT_RANGE))
    return errors


def _limit_errors(rule: TariffRule) -> list[str]:
    low, high = rule.min_month_cents, rule.max_month_cents
    if (low is not None and low < 0) or (high is not None and high < 0):
        return [str(ERROR_NEGATIVE_LIMIT)]
    if low is not None and high is not None and low > high:
        return [ERROR_MIN_ABOVE_MAX % {"minimum": format_cents(low),
                                       "maximum": format_cents(high)}]
    return []


def tariff_errors(rule: TariffRule, *, grid: Grid | None = None) -> list[str]:
    """What is wrong with ``rule`` (translated messages; empty when it is valid). With
    ``grid``, also that there is one price per bracket of that grid."""
    resident, non_resident = tuple(rule.resident_cents), tuple(rule.non_resident_cents)
    errors = [] if resident else [str(ERROR_NO_PRICES)]
    if any(price < 0 for price in resident + non_resident):
        errors.append(str(ERROR_NEGATIVE_PRICE))
    if len(resident) != len(non_resident):
        errors.append(ERROR_LENGTHS % {"resident": len(resident),
                                       "non_resident": len(non_resident)})
    if grid is not None and len(resident) != len(grid.lower_bounds):
        count = len(grid.lower_bounds)
        errors.append(ngettext(
            "The grid has %(count)s bracket: give one price per bracket (%(given)s given).",
            "The grid has %(count)s brackets: give one price per bracket (%(given)s given).",
            count) % {"count": count, "given": len(resident)})
    errors += _decreasing_errors(resident, ERROR_RESIDENT_DECREASING)
    errors += _decreasing_errors(non_resident, ERROR_NON_RESIDENT_DECREASING)
    errors += _discount_errors(tuple(rule.sibling_discount_pct))
    errors += _limit_errors(rule)
    if rule.late_booking_surcharge_cents < 0 or rule.no_booking_surcharge_cents < 0:
        errors.append(str(ERROR_NEGATIVE_SURCHARGE))
    return errors


# --- Pricing -----------------------------------------------------------------------------

BILLED_DAY_KINDS = (LineKind.USAGE, LineKind.ABSENCE, LineKind.LATE_CANCELLATION)
_KIND_ORDER = {kind: position for position, kind in enumerate(LineKind)}
# Why a day line exists (two surcharges may share kind, bracket and price) and its label,
# e.g. "Cantine – tranche 3 – 14 jours × 3,20 €", "Majoration réservation tardive – Cantine –
# 2 jours × 1,00 €", "Majoration présence sans réservation – …", "Absence non justifiée –
# Cantine – 1 jour × 3,20 €", "Annulation tardive – …" (the plural follows "days").
_DAY_LABELS = {
    "usage": ngettext_lazy("%(service)s – bracket %(bracket)s – %(days)s day × %(price)s",
                           "%(service)s – bracket %(bracket)s – %(days)s days × %(price)s",
                           "days"),
    "late_booking": ngettext_lazy(
        "Late booking surcharge – %(service)s – %(days)s day × %(price)s",
        "Late booking surcharge – %(service)s – %(days)s days × %(price)s", "days"),
    "no_booking": ngettext_lazy(
        "Surcharge for presence without booking – %(service)s – %(days)s day × %(price)s",
        "Surcharge for presence without booking – %(service)s – %(days)s days × %(price)s",
        "days"),
    "absence": ngettext_lazy("Unjustified absence – %(service)s – %(days)s day × %(price)s",
                             "Unjustified absence – %(service)s – %(days)s days × %(price)s",
                             "days"),
    "late_cancellation": ngettext_lazy(
        "Late cancellation – %(service)s – %(days)s day × %(price)s",
        "Late cancellation – %(service)s – %(days)s days × %(price)s", "days"),
}
_REASONS = tuple(_DAY_LABELS)
_REASON_ORDER = {reason: position for position, reason in enumerate(_REASONS)}
# Translating and formatting a label is most of the cost of pricing a month, and a month
# has few distinct labels: they are memoised per language (bounded; cleared when full).
_LABELS: dict[tuple, str] = {}
_LABELS_MAX = 100_000

DayKey = tuple  # (child, unit, tariff, kind, reason, bracket or None, unit price)


def _day_price(rule: TariffRule, bracket: int, resident: bool) -> int:
    prices = rule.resident_cents if resident else rule.non_resident_cents
    if not 1 <= bracket <= len(prices):
        raise PricingError(f"tariff {rule.id} has no price for bracket {bracket}")
    return prices[bracket - 1]


def _day_keys(category: Category, rule: TariffRule, bracket: int,
              price: int) -> tuple[tuple, ...]:
    """(kind, reason, bracket, unit price) of the lines (before merging) that days of
    ``category`` produce."""
    if category == Category.ATTENDED:
        return ((LineKind.USAGE, "usage", bracket, price),)
    if category == Category.LATE_BOOKING or category == Category.NO_BOOKING:
        surcharge = (rule.late_booking_surcharge_cents if category == Category.LATE_BOOKING
                     else rule.no_booking_surcharge_cents)
        usage = (LineKind.USAGE, "usage", bracket, price)
        if surcharge > 0:
            return usage, (LineKind.SURCHARGE, str(category), None, surcharge)
        return (usage,)
    if category == Category.UNJUSTIFIED_ABSENCE and rule.bill_unjustified_absence:
        return ((LineKind.ABSENCE, "absence", bracket, price),)
    if category == Category.LATE_CANCELLATION and rule.bill_late_cancellation:
        return ((LineKind.LATE_CANCELLATION, "late_cancellation", bracket, price),)
    return ()  # a justified absence, or a tariff that does not bill it


def _memo(key: tuple, label: str) -> str:
    if len(_LABELS) >= _LABELS_MAX:
        _LABELS.clear()
    _LABELS[key] = label
    return label


def _day_label(reason: str, service: str, bracket: int | None, days: int, price: int,
               language: str | None) -> str:
    key = (language, reason, service, bracket, days, price)
    label = _LABELS.get(key)
    if label is None:
        label = _memo(key, _DAY_LABELS[reason] % {"service": service, "bracket": bracket,
                                                  "days": days, "price": format_cents(price)})
    return label


def _rule(tariffs: Mapping[int, TariffRule], tariff_id: int) -> TariffRule:
    try:
        return tariffs[tariff_id]
    except KeyError:
        raise PricingError(f"unknown tariff {tariff_id}") from None


def _day_lines(facts: FamilyFacts, tariffs: Mapping[int, TariffRule],
               grids: Mapping[int, Grid], missing: str,
               language: str | None) -> list[tuple[str, PricedLine]]:
    quantities: dict[DayKey, int] = {}
    brackets: dict[tuple[int, int | None], int] = {}
    resident = facts.resident
    for count in facts.counts:
        days = count.days
        if days <= 0:
            continue
        rule = _rule(tariffs, count.tariff_id)
        at = (count.grid_id, count.quotient)
        bracket = brackets.get(at)
        if bracket is None:
            if count.grid_id not in grids:
                raise PricingError(f"unknown grid {count.grid_id}")
            bracket = brackets[at] = bracket_for(grids[count.grid_id], count.quotient,
                                                 missing=missing)
        price = _day_price(rule, bracket, resident)
        base = (count.child_id, count.unit_id, count.tariff_id)
        for day_key in _day_keys(count.category, rule, bracket, price):
            key = base + day_key
            quantities[key] = quantities.get(key, 0) + days
    return [(reason, PricedLine(
        child_id, unit_id, tariff_id, kind, bracket, days, cents, days * cents,
        _day_label(reason, tariffs[tariff_id].label, bracket, days, cents, language)))
        for (child_id, unit_id, tariff_id, kind, reason, bracket, cents), days
        in quantities.items()]


def _sibling_pct(rule: TariffRule, rank: int) -> Decimal:
    pcts = rule.sibling_discount_pct
    if rank < 2 or not pcts:
        return Decimal(0)
    pct = Decimal(pcts[0] if rank == 2 or len(pcts) == 1 else pcts[1])
    return min(max(pct, Decimal(0)), Decimal(100))  # tariff_errors refuses anything else


def percent_of(base_cents: int, pct: Decimal) -> int:
    """``pct`` % of ``base_cents``, rounded half up to the cent (10 % of 1235 → 124)."""
    return int((Decimal(base_cents) * Decimal(pct) / 100).quantize(Decimal(1), ROUND_HALF_UP))


def _one_line(child_id: int, rule: TariffRule, kind: LineKind, amount: int,
              label: str) -> PricedLine:
    return PricedLine(child_id, rule.unit_id, rule.id, kind, None, 1, amount, amount, label)


def _discount_lines(lines: list[PricedLine], tariffs: Mapping[int, TariffRule],
                    seniority: Callable[[int], tuple[date, int]],
                    language: str | None) -> list[PricedLine]:
    if len({line.child_id for line in lines}) < 2:
        return []  # an only child is the eldest: no sibling discount
    base: dict[tuple[int, int], int] = {}
    billed: dict[int, set[int]] = defaultdict(set)  # service -> children billed a day
    for line in lines:
        if line.kind in BILLED_DAY_KINDS:
            key = (line.child_id, line.tariff_id)
            base[key] = base.get(key, 0) + line.amount_cents
            billed[tariffs[line.tariff_id].service_id].add(line.child_id)
    discounts = []
    ranks: dict[int, dict[int, int]] = {}  # service -> child -> rank (eldest: 1)
    for (child_id, tariff_id), base_cents in base.items():
        rule = tariffs[tariff_id]
        if not rule.sibling_discount_pct:
            continue  # no discount: nothing to rank
        ranked = ranks.get(rule.service_id)
        if ranked is None:
            ranked = ranks[rule.service_id] = {child: rank for rank, child in enumerate(
                sorted(billed[rule.service_id], key=seniority), start=1)}
        rank = ranked[child_id]
        pct = _sibling_pct(rule, rank)
        amount = percent_of(base_cents, pct) if pct else 0
        if amount <= 0:
            continue
        key = ("discount", language, rank == 2, pct, rule.label)
        label = _LABELS.get(key)
        if label is None:
            values = {"percent": format_percent(pct), "service": rule.label}
            # "Réduction 2e enfant (10 %) – Cantine", "Réduction 3e enfant et suivants (…)"
            label = _memo(key, (_("2nd child discount (%(percent)s) – %(service)s")
                                if rank == 2 else
                                _("3rd and later child discount (%(percent)s) – %(service)s"))
                          % values)
        discounts.append(_one_line(child_id, rule, LineKind.DISCOUNT, -amount, label))
    return discounts


def _limit_lines(lines: list[PricedLine], tariffs: Mapping[int, TariffRule],
                 language: str | None) -> list[PricedLine]:
    totals: dict[tuple[int, int], int] = {}
    for line in lines:
        key = (line.child_id, line.tariff_id)
        totals[key] = totals.get(key, 0) + line.amount_cents
    limits = []
    for (child_id, tariff_id), total in totals.items():
        rule = tariffs[tariff_id]
        low, high = rule.min_month_cents, rule.max_month_cents
        if low is not None and total < low:
            kind, amount = LineKind.MINIMUM, low - total
        elif high is not None and total > high:
            kind, amount = LineKind.MAXIMUM, high - total
        else:
            continue
        key = (kind, language, rule.label)
        label = _LABELS.get(key)
        if label is None:  # "Minimum mensuel – Cantine", "Plafond mensuel – Cantine"
            label = _memo(key, (_("Monthly minimum – %(service)s") if kind == LineKind.MINIMUM
                                else _("Monthly cap – %(service)s")) % {"service": rule.label})
        limits.append(_one_line(child_id, rule, kind, amount, label))
    return limits


def price_family(facts: FamilyFacts, *, tariffs: Mapping[int, TariffRule],
                 grids: Mapping[int, Grid], missing: str = "highest") -> list[PricedLine]:
    """The priced lines of one family's month, ordered by child (eldest first), tariff,
    kind, bracket and price; the same facts always give the same lines."""
    if missing not in MISSING_RULES:
        raise ValueError(f"missing must be one of {MISSING_RULES}, not {missing!r}")
    births = {child.id: child.birth_date for child in facts.children}

    def seniority(child_id: int) -> tuple[date, int]:
        return births.get(child_id, date.max), child_id

    language = get_language()  # labels are memoised per language
    drafts = _day_lines(facts, tariffs, grids, missing, language)
    day_lines = [line for _reason, line in drafts]
    discounts = _discount_lines(day_lines, tariffs, seniority, language)
    drafts += [("", line) for line in discounts]
    drafts += [("", line) for line in _limit_lines(day_lines + discounts, tariffs, language)]
    elders: dict[int, tuple[date, int]] = {}

    def order(draft: tuple[str, PricedLine]):
        reason, line = draft
        child = elders.get(line.child_id)
        if child is None:
            child = elders[line.child_id] = seniority(line.child_id)
        return (child, tariffs[line.tariff_id].label, line.tariff_id, _KIND_ORDER[line.kind],
                line.bracket or 0, _REASON_ORDER.get(reason, 0), line.unit_price_cents)

    return [line for _reason, line in sorted(drafts, key=order)]
