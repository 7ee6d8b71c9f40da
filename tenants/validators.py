"""Validation of onboarding input, with messages in French via gettext."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOST_RE = re.compile(rf"^(?=.{{1,253}}$)({_LABEL})(\.{_LABEL})*$")
INSEE_RE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")

ERROR_SLUG_FORMAT = _(
    "The identifier must be 3 to 40 characters: lower-case letters without accents, "
    "digits and single hyphens, starting with a letter."
)
ERROR_SLUG_RESERVED = _("This identifier is reserved by the platform.")
ERROR_HOST_FORMAT = _("Enter a valid host name, for example sassenage.parvis.fr.")
ERROR_INSEE = _(
    "An INSEE code has 5 characters: 5 digits, or 2A/2B followed by 3 digits for Corsica.")
ERROR_SIRET_FORMAT = _("A SIRET number has exactly 14 digits.")
ERROR_SIRET_CHECKSUM = _("This SIRET number is invalid (check digit incorrect).")


def validate_slug(value: str) -> None:
    if not (3 <= len(value) <= 40) or not SLUG_RE.match(value):
        raise ValidationError(ERROR_SLUG_FORMAT, code="slug_format")
    if value in settings.RESERVED_SLUGS or value.startswith("pg"):
        raise ValidationError(ERROR_SLUG_RESERVED, code="slug_reserved")


def validate_host(value: str) -> None:
    if not HOST_RE.match(value) or "." not in value:
        raise ValidationError(ERROR_HOST_FORMAT, code="host_format")


def validate_insee(value: str) -> None:
    if not INSEE_RE.match(value):
        raise ValidationError(ERROR_INSEE, code="insee")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        number = int(char)
        if index % 2 == 1:
            number *= 2
            if number > 9:
                number -= 9
        total += number
    return total % 10 == 0


def validate_siret(value: str) -> None:
    if not re.fullmatch(r"\d{14}", value):
        raise ValidationError(ERROR_SIRET_FORMAT, code="siret_format")
    if luhn_valid(value):
        return
    # La Poste's establishments (SIREN 356000000) also use another rule: digit sum % 5.
    if value.startswith("356000000") and sum(int(c) for c in value) % 5 == 0:
        return
    raise ValidationError(ERROR_SIRET_CHECKSUM, code="siret_checksum")
