"""Absences (declared by parents, reviewed by agents) and attendance (pointage)."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_record
from portal.models import (
    Absence,
    AbsenceStatus,
    Attendance,
    Child,
    Reservation,
    ReservationStatus,
    Unit,
)

ERROR_ABSENCE_PERIOD = gettext_lazy("The end of the absence must not be before its start.")
ERROR_ABSENCE_REVIEWED = gettext_lazy("This absence has already been reviewed.")


def absence_declare(*, child: Child, start: date, end: date, actor: Actor, reason: str = "",
                    certificate=None) -> Absence:
    """Declare an absence for every service of the child (canteen, care, leisure)."""
    if end < start:
        raise ValidationError(ERROR_ABSENCE_PERIOD)
    with transaction.atomic():
        absence = Absence.objects.create(child=child, start_date=start, end_date=end,
                                         reason=reason[:255], certificate=certificate,
                                         declared_by=actor.user)
        journal_record(
            actor=actor, action="absence.declared", target=absence,
            summary=_("Absence of %(child)s from %(start)s to %(end)s declared") % {
                "child": child, "start": start.strftime("%d/%m/%Y"),
                "end": end.strftime("%d/%m/%Y")},
            changes={"child_id": child.pk, "start": start.isoformat(), "end": end.isoformat(),
                     "with_certificate": certificate is not None,
                     "family_ids": sorted(child.memberships.values_list("family_id", flat=True))})
    return absence


def absence_review(*, absence: Absence, justified: bool, actor: Actor) -> Absence:
    with transaction.atomic():
        locked = Absence.objects.select_for_update().select_related("child").get(pk=absence.pk)
        if locked.status != AbsenceStatus.DECLARED:
            raise ValidationError(ERROR_ABSENCE_REVIEWED)
        before = locked.status
        locked.status = AbsenceStatus.JUSTIFIED if justified else AbsenceStatus.UNJUSTIFIED
        locked.save(update_fields=["status"])
        journal_record(
            actor=actor, action="absence.reviewed", target=locked,
            summary=(_("Absence of %(child)s marked justified") if justified
                     else _("Absence of %(child)s marked not justified")) % {
                "child": locked.child},
            changes={"status": [before, locked.status], "child_id": locked.child_id})
    return locked


def attendance_record(*, unit: Unit, day: date, child: Child, present: bool,
                      actor: Actor) -> Attendance:
    """One tap in the attendance list; a child present without booking is flagged."""
    with transaction.atomic():
        booked = Reservation.objects.filter(unit=unit, date=day, child=child,
                                            status=ReservationStatus.BOOKED).exists()
        attendance, created = Attendance.objects.select_for_update().get_or_create(
            unit=unit, date=day, child=child,
            defaults={"present": present, "without_booking": present and not booked,
                      "recorded_by": actor.user})
        before = None if created else attendance.present
        if not created:
            attendance.present = present
            attendance.without_booking = present and not booked
            attendance.recorded_by = actor.user
            attendance.save(update_fields=["present", "without_booking", "recorded_by",
                                           "recorded_at"])
        if before != present:
            journal_record(
                actor=actor, action="attendance.recorded", target=attendance,
                summary=(_("%(child)s present at %(unit)s on %(day)s") if present
                         else _("%(child)s absent from %(unit)s on %(day)s")) % {
                    "child": child, "unit": unit.name, "day": day.strftime("%d/%m/%Y")},
                changes={"present": [before, present], "without_booking":
                         attendance.without_booking, "child_id": child.pk})
    return attendance
