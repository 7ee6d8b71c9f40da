"""Writes on the people a household authorises to pick up a child ("personnes autorisées").

Agents (manage_families) and the household's own guardians add, change and remove them.
Each function runs in one transaction and writes one journal entry aimed at the household,
with each field as [before, after].
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_record
from portal.models import AuthorisedPickup, Child, Family, Membership
from portal.normalize import normalize_name
from portal.services.families import clean_phone

ERROR_PICKUP_NAME_REQUIRED = gettext_lazy("Enter the name of the person.")
ERROR_PICKUP_RELATIONSHIP_REQUIRED = gettext_lazy(
    "Say who this person is to the child (grandmother, neighbour…).")
ERROR_PICKUP_PHONE_REQUIRED = gettext_lazy(
    "Enter a phone number: the staff must be able to call this person.")
ERROR_PICKUP_TOO_LONG = gettext_lazy("At most %(max)s characters.")
ERROR_PICKUP_CHILD = gettext_lazy("This child does not belong to this household.")
ERROR_PICKUP_DUPLICATE = gettext_lazy(
    "This person is already authorised to pick up this child.")

PICKUP_FIELDS = ("name", "relationship", "phone", "note")
_MAX_LENGTHS = {"name": 200, "relationship": 100, "note": 255}


def _clean(*, name: str, relationship: str, phone: str, note: str) -> dict[str, str]:
    values = {"name": (name or "").strip(), "relationship": (relationship or "").strip(),
              "note": (note or "").strip()}
    errors: dict[str, list] = {}
    if not values["name"]:
        errors["name"] = [ERROR_PICKUP_NAME_REQUIRED]
    if not values["relationship"]:
        errors["relationship"] = [ERROR_PICKUP_RELATIONSHIP_REQUIRED]
    for field, limit in _MAX_LENGTHS.items():
        if len(values[field]) > limit:
            errors[field] = [ERROR_PICKUP_TOO_LONG % {"max": limit}]
    if not (phone or "").strip():
        errors["phone"] = [ERROR_PICKUP_PHONE_REQUIRED]
    else:
        try:
            values["phone"] = clean_phone(phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return values


def _check_unique(*, family_id: int, child_id: int, name: str, exclude_pk=None) -> None:
    """One entry per person, child and household (names compared without accents/case)."""
    others = AuthorisedPickup.objects.filter(family_id=family_id, child_id=child_id)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    key = normalize_name(name)
    if any(normalize_name(other) == key for other in others.values_list("name", flat=True)):
        raise ValidationError({"name": [ERROR_PICKUP_DUPLICATE]})


def _facts(pickup: AuthorisedPickup) -> dict:
    return {"name": pickup.name, "child": pickup.child, "family": pickup.family.reference}


def pickup_add(*, family: Family, child: Child, name: str, relationship: str, phone: str,
               actor: Actor, note: str = "") -> AuthorisedPickup:
    """Authorise someone to pick up ``child``, a child of ``family``."""
    values = _clean(name=name, relationship=relationship, phone=phone, note=note)
    with transaction.atomic():
        Family.objects.select_for_update().get(pk=family.pk)  # one writer per household
        if not Membership.objects.filter(family=family, child=child).exists():
            raise ValidationError({"child": [ERROR_PICKUP_CHILD]})
        _check_unique(family_id=family.pk, child_id=child.pk, name=values["name"])
        pickup = AuthorisedPickup.objects.create(family=family, child=child, **values)
        journal_record(
            actor=actor, action="pickup.added", target=family,
            summary=_("%(name)s authorised to pick up %(child)s (family %(family)s)")
            % _facts(pickup),
            changes={"pickup_id": pickup.pk, "child_id": child.pk, "family_ids": [family.pk],
                     **{field: [None, values[field]] for field in PICKUP_FIELDS}},
        )
    return pickup


def pickup_update(*, pickup: AuthorisedPickup, name: str, relationship: str, phone: str,
                  actor: Actor, note: str = "") -> AuthorisedPickup:
    """Change a pick-up person's details; journals the changed fields (nothing if none)."""
    values = _clean(name=name, relationship=relationship, phone=phone, note=note)
    with transaction.atomic():
        locked = (AuthorisedPickup.objects.select_for_update(of=("self",))
                  .select_related("family", "child").get(pk=pickup.pk))
        _check_unique(family_id=locked.family_id, child_id=locked.child_id,
                      name=values["name"], exclude_pk=locked.pk)
        changes = {field: [getattr(locked, field), value] for field, value in values.items()
                   if getattr(locked, field) != value}
        if changes:
            for field, (_before, after) in changes.items():
                setattr(locked, field, after)
            locked.save(update_fields=list(changes))
            journal_record(
                actor=actor, action="pickup.updated", target=locked.family,
                summary=_("Pick-up person %(name)s of %(child)s updated (family %(family)s)")
                % _facts(locked),
                changes={"pickup_id": locked.pk, "child_id": locked.child_id,
                         "family_ids": [locked.family_id], **changes},
            )
    return locked


def pickup_remove(*, pickup: AuthorisedPickup, actor: Actor) -> None:
    """Withdraw the authorisation (a person removed twice is removed once)."""
    with transaction.atomic():
        locked = (AuthorisedPickup.objects.select_for_update(of=("self",))
                  .select_related("family", "child").filter(pk=pickup.pk).first())
        if locked is None:
            return
        facts, pickup_id = _facts(locked), locked.pk
        before = {field: [getattr(locked, field), None] for field in PICKUP_FIELDS}
        family, child_id = locked.family, locked.child_id
        locked.delete()
        journal_record(
            actor=actor, action="pickup.removed", target=family,
            summary=_("%(name)s no longer authorised to pick up %(child)s (family %(family)s)")
            % facts,
            changes={"pickup_id": pickup_id, "child_id": child_id, "family_ids": [family.pk],
                     **before},
        )
