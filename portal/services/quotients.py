"""Writes on family quotients: one per family and period, periods never overlap.

Split out of ``portal.services.families``, which still re-exports these names.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_record
from portal.models import Family, FamilyQuotient

ERROR_QUOTIENT_VALUE = gettext_lazy("The family quotient is a whole number, zero or more.")
ERROR_QUOTIENT_SOURCE = gettext_lazy("Unknown family quotient source.")
ERROR_QUOTIENT_PERIOD = gettext_lazy("The end of the period is before its start.")
ERROR_QUOTIENT_OVERLAP = gettext_lazy(
    "This period overlaps the family quotient valid from %(start)s to %(end)s: "
    "end that one first."
)


def quotient_overlap(quotients, *, valid_from, valid_until):
    """The first of ``quotients`` whose period meets [valid_from, valid_until], or None."""
    for quotient in quotients:
        starts_before_end = valid_until is None or quotient.valid_from <= valid_until
        ends_after_start = quotient.valid_until is None or quotient.valid_until >= valid_from
        if starts_before_end and ends_after_start:
            return quotient
    return None


def quotient_overlap_error(quotient) -> ValidationError:
    end = quotient.valid_until.strftime("%d/%m/%Y") if quotient.valid_until else "…"
    return ValidationError(ERROR_QUOTIENT_OVERLAP % {
        "start": quotient.valid_from.strftime("%d/%m/%Y"), "end": end})


def quotient_set(
    *, family: Family, value: int, source: str, valid_from: datetime.date,
    valid_until: datetime.date | None = None, actor: Actor, document=None,
) -> FamilyQuotient:
    """Record a family quotient for a period; periods of one family never overlap.

    Recording exactly the same quotient again returns the existing one (no journal entry).
    """
    errors: dict[str, list] = {}
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        errors["value"] = [ERROR_QUOTIENT_VALUE]
    if source not in FamilyQuotient.Source.values:
        errors["source"] = [ERROR_QUOTIENT_SOURCE]
    if valid_until is not None and valid_until < valid_from:
        errors["valid_until"] = [ERROR_QUOTIENT_PERIOD]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        Family.objects.select_for_update().get(pk=family.pk)  # one writer per family at a time
        existing = list(FamilyQuotient.objects.filter(family=family).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=valid_from)))
        for quotient in existing:
            if (quotient.valid_from, quotient.valid_until, quotient.value, quotient.source) == (
                    valid_from, valid_until, value, source):
                return quotient
        clash = quotient_overlap(existing, valid_from=valid_from, valid_until=valid_until)
        if clash is not None:
            raise quotient_overlap_error(clash)
        quotient = FamilyQuotient.objects.create(
            family=family, value=value, source=source, valid_from=valid_from,
            valid_until=valid_until, document=document)
        journal_record(
            actor=actor, action="quotient.set", target=family,
            summary=_("Family quotient %(value)s (%(source)s) from %(start)s recorded for "
                      "family %(family)s")
            % {"value": value, "source": FamilyQuotient.Source(source).label,
               "start": valid_from.strftime("%d/%m/%Y"), "family": family.reference},
            changes={"quotient_id": quotient.pk, "value": value, "source": source,
                     "valid_from": valid_from.isoformat(),
                     "valid_until": valid_until.isoformat() if valid_until else None},
        )
    return quotient
