"""Family quotient grid and unit tariffs."""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_record
from portal.models import Unit
from treasury.models import QuotientGrid, Tariff
from treasury.pricing import Grid, TariffRule, format_cents, tariff_errors

ERROR_GRID_BOUNDS = gettext_lazy(
    "The brackets must start at 0 and their lower bounds must increase.")
ERROR_NO_GRID = gettext_lazy("No family quotient grid is valid on %(day)s.")


def grid_valid_on(day: date) -> QuotientGrid | None:
    return QuotientGrid.objects.filter(valid_from__lte=day).order_by("-valid_from").first()


@transaction.atomic
def quotient_grid_set(*, valid_from: date, lower_bounds: list[int], label: str = "",
                      actor: Actor) -> QuotientGrid:
    """Create (or replace, if nothing was billed with it yet) the grid valid from a day."""
    bounds = [int(bound) for bound in lower_bounds]
    increasing = all(a < b for a, b in zip(bounds, bounds[1:], strict=False))
    if not bounds or bounds[0] != 0 or not increasing:
        raise ValidationError(ERROR_GRID_BOUNDS)
    grid, created = QuotientGrid.objects.update_or_create(
        valid_from=valid_from, defaults={"lower_bounds": bounds, "label": label})
    journal_record(actor=actor, action="treasury.grid_set", target=grid,
                   summary=_("QF grid from %(day)s: %(count)s brackets") % {
                       "day": f"{valid_from:%d/%m/%Y}", "count": len(bounds)},
                   changes={"lower_bounds": bounds, "created": created})
    return grid


@transaction.atomic
def tariff_set(*, unit: Unit, valid_from: date, resident_cents: list[int],
               non_resident_cents: list[int] | None = None,
               sibling_discount_2_pct: Decimal = Decimal(0),
               sibling_discount_3_pct: Decimal = Decimal(0),
               min_month_cents: int | None = None, max_month_cents: int | None = None,
               late_booking_surcharge_cents: int = 0, no_booking_surcharge_cents: int = 0,
               bill_unjustified_absence: bool = True, bill_late_cancellation: bool = True,
               actor: Actor) -> Tariff:
    """Set the prices of ``unit`` from ``valid_from`` (one price per bracket of the grid
    valid that day; a higher bracket may never be cheaper)."""
    grid = grid_valid_on(valid_from)
    if grid is None:
        raise ValidationError(ERROR_NO_GRID % {"day": f"{valid_from:%d/%m/%Y}"})
    non_resident = list(non_resident_cents or resident_cents)
    values = dict(
        resident_cents=[int(c) for c in resident_cents],
        non_resident_cents=[int(c) for c in non_resident],
        sibling_discount_2_pct=Decimal(sibling_discount_2_pct),
        sibling_discount_3_pct=Decimal(sibling_discount_3_pct),
        min_month_cents=min_month_cents, max_month_cents=max_month_cents,
        late_booking_surcharge_cents=late_booking_surcharge_cents,
        no_booking_surcharge_cents=no_booking_surcharge_cents,
        bill_unjustified_absence=bill_unjustified_absence,
        bill_late_cancellation=bill_late_cancellation)
    rule = TariffRule(
        id=0, unit_id=unit.pk, service_id=unit.service_id, label=unit.service.name,
        resident_cents=tuple(values["resident_cents"]),
        non_resident_cents=tuple(values["non_resident_cents"]),
        sibling_discount_pct=(values["sibling_discount_2_pct"],
                              values["sibling_discount_3_pct"]),
        min_month_cents=min_month_cents, max_month_cents=max_month_cents,
        late_booking_surcharge_cents=late_booking_surcharge_cents,
        no_booking_surcharge_cents=no_booking_surcharge_cents,
        bill_unjustified_absence=bill_unjustified_absence,
        bill_late_cancellation=bill_late_cancellation)
    errors = tariff_errors(rule, grid=Grid(id=grid.pk, lower_bounds=tuple(grid.lower_bounds)))
    if errors:
        raise ValidationError(errors)
    tariff, created = Tariff.objects.update_or_create(unit=unit, valid_from=valid_from,
                                                      defaults=values)
    journal_record(actor=actor, action="treasury.tariff_set", target=tariff,
                   summary=_("Tariff of %(unit)s from %(day)s: %(prices)s") % {
                       "unit": unit, "day": f"{valid_from:%d/%m/%Y}",
                       "prices": " / ".join(format_cents(c) for c in values["resident_cents"])},
                   changes={key: str(value) for key, value in values.items()})
    return tariff
