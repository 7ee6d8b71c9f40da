"""Reference data a new commune starts with: treasury settings and, with the ``standard``
template, a harmonised QF grid (the brackets most CAF-aligned towns use)."""

from datetime import date

from treasury.models import QuotientGrid, TreasuryProfile

STANDARD_GRID_BOUNDS = [0, 400, 650, 900, 1200, 1600, 2000]
STANDARD_GRID_START = date(2020, 1, 1)


def treasury_defaults_create(*, commune, template: str) -> None:
    TreasuryProfile.get()
    if template == "standard":
        QuotientGrid.objects.get_or_create(
            valid_from=STANDARD_GRID_START,
            defaults={"label": "Grille harmonisée", "lower_bounds": STANDARD_GRID_BOUNDS})
