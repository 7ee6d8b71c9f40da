"""Booking, cancelling, waiting lists: capacity is never exceeded.

Every change to the bookings of one unit on one day runs under a PostgreSQL
transaction-level advisory lock keyed on (unit, day): concurrent requests for the
same unit-day queue up, count the places, then book or join the waiting list.
Different unit-days never wait for each other.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_record
from core.models import ActorKind
from portal import calendar
from portal.models import (
    Child,
    CommuneProfile,
    LatePolicy,
    Reservation,
    ReservationStatus,
    Unit,
    WaitingListEntry,
    WaitingStatus,
)
from portal.notifications import notify_waiting_list_promotion
from portal.selectors import unit_closures

ERROR_UNIT_CLOSED = gettext_lazy("The service is not open on that day.")
ERROR_UNIT_INACTIVE = gettext_lazy("This service is not open for booking.")
ERROR_BOOKING_DEADLINE = gettext_lazy(
    "The booking deadline for %(day)s has passed (it was %(deadline)s)."
)
ERROR_CANCEL_DEADLINE = gettext_lazy(
    "The cancellation deadline for %(day)s has passed (it was %(deadline)s)."
)
ERROR_NOT_ELIGIBLE_AGE = gettext_lazy("This child's age does not match this service.")
ERROR_NOT_ELIGIBLE_CLASS = gettext_lazy("This service is not open to this child's class.")
ERROR_ALREADY_CANCELLED = gettext_lazy("This booking is already cancelled.")


@dataclass(frozen=True)
class BookingOutcome:
    status: str  # "booked", "waiting", "already_booked", "already_waiting"
    day: date
    reservation: Reservation | None = None
    waiting: WaitingListEntry | None = None
    late: bool = False


def _lock_unit_day(unit_id: int, day: date) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [unit_id, day.toordinal()])


def _format_deadline(deadline: datetime) -> str:
    return timezone.localtime(deadline).strftime("%d/%m/%Y %H:%M")


def _age_in_months(birth: date, day: date) -> int:
    return (day.year - birth.year) * 12 + day.month - birth.month - (day.day < birth.day)


def check_eligibility(*, child: Child, unit: Unit, day: date) -> None:
    months = _age_in_months(child.birth_date, day)
    if unit.min_age_months is not None and months < unit.min_age_months:
        raise ValidationError(ERROR_NOT_ELIGIBLE_AGE)
    if unit.max_age_months is not None and months > unit.max_age_months:
        raise ValidationError(ERROR_NOT_ELIGIBLE_AGE)
    levels = unit.class_level_list
    if levels and child.class_level not in levels:
        raise ValidationError(ERROR_NOT_ELIGIBLE_CLASS)


def _is_agent(actor: Actor) -> bool:
    return actor.kind in (ActorKind.AGENT, ActorKind.SYSTEM, ActorKind.VENDOR)


def _paying_family(child: Child, family):
    if family is not None:
        return family
    families = list(child.families.all()[:2])
    return families[0] if len(families) == 1 else None


def reservation_book(*, child: Child, unit: Unit, day: date, actor: Actor, family=None,
                     now: datetime | None = None) -> BookingOutcome:
    """Book ``child`` on ``unit`` for ``day``, or put them on the waiting list when full.

    ``family`` is the household that books and pays; by default the child's only one.

    Parents are bound by the booking deadline (refused, or accepted and flagged late
    when the unit's policy is a surcharge). Agents may book late: flagged late.
    """
    if not unit.is_active:
        raise ValidationError(ERROR_UNIT_INACTIVE)
    profile = CommuneProfile.get()
    if not calendar.unit_is_open(unit, day, profile=profile, closures=unit_closures(unit)):
        raise ValidationError(ERROR_UNIT_CLOSED)
    check_eligibility(child=child, unit=unit, day=day)
    deadline = calendar.booking_deadline(unit, day, alsace_moselle=profile.alsace_moselle)
    late = not calendar.is_before_deadline(deadline, now=now)
    if late and unit.late_booking == LatePolicy.REFUSE and not _is_agent(actor):
        raise ValidationError(ERROR_BOOKING_DEADLINE % {
            "day": day.strftime("%d/%m/%Y"), "deadline": _format_deadline(deadline)})
    with transaction.atomic():
        _lock_unit_day(unit.pk, day)
        booked = Reservation.objects.filter(unit=unit, date=day, status=ReservationStatus.BOOKED)
        existing = booked.filter(child=child).first()
        if existing:
            return BookingOutcome(status="already_booked", day=day, reservation=existing)
        if booked.count() >= unit.capacity:
            return _join_waiting_list(child=child, unit=unit, day=day, actor=actor)
        reservation = Reservation.objects.create(
            child=child, unit=unit, date=day, booked_late=late, booked_by=actor.user,
            family=_paying_family(child, family))
        summary = _("Booking of %(child)s for %(unit)s on %(day)s") % {
            "child": child, "unit": unit.name, "day": day.strftime("%d/%m/%Y")}
        if late:
            summary += " " + _("(after the deadline)")
        journal_record(actor=actor, action="reservation.booked", target=reservation,
                       summary=summary, changes=_booking_facts(child, unit, day, late=late))
    return BookingOutcome(status="booked", day=day, reservation=reservation, late=late)


def _booking_facts(child: Child, unit: Unit, day: date, **extra) -> dict:
    return {"child_id": child.pk, "unit_id": unit.pk, "date": day.isoformat(),
            "family_ids": sorted(child.memberships.values_list("family_id", flat=True)), **extra}


def _join_waiting_list(*, child, unit, day, actor) -> BookingOutcome:
    entry = WaitingListEntry.objects.filter(child=child, unit=unit, date=day,
                                            status=WaitingStatus.WAITING).first()
    if entry:
        return BookingOutcome(status="already_waiting", day=day, waiting=entry)
    entry = WaitingListEntry.objects.create(child=child, unit=unit, date=day,
                                            requested_by=actor.user)
    journal_record(
        actor=actor, action="waiting_list.joined", target=entry,
        summary=_("%(child)s put on the waiting list for %(unit)s on %(day)s") % {
            "child": child, "unit": unit.name, "day": day.strftime("%d/%m/%Y")},
        changes=_booking_facts(child, unit, day))
    return BookingOutcome(status="waiting", day=day, waiting=entry)


def reservation_cancel(*, reservation: Reservation, actor: Actor,
                       now: datetime | None = None) -> Reservation:
    """Cancel a booking; the first child waiting for that unit-day gets the place."""
    unit = reservation.unit
    profile = CommuneProfile.get()
    deadline = calendar.cancel_deadline(unit, reservation.date,
                                        alsace_moselle=profile.alsace_moselle)
    late = not calendar.is_before_deadline(deadline, now=now)
    if late and unit.late_cancelling == LatePolicy.REFUSE and not _is_agent(actor):
        raise ValidationError(ERROR_CANCEL_DEADLINE % {
            "day": reservation.date.strftime("%d/%m/%Y"), "deadline": _format_deadline(deadline)})
    with transaction.atomic():
        _lock_unit_day(unit.pk, reservation.date)
        locked = Reservation.objects.select_for_update().get(pk=reservation.pk)
        if locked.status != ReservationStatus.BOOKED:
            raise ValidationError(ERROR_ALREADY_CANCELLED)
        locked.status = ReservationStatus.CANCELLED
        locked.cancelled_late = late
        locked.cancelled_at = timezone.now()
        locked.save(update_fields=["status", "cancelled_late", "cancelled_at"])
        summary = _("Booking of %(child)s for %(unit)s on %(day)s cancelled") % {
            "child": locked.child, "unit": unit.name, "day": locked.date.strftime("%d/%m/%Y")}
        if late:
            summary += " " + _("(after the deadline)")
        journal_record(actor=actor, action="reservation.cancelled", target=locked,
                       summary=summary,
                       changes={**_booking_facts(locked.child, unit, locked.date, late=late),
                                "status": [ReservationStatus.BOOKED, ReservationStatus.CANCELLED]})
        waiting_list_promote(unit=unit, day=locked.date)
    return locked


def waiting_list_promote(*, unit: Unit, day: date) -> list[Reservation]:
    """Give free places to waiting children in order of request (caller holds the lock)."""
    promoted = []
    free = unit.capacity - Reservation.objects.filter(
        unit=unit, date=day, status=ReservationStatus.BOOKED).count()
    if free <= 0:
        return promoted
    entries = (WaitingListEntry.objects.select_for_update()
               .filter(unit=unit, date=day, status=WaitingStatus.WAITING)
               .select_related("child").order_by("created_at", "id")[:free])
    system = Actor.system(_("waiting list"))
    for entry in entries:
        reservation = Reservation.objects.create(child=entry.child, unit=unit, date=day,
                                                 booked_by=entry.requested_by,
                                                 family=_paying_family(entry.child, None))
        entry.status = WaitingStatus.PROMOTED
        entry.save(update_fields=["status"])
        journal_record(
            actor=system, action="waiting_list.promoted", target=reservation,
            summary=_("Place freed: %(child)s booked for %(unit)s on %(day)s") % {
                "child": entry.child, "unit": unit.name, "day": day.strftime("%d/%m/%Y")},
            changes=_booking_facts(entry.child, unit, day))
        transaction.on_commit(
            lambda reservation_id=reservation.pk: notify_waiting_list_promotion(reservation_id))
        promoted.append(reservation)
    return promoted


def reservation_book_pattern(*, child: Child, unit: Unit, weekdays: set[int], start: date,
                             end: date, actor: Actor, family=None,
                             now: datetime | None = None) -> tuple[list[BookingOutcome], dict]:
    """Book every opening day of ``unit`` between ``start`` and ``end`` falling on one of
    ``weekdays`` (ISO numbers). Returns the outcomes and, per refused day, the reason."""
    profile = CommuneProfile.get()
    days = [day for day in calendar.unit_opening_days(unit, start, end, profile=profile,
                                                       closures=unit_closures(unit))
            if day.isoweekday() in weekdays]
    outcomes, refused = [], {}
    for day in days:
        try:
            outcomes.append(reservation_book(child=child, unit=unit, day=day, actor=actor,
                                             family=family, now=now))
        except ValidationError as exc:
            refused[day] = " ".join(exc.messages)
    return outcomes, refused
