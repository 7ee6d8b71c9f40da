"""Merges of duplicate records: guardians of one family, child records.

Each merge runs in one transaction and writes one journal entry. Split out of
``portal.services.families``, which still re-exports these names.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_record
from portal.models import (
    Attendance,
    Child,
    Guardian,
    Membership,
    Reservation,
    ReservationStatus,
    WaitingListEntry,
    WaitingStatus,
)
from portal.normalize import normalize_phone

ERROR_MERGE_SAME = gettext_lazy("A record cannot be merged into itself.")
ERROR_MERGE_OTHER_FAMILY = gettext_lazy("Both guardians must belong to the same family.")
ERROR_MERGE_TWO_ACCOUNTS = gettext_lazy(
    "Both guardians have a parent account: close one of the accounts first."
)


# -- guardians ------------------------------------------------------------------------------

def guardian_merge(*, keep: Guardian, remove: Guardian, actor: Actor) -> Guardian:
    """Merge a duplicate guardian of the same family into ``keep``, then delete it.

    Empty civility and contact details of ``keep`` are filled from ``remove``; the
    parent account moves over; anything else pointing at ``remove`` is moved in one
    statement each.
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
        for field in ("civility", "email", "phone", "user_id"):
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
