"""Versioned JSON API for the parent-facing resources: ``/api/v1/`` on each commune's host.

The OpenAPI document is served at ``/api/v1/openapi.json``. Parents authenticate with
their session (CSRF checked on writes); agents and integrations with a bearer token
(``accounts.tokens``). Every operation goes through the same scoped getters
(``portal.access``) and services as the pages, so the permission rules are the same.
"""

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI, Schema
from ninja.security import HttpBearer, django_auth

from accounts.access import actor_from_request
from accounts.tokens import user_for_api_key
from portal import calendar
from portal.access import (
    access_child,
    access_family,
    access_reservation,
    children_scope,
    ensure_may_book,
    is_family_agent,
    parent_families,
)
from portal.models import Absence, Closure, CommuneProfile, Reservation, ReservationStatus, Unit
from portal.selectors import closures_of
from portal.services.attendance import absence_declare
from portal.services.bookings import check_eligibility, reservation_book, reservation_cancel

MAX_RANGE_DAYS = 92
ERROR_RANGE = gettext_lazy("The period must end after it starts and last %(max)d days at most.")


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        user = user_for_api_key(token)
        if user is not None:
            request.user = user  # the scoped getters and the journal read request.user
        return user


api = NinjaAPI(title="Parvis API", version="1", urls_namespace="api-v1", docs_url=None,
               auth=[BearerToken(), django_auth])


@api.exception_handler(ValidationError)
def validation_error(request, exc):
    return api.create_response(request, {"detail": " ".join(exc.messages)}, status=400)


@api.exception_handler(PermissionDenied)
def permission_denied(request, exc):
    return api.create_response(request, {"detail": "Forbidden"}, status=403)


class GuardianOut(Schema):
    id: int
    first_name: str
    last_name: str
    email: str
    phone: str


class ChildOut(Schema):
    id: int
    first_name: str
    last_name: str
    birth_date: date
    class_level: str


class FamilyOut(Schema):
    id: int
    reference: str
    name: str
    address_line1: str
    postcode: str
    city: str
    residency: str
    guardians: list[GuardianOut]
    children: list[ChildOut]


class DayOut(Schema):
    date: date
    free_places: int
    bookable: bool


class UnitOut(Schema):
    id: int
    name: str
    facility: str
    service: str
    start_time: str
    end_time: str
    capacity: int
    days: list[DayOut]


class ReservationOut(Schema):
    id: int
    child_id: int
    unit_id: int
    date: date
    status: str
    booked_late: bool


class ReservationIn(Schema):
    child_id: int
    unit_id: int
    date: date


class BookingOut(Schema):
    status: str
    date: date
    reservation: ReservationOut | None = None
    late: bool


class AbsenceIn(Schema):
    child_id: int
    start_date: date
    end_date: date
    reason: str = ""


class AbsenceOut(Schema):
    id: int
    child_id: int
    start_date: date
    end_date: date
    reason: str
    status: str


def _family_out(family) -> dict:
    return {
        **{f: getattr(family, f) for f in ("id", "reference", "name", "address_line1",
                                           "postcode", "city", "residency")},
        "guardians": list(family.guardians.all()),
        "children": list(family.children.all()),
    }


def _period(start: date | None, end: date | None) -> tuple[date, date]:
    start = start or date.today()
    end = end or start + timedelta(days=30)
    if end < start or (end - start).days > MAX_RANGE_DAYS:
        raise ValidationError(ERROR_RANGE % {"max": MAX_RANGE_DAYS})
    return start, end


@api.get("/family", response=list[FamilyOut], summary="My household(s)")
def my_families(request):
    families = parent_families(request.user).prefetch_related("guardians", "children")
    return [_family_out(f) for f in families]


@api.get("/families/{family_id}", response=FamilyOut, summary="One household (scoped)")
def family_detail(request, family_id: int):
    family = access_family(request, family_id)
    return _family_out(family)


@api.get("/children", response=list[ChildOut])
def children(request):
    if is_family_agent(request.user):
        raise Http404  # agents look children up through a family
    return list(children_scope(request.user).order_by("first_name"))


@api.get("/units", response=list[UnitOut], summary="Units open to a child, with free places")
def units(request, child_id: int, start: date | None = None, end: date | None = None):
    child = access_child(request, child_id)
    start, end = _period(start, end)
    profile = CommuneProfile.get()
    booked = {
        (row["unit_id"], row["date"]): row["n"]
        for row in Reservation.objects.filter(date__range=(start, end),
                                              status=ReservationStatus.BOOKED)
        .values("unit_id", "date").annotate(n=Count("id"))
    }
    result = []
    all_closures = list(Closure.objects.filter(start_date__lte=end, end_date__gte=start))
    for unit in Unit.objects.filter(is_active=True).select_related("facility", "service"):
        try:
            check_eligibility(child=child, unit=unit, day=start)
        except ValidationError:
            continue
        days = []
        for day in calendar.unit_opening_days(unit, start, end, profile=profile,
                                              closures=closures_of(unit, all_closures)):
            deadline = calendar.booking_deadline(unit, day, alsace_moselle=profile.alsace_moselle)
            days.append({"date": day,
                         "free_places": max(unit.capacity - booked.get((unit.pk, day), 0), 0),
                         "bookable": calendar.is_before_deadline(deadline)})
        result.append({"id": unit.pk, "name": unit.name, "facility": unit.facility.name,
                       "service": unit.service.name, "start_time": unit.start_time.isoformat(),
                       "end_time": unit.end_time.isoformat(), "capacity": unit.capacity,
                       "days": days})
    return result


@api.get("/reservations", response=list[ReservationOut])
def reservations(request, child_id: int, start: date | None = None, end: date | None = None):
    child = access_child(request, child_id)
    start, end = _period(start, end)
    return list(Reservation.objects.filter(child=child, date__range=(start, end))
                .order_by("date", "unit_id"))


@api.post("/reservations", response={200: BookingOut},
          summary="Book a day (or join the waiting list)")
def reservation_create(request, payload: ReservationIn):
    ensure_may_book(request.user)
    child = access_child(request, payload.child_id)
    try:
        unit = Unit.objects.get(pk=payload.unit_id, is_active=True)
    except Unit.DoesNotExist:
        raise Http404 from None
    outcome = reservation_book(child=child, unit=unit, day=payload.date,
                               actor=actor_from_request(request))
    return {"status": outcome.status, "date": outcome.day, "reservation": outcome.reservation,
            "late": outcome.late}


@api.post("/reservations/{reservation_id}/cancel", response=ReservationOut)
def reservation_cancel_view(request, reservation_id: int):
    ensure_may_book(request.user)
    reservation = access_reservation(request, reservation_id)
    return reservation_cancel(reservation=reservation, actor=actor_from_request(request))


@api.get("/absences", response=list[AbsenceOut])
def absences(request, child_id: int):
    child = access_child(request, child_id)
    return list(Absence.objects.filter(child=child))


@api.post("/absences", response=AbsenceOut)
def absence_create(request, payload: AbsenceIn):
    ensure_may_book(request.user)
    child = access_child(request, payload.child_id)
    return absence_declare(child=child, start=payload.start_date, end=payload.end_date,
                           reason=payload.reason, actor=actor_from_request(request))


__all__ = ["api"]
