"""Writes on households: families, guardians, children.

Each function runs in one transaction and writes one journal entry. The identity rules
(normalised names, e-mails, phones) live here and in ``portal.normalize``; the legacy
importer (``portal.importer``) applies the same rules to whole files. Merges live in
``portal.services.merge`` and family quotients in ``portal.services.quotients``.
"""

import datetime
import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import IntegerField, Max
from django.db.models.functions import Cast, Lower, Substr
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_record
from portal.models import (
    Child,
    Civility,
    ClassLevel,
    Family,
    Guardian,
    Membership,
    Residency,
)
from portal.normalize import normalize_email, normalize_name, normalize_phone
from portal.residency import postcode_clean, residency_for

# Moved to their own modules; re-exported so existing imports keep working.
ERROR_NAME_REQUIRED = gettext_lazy("Enter a name.")
ERROR_FIRST_NAME_REQUIRED = gettext_lazy("Enter a first name.")
ERROR_LAST_NAME_REQUIRED = gettext_lazy("Enter a last name.")
ERROR_REFERENCE_TAKEN = gettext_lazy("Another family already has this reference.")
ERROR_REFERENCE_INVALID = gettext_lazy(
    "The reference may not be empty or longer than 32 characters.")
ERROR_POSTCODE_INVALID = gettext_lazy("A postcode has five digits.")
ERROR_EMAIL_INVALID = gettext_lazy("Enter a valid e-mail address.")
ERROR_PHONE_INVALID = gettext_lazy("Enter a valid phone number.")
ERROR_RESIDENCY_INVALID = gettext_lazy("Unknown residency.")
ERROR_GUARDIAN_EMAIL_TAKEN = gettext_lazy(
    "A guardian with this e-mail address already exists in the commune (family %(reference)s)."
)
ERROR_BIRTH_DATE_FUTURE = gettext_lazy("The birth date is in the future.")
ERROR_CLASS_UNKNOWN = gettext_lazy("Unknown class.")
ERROR_CIVILITY_UNKNOWN = gettext_lazy("Choose Mr, Mrs or nothing.")
ERROR_UNKNOWN_FIELD = "family_update() got unknown fields: %s"

FAMILY_FIELDS = ("reference", "name", "address_line1", "address_line2", "postcode", "city",
                 "phone", "email", "residency")
_UNCHANGED = object()
REFERENCE_PREFIX = "F"
REFERENCE_DIGITS = 5


# -- shared rules (also used by the importer) ----------------------------------------------

def child_search_name(*, first_name: str, last_name: str) -> str:
    """The identity key of a child, with the birth date: 'lefevre lea'."""
    return normalize_name(last_name, first_name)


def guardian_search_name(*, first_name: str, last_name: str) -> str:
    return normalize_name(last_name, first_name)


def clean_email(value: str) -> str:
    """Normalised e-mail or ``ValidationError(ERROR_EMAIL_INVALID)``; '' stays ''."""
    email = normalize_email(value)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError(ERROR_EMAIL_INVALID) from None
    return email


def clean_phone(value: str) -> str:
    """The phone as typed (trimmed); a spreadsheet's '612345678' gets its leading zero back."""
    phone = (value or "").strip()
    digits = normalize_phone(phone)
    if phone and (len(phone) > 20 or not 6 <= len(digits) <= 15):
        raise ValidationError(ERROR_PHONE_INVALID)
    if re.fullmatch(r"[1-9]\d{8}", phone):
        phone = "0" + phone
    return phone


def clean_postcode(value: str) -> str:
    postcode = postcode_clean(value)
    if (value or "").strip() and not re.fullmatch(r"\d{5}", postcode):
        raise ValidationError(ERROR_POSTCODE_INVALID)
    return postcode


def clean_class_level(value: str) -> str:
    if value and value not in ClassLevel.values:
        raise ValidationError(ERROR_CLASS_UNKNOWN)
    return value or ""


def collect(errors: dict, field: str, func, value):
    """``func(value)``, or ``value`` with ``func``'s messages added to ``errors[field]``:
    every field is checked and all the errors are reported at once."""
    try:
        return func(value)
    except ValidationError as exc:
        errors.setdefault(field, []).extend(exc.messages)
        return value


def _json(value):
    return value.isoformat() if isinstance(value, datetime.date) else value


def _next_reference() -> str:
    """'F00042': one more than the highest F-number of the commune.

    A transaction-level advisory lock (per schema) serialises concurrent creations.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                       [f"{connection.schema_name}:family_reference"])
    highest = (
        Family.objects.filter(reference__regex=rf"^{REFERENCE_PREFIX}[0-9]{{1,9}}$")
        .annotate(number=Cast(Substr("reference", len(REFERENCE_PREFIX) + 1), IntegerField()))
        .aggregate(highest=Max("number"))["highest"]
    ) or 0
    return f"{REFERENCE_PREFIX}{highest + 1:0{REFERENCE_DIGITS}d}"


# -- families -------------------------------------------------------------------------------

def family_create(
    *, name: str, actor: Actor, reference: str | None = None, address_line1: str = "",
    address_line2: str = "", postcode: str = "", city: str = "", phone: str = "",
    email: str = "",
) -> Family:
    """Create a household; its residency is derived from the postcode and city."""
    errors: dict[str, list] = {}
    name = name.strip()
    if not name:
        errors["name"] = [ERROR_NAME_REQUIRED]
    if reference is not None:
        reference = reference.strip()
        if not reference or len(reference) > 32:
            errors["reference"] = [ERROR_REFERENCE_INVALID]
    postcode = collect(errors, "postcode", clean_postcode, postcode)
    phone = collect(errors, "phone", clean_phone, phone)
    email = collect(errors, "email", clean_email, email)
    if errors:
        raise ValidationError(errors)
    city = city.strip()
    with transaction.atomic():
        if reference is None:
            reference = _next_reference()
        elif Family.objects.filter(reference=reference).exists():
            raise ValidationError({"reference": [ERROR_REFERENCE_TAKEN]})
        family = Family.objects.create(
            reference=reference, name=name, search_name=normalize_name(name),
            address_line1=address_line1.strip(), address_line2=address_line2.strip(),
            postcode=postcode, city=city, phone=phone, email=email,
            residency=residency_for(postcode, city),
        )
        journal_record(
            actor=actor, action="family.created", target=family,
            summary=_("Family %(name)s (%(reference)s) created")
            % {"name": name, "reference": reference},
            changes={"reference": reference, "name": name, "residency": family.residency},
        )
    return family


def family_update(*, family: Family, actor: Actor, **fields) -> Family:
    """Change some of ``FAMILY_FIELDS``; journals each changed field as [before, after].

    ``residency="resident"``/``"non_resident"`` is an agent's decision: it is kept
    (``residency_overridden``) whatever the address. ``residency=None`` hands it back to
    the address. Without an override, an address change derives the residency again.
    """
    unknown = set(fields) - set(FAMILY_FIELDS)
    if unknown:
        raise TypeError(ERROR_UNKNOWN_FIELD % ", ".join(sorted(unknown)))
    errors: dict[str, list] = {}
    cleaners = {"postcode": clean_postcode, "phone": clean_phone, "email": clean_email}
    values = {}
    for field, value in fields.items():
        if field == "residency":
            if value is not None and value not in Residency.values:
                errors[field] = [ERROR_RESIDENCY_INVALID]
            values[field] = value
        elif field in cleaners:
            values[field] = collect(errors, field, cleaners[field], value)
        else:
            values[field] = (value or "").strip()
    if "name" in values and not values["name"]:
        errors["name"] = [ERROR_NAME_REQUIRED]
    if "reference" in values and not 0 < len(values["reference"]) <= 32:
        errors["reference"] = [ERROR_REFERENCE_INVALID]
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        locked = Family.objects.select_for_update().get(pk=family.pk)
        before = {f: getattr(locked, f) for f in (*FAMILY_FIELDS, "residency_overridden")}
        if "reference" in values and values["reference"] != locked.reference:
            if Family.objects.filter(reference=values["reference"]).exists():
                raise ValidationError({"reference": [ERROR_REFERENCE_TAKEN]})
        residency = values.pop("residency", _UNCHANGED)
        for field, value in values.items():
            setattr(locked, field, value)
        if residency is None:
            locked.residency_overridden = False
        elif residency is not _UNCHANGED:
            locked.residency, locked.residency_overridden = residency, True
        if not locked.residency_overridden:
            locked.residency = residency_for(locked.postcode, locked.city)
        changes = {
            field: [_json(old), _json(getattr(locked, field))]
            for field, old in before.items() if getattr(locked, field) != old
        }
        if changes:
            locked.search_name = normalize_name(locked.name)
            locked.save()
            journal_record(
                actor=actor, action="family.updated", target=locked,
                summary=_("Family %(name)s (%(reference)s) updated: %(fields)s")
                % {"name": locked.name, "reference": locked.reference,
                   "fields": ", ".join(changes)},
                changes=changes,
            )
    return locked


# -- guardians ------------------------------------------------------------------------------

def _guardian_email_owner(email: str, *, exclude_pk=None) -> Guardian | None:
    if not email:
        return None
    found = Guardian.objects.annotate(lower_email=Lower("email")).filter(lower_email=email)
    if exclude_pk is not None:
        found = found.exclude(pk=exclude_pk)
    return found.select_related("family").first()


def clean_civility(value: str) -> str:
    """'' (unknown) or a ``Civility`` value."""
    value = (value or "").strip()
    if value and value not in Civility.values:
        raise ValidationError(ERROR_CIVILITY_UNKNOWN)
    return value


def guardian_identity_errors(*, first_name: str, last_name: str) -> dict[str, list]:
    errors: dict[str, list] = {}
    if not first_name:
        errors["first_name"] = [ERROR_FIRST_NAME_REQUIRED]
    if not last_name:
        errors["last_name"] = [ERROR_LAST_NAME_REQUIRED]
    return errors


def guardian_add(
    *, family: Family, first_name: str, last_name: str, actor: Actor, email: str = "",
    phone: str = "", is_payer: bool = False, civility: str = "",
) -> Guardian:
    """Add a legal guardian; an e-mail address identifies one guardian in the commune."""
    first_name, last_name = first_name.strip(), last_name.strip()
    errors = guardian_identity_errors(first_name=first_name, last_name=last_name)
    civility = collect(errors, "civility", clean_civility, civility)
    email = collect(errors, "email", clean_email, email)
    phone = collect(errors, "phone", clean_phone, phone)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        owner = _guardian_email_owner(email)
        if owner is not None:
            raise ValidationError(
                {"email": [ERROR_GUARDIAN_EMAIL_TAKEN % {"reference": owner.family.reference}]})
        guardian = Guardian(
            family=family, civility=civility, first_name=first_name, last_name=last_name,
            search_name=guardian_search_name(first_name=first_name, last_name=last_name),
            email=email, phone=phone, search_phone=normalize_phone(phone), is_payer=is_payer,
        )
        try:
            with transaction.atomic():  # a concurrent insert of the same e-mail
                guardian.save()
        except IntegrityError:
            raise ValidationError(
                {"email": [ERROR_GUARDIAN_EMAIL_TAKEN % {"reference": "?"}]}) from None
        journal_record(
            actor=actor, action="guardian.added", target=family,
            summary=_("Guardian %(name)s added to family %(family)s")
            % {"name": guardian, "family": family.reference},
            changes={"guardian_id": guardian.pk, "civility": civility,
                     "first_name": first_name, "last_name": last_name, "email": email,
                     "phone": phone, "is_payer": is_payer},
        )
    return guardian


# -- children -------------------------------------------------------------------------------

def child_add(
    *, family: Family, first_name: str, last_name: str, birth_date: datetime.date,
    actor: Actor, school=None, class_level: str = "", has_pai: bool = False,
    allergies: str = "", health_notes: str = "",
) -> Child:
    """Add a child to a household.

    A child with the same normalised name and birth date is the same child: it is not
    created twice but linked to this household too (a child of separated parents belongs
    to both); the existing record is returned unchanged.
    """
    errors: dict[str, list] = {}
    first_name, last_name = first_name.strip(), last_name.strip()
    if not first_name:
        errors["first_name"] = [ERROR_FIRST_NAME_REQUIRED]
    if not last_name:
        errors["last_name"] = [ERROR_LAST_NAME_REQUIRED]
    if birth_date > timezone.localdate():
        errors["birth_date"] = [ERROR_BIRTH_DATE_FUTURE]
    class_level = collect(errors, "class_level", clean_class_level, class_level)
    if errors:
        raise ValidationError(errors)
    search_name = child_search_name(first_name=first_name, last_name=last_name)
    with transaction.atomic():
        child = Child.objects.filter(search_name=search_name, birth_date=birth_date).first()
        created = False
        if child is None:
            try:
                with transaction.atomic():  # savepoint: the same child added concurrently
                    child = Child.objects.create(
                        first_name=first_name, last_name=last_name, search_name=search_name,
                        birth_date=birth_date, school=school, class_level=class_level,
                        has_pai=has_pai, allergies=allergies, health_notes=health_notes,
                    )
                created = True
            except IntegrityError:
                child = Child.objects.get(search_name=search_name, birth_date=birth_date)
        if created:
            Membership.objects.create(child=child, family=family)
            journal_record(
                actor=actor, action="child.added", target=family,
                summary=_("Child %(name)s added to family %(family)s")
                % {"name": child, "family": family.reference},
                changes={"child_id": child.pk, "first_name": first_name,
                         "last_name": last_name, "birth_date": birth_date.isoformat(),
                         "class_level": class_level,
                         "school": school.name if school else ""},
            )
            return child
        _membership, created = Membership.objects.get_or_create(child=child, family=family)
        if created:
            others = list(child.families.exclude(pk=family.pk)
                          .values_list("reference", flat=True))
            journal_record(
                actor=actor, action="child.linked", target=family,
                summary=_("Child %(name)s, already known (family %(others)s), also linked "
                          "to family %(family)s")
                % {"name": child, "others": ", ".join(others), "family": family.reference},
                changes={"child_id": child.pk, "other_families": others},
            )
    return child
