"""Parents' invoices and account statement (their own households only)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone

from portal.access import parent_families
from treasury import selectors


def _households(request):
    if request.user.is_agent:
        raise PermissionDenied
    return list(parent_families(request.user))


@login_required
def parent_invoices(request):
    households = [{"family": family, "balance": selectors.family_balance(family.pk),
                   "invoices": selectors.family_invoices(family.pk)}
                  for family in _households(request)]
    year = timezone.localdate().year
    return render(request, "treasury/parent/invoices.html", {
        "households": households, "tax_years": [year - 1, year]})


@login_required
def parent_statement(request):
    households = [{"family": family, "balance": selectors.family_balance(family.pk),
                   "statement": selectors.family_statement(family.pk)}
                  for family in _households(request)]
    return render(request, "treasury/parent/statement.html", {"households": households})
