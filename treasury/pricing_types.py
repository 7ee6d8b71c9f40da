"""The values pricing works on (``treasury.pricing`` re-exports them): what happened in a
family's month (``FamilyFacts``, ``DayCount``), the rules (``TariffRule``, ``Grid``) and
the priced lines. Plain immutable data, no database."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple


class PricingError(ValueError):
    """The facts name a tariff, grid or bracket that the rules do not have."""


class Category(StrEnum):
    """What happened on a booked or attended unit-day."""

    ATTENDED = "attended"
    LATE_BOOKING = "late_booking"
    NO_BOOKING = "no_booking"
    UNJUSTIFIED_ABSENCE = "unjustified_absence"
    JUSTIFIED_ABSENCE = "justified_absence"
    LATE_CANCELLATION = "late_cancellation"


class LineKind(StrEnum):
    USAGE = "usage"
    SURCHARGE = "surcharge"
    ABSENCE = "absence"
    LATE_CANCELLATION = "late_cancellation"
    DISCOUNT = "discount"
    MINIMUM = "minimum"
    MAXIMUM = "maximum"
    REGULARISATION = "regularisation"  # not produced here: the invoicing run adds it


@dataclass(frozen=True, slots=True)
class Grid:
    """Bracket k (1-based) covers QF >= lower_bounds[k-1] and < lower_bounds[k]."""

    id: int
    lower_bounds: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class TariffRule:
    id: int
    unit_id: int
    service_id: int
    label: str
    resident_cents: tuple[int, ...]
    non_resident_cents: tuple[int, ...]
    sibling_discount_pct: tuple[Decimal, ...] = ()
    min_month_cents: int | None = None
    max_month_cents: int | None = None
    late_booking_surcharge_cents: int = 0
    no_booking_surcharge_cents: int = 0
    bill_unjustified_absence: bool = True
    bill_late_cancellation: bool = True


class DayCount(NamedTuple):
    """Days of one child on one unit in one category at one quotient (``None``: unknown).

    A named tuple, like ``PricedLine``: a month has about 150,000 of each, and a frozen
    dataclass costs several times more to build (``bench/invoicing.py``)."""

    child_id: int
    unit_id: int
    tariff_id: int
    grid_id: int
    quotient: int | None
    category: Category
    days: int


@dataclass(frozen=True, slots=True)
class ChildInfo:
    id: int
    first_name: str
    birth_date: date


@dataclass(frozen=True, slots=True)
class FamilyFacts:
    family_id: int
    resident: bool
    children: tuple[ChildInfo, ...]
    counts: tuple[DayCount, ...]


class PricedLine(NamedTuple):
    child_id: int
    unit_id: int
    tariff_id: int
    kind: LineKind
    bracket: int | None
    quantity: int
    unit_price_cents: int
    amount_cents: int
    label: str
