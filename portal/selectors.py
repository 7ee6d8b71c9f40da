"""Non-trivial reads of the family portal."""

from django.db.models import Q

from portal.models import Closure, Unit


def unit_closures(unit: Unit) -> list[Closure]:
    """Closures that apply to ``unit``: its own, its facility's, and commune-wide ones."""
    return list(Closure.objects.filter(
        Q(unit=unit) | Q(facility_id=unit.facility_id, unit__isnull=True)
        | Q(facility__isnull=True, unit__isnull=True)))


def closures_of(unit: Unit, closures: list[Closure]) -> list[Closure]:
    """Filter preloaded closures for ``unit`` (same rule as ``unit_closures``)."""
    return [c for c in closures if c.unit_id == unit.pk
            or (c.unit_id is None and c.facility_id in (unit.facility_id, None))]


def unit_day_roster(*, unit: Unit, day):
    """Children booked on ``unit`` for ``day`` with what other services recorded:
    an absence declared for that day (from any service) and the attendance tap.
    One query whatever the number of children."""
    from django.db.models import Exists, OuterRef, Subquery

    from portal.models import Absence, Attendance, Reservation, ReservationStatus

    absences = Absence.objects.filter(child=OuterRef("child"), start_date__lte=day,
                                      end_date__gte=day)
    attendance = Attendance.objects.filter(child=OuterRef("child"), unit=unit, date=day)
    return (
        Reservation.objects.filter(unit=unit, date=day, status=ReservationStatus.BOOKED)
        .select_related("child")
        .annotate(absence_declared=Exists(absences),
                  present=Subquery(attendance.values("present")[:1]))
        .order_by("child__last_name", "child__first_name")
    )
