"""Writes on households: families, guardians, children, family quotients, merges.

Each function runs in one transaction and writes one journal entry. The identity rules
(normalised names, e-mails, phones) live here and in ``portal.normalize``; the legacy
importer (``portal.importer``) applies the same rules to whole files.
"""

import datetime
import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, IntegerField, Max, OuterRef, Q
from django.db.models.functions import Cast, Lower, Substr
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_record
from portal.models import (
    Attendance,
    Child,
    ClassLevel,
    Family,
    FamilyQuotient,
    Guardian,
    Membership,
    Reservation,
    ReservationStatus,
    Residency,
    WaitingListEntry,
    WaitingStatus,
)
from portal.normalize import normalize_email, normalize_name, normalize_phone
from portal.residency import postcode_clean, residency_for

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
ERROR_MERGE_SAME = gettext_lazy("A record cannot be merged into itself.")
ERROR_MERGE_OTHER_FAMILY = gettext_lazy("Both guardians must belong to the same family.")
ERROR_MERGE_TWO_ACCOUNTS = gettext_lazy(
    "Both guardians have a parent account: close one of the accounts first."
)
ERROR_QUOTIENT_VALUE = gettext_lazy("The family quotient is a whole number, zero or more.")
ERROR_QUOTIENT_SOURCE = gettext_lazy("Unknown family quotient source.")
ERROR_QUOTIENT_PERIOD = gettext_lazy("The end of the period is before its start.")
ERROR_QUOTIENT_OVERLAP = gettext_lazy(
    "This period overlaps the family quotient valid from %(start)s to %(end)s: "
    "end that one first."
)
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


def _collect(errors: dict, field: str, func, value):
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
    postcode = _collect(errors, "postcode", clean_postcode, postcode)
    phone = _collect(errors, "phone", clean_phone, phone)
    email = _collect(errors, "email", clean_email, email)
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
            values[field] = _collect(errors, field, cleaners[field], value)
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


def guardian_add(
    *, family: Family, first_name: str, last_name: str, actor: Actor, email: str = "",
    phone: str = "", is_payer: bool = False,
) -> Guardian:
    """Add a legal guardian; an e-mail address identifies one guardian in the commune."""
    errors: dict[str, list] = {}
    first_name, last_name = first_name.strip(), last_name.strip()
    if not first_name:
        errors["first_name"] = [ERROR_FIRST_NAME_REQUIRED]
    if not last_name:
        errors["last_name"] = [ERROR_LAST_NAME_REQUIRED]
    email = _collect(errors, "email", clean_email, email)
    phone = _collect(errors, "phone", clean_phone, phone)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        owner = _guardian_email_owner(email)
        if owner is not None:
            raise ValidationError(
                {"email": [ERROR_GUARDIAN_EMAIL_TAKEN % {"reference": owner.family.reference}]})
        guardian = Guardian(
            family=family, first_name=first_name, last_name=last_name,
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
            changes={"guardian_id": guardian.pk, "first_name": first_name,
                     "last_name": last_name, "email": email, "phone": phone,
                     "is_payer": is_payer},
        )
    return guardian


def guardian_merge(*, keep: Guardian, remove: Guardian, actor: Actor) -> Guardian:
    """Merge a duplicate guardian of the same family into ``keep``, then delete it.

    Empty contact details of ``keep`` are filled from ``remove``; the parent account
    moves over; anything else pointing at ``remove`` is moved in one statement each.
    """
    if keep.pk == remove.pk:
        raise ValidationError(ERROR_MERGE_SAME)
    with transaction.atomic():
        locked = {g.pk: g for g in Guardian.objects.select_for_update().filter(
            pk__in=[keep.pk, remove.pk]).order_by("pk")}
        keep, remove = locked[keep.pk], locked[remove.pk]
        if keep.family_id != remove.family_id:
            raise ValidationError(ERROR_MERGE_OTHER_FAMILY)
        if keep.user_id and remove.user_id:
            raise ValidationError(ERROR_MERGE_TWO_ACCOUNTS)
        filled = {}
        for field in ("email", "phone", "user_id"):
            if not getattr(keep, field) and getattr(remove, field):
                filled[field] = getattr(remove, field)
        moved = _move_relations(Guardian, keep=keep, remove=remove, handled=set())
        removed = {"id": remove.pk, "name": str(remove), "email": remove.email,
                   "phone": remove.phone}
        remove.delete()  # first: frees its e-mail and account for ``keep``
        for field, value in filled.items():
            setattr(keep, field, value)
        keep.is_payer = keep.is_payer or remove.is_payer
        keep.search_phone = normalize_phone(keep.phone)
        keep.save()
        journal_record(
            actor=actor, action="guardian.merged", target=keep,
            summary=_("Guardian %(removed)s merged into %(kept)s (family %(family)s)")
            % {"removed": removed["name"], "kept": keep, "family": keep.family.reference},
            changes={"removed": removed, "filled": filled, "moved": moved,
                     "family_id": keep.family_id},
        )
    return keep


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
    class_level = _collect(errors, "class_level", clean_class_level, class_level)
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


def _move_relations(model, *, keep, remove, handled: set[str]) -> dict[str, int]:
    """Point every foreign key to ``remove`` at ``keep``, one UPDATE per relation.

    Relations in ``handled`` are dealt with by the caller (unique constraints). Any other
    kind of relation is refused rather than silently cascaded away on delete.
    """
    moved = {}
    for relation in model._meta.related_objects:
        name = relation.get_accessor_name()
        if name in handled:
            continue
        if not relation.one_to_many:
            raise NotImplementedError(f"merge: unhandled relation {model.__name__}.{name}")
        field = relation.field.name
        count = relation.related_model._base_manager.filter(**{field: remove}).update(
            **{field: keep})
        if count:
            moved[name] = count
    return moved


def child_merge(*, keep: Child, remove: Child, actor: Actor) -> Child:
    """Merge a duplicate child record into ``keep`` (an agent's decision), then delete it.

    Households, reservations, waiting-list entries, absences, attendance, pick-up people
    and documents move to ``keep``, one set-based statement each. Where both records hold
    the same booking (or waiting entry) for a unit and day, the duplicate is cancelled
    (withdrawn); where both have attendance for a unit and day, ``keep``'s row stays and
    is marked present if either was.
    """
    if keep.pk == remove.pk:
        raise ValidationError(ERROR_MERGE_SAME)
    with transaction.atomic():
        locked = {c.pk: c for c in Child.objects.select_for_update().filter(
            pk__in=[keep.pk, remove.pk]).order_by("pk")}
        keep, remove = locked[keep.pk], locked[remove.pk]
        now = timezone.now()
        moved: dict[str, int] = {}

        keep_families = Membership.objects.filter(child=keep).values("family")
        moved["memberships"] = (Membership.objects.filter(child=remove)
                                .exclude(family__in=keep_families).update(child=keep))

        same_booking = Reservation.objects.filter(
            child=keep, unit=OuterRef("unit"), date=OuterRef("date"),
            status=ReservationStatus.BOOKED)
        moved["reservations_cancelled"] = Reservation.objects.filter(
            Exists(same_booking), child=remove, status=ReservationStatus.BOOKED,
        ).update(status=ReservationStatus.CANCELLED, cancelled_at=now)
        moved["reservations"] = Reservation.objects.filter(child=remove).update(child=keep)

        same_wait = WaitingListEntry.objects.filter(
            child=keep, unit=OuterRef("unit"), date=OuterRef("date"),
            status=WaitingStatus.WAITING)
        moved["waiting_withdrawn"] = WaitingListEntry.objects.filter(
            Exists(same_wait), child=remove, status=WaitingStatus.WAITING,
        ).update(status=WaitingStatus.WITHDRAWN)
        moved["waiting"] = WaitingListEntry.objects.filter(child=remove).update(child=keep)

        remove_present = Attendance.objects.filter(
            child=remove, unit=OuterRef("unit"), date=OuterRef("date"), present=True)
        Attendance.objects.filter(Exists(remove_present), child=keep, present=False).update(
            present=True)
        keep_attendance = Attendance.objects.filter(
            child=keep, unit=OuterRef("unit"), date=OuterRef("date"))
        moved["attendance_merged"], _deleted = Attendance.objects.filter(
            Exists(keep_attendance), child=remove).delete()
        moved["attendance"] = Attendance.objects.filter(child=remove).update(child=keep)

        moved.update(_move_relations(
            Child, keep=keep, remove=remove,
            handled={"memberships", "reservations", "waiting", "attendance"},
        ))
        moved = {key: count for key, count in moved.items() if count}

        filled = {}
        for field in ("school_id", "class_level"):
            if not getattr(keep, field) and getattr(remove, field):
                filled[field] = getattr(remove, field)
                setattr(keep, field, filled[field])
        for field in ("allergies", "health_notes"):
            theirs = getattr(remove, field).strip()
            if theirs and theirs not in getattr(keep, field):
                setattr(keep, field, "\n".join(filter(None, [getattr(keep, field), theirs])))
                filled[field] = True  # health data: not copied into the journal
        if remove.has_pai and not keep.has_pai:
            keep.has_pai = filled["has_pai"] = True
        removed = {"id": remove.pk, "name": str(remove),
                   "birth_date": remove.birth_date.isoformat()}
        remove.delete()
        keep.save()
        journal_record(
            actor=actor, action="child.merged", target=keep,
            summary=_("Child record %(removed)s (born %(birth)s) merged into %(kept)s")
            % {"removed": removed["name"], "birth": remove.birth_date.strftime("%d/%m/%Y"),
               "kept": keep},
            changes={"removed": removed, "moved": moved, "filled": filled,
                     "families": list(keep.families.values_list("reference", flat=True))},
        )
    return keep


# -- family quotients -----------------------------------------------------------------------

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
