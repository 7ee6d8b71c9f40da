"""Parent pages (phone first). Every view starts with a scoped getter from portal.access.

These pages are for parent accounts only: an agent gets 403 (agents book and cancel
from their own pages, where deadlines do not bind them), an anonymous visitor is sent
to the login page. Forms post and redirect, so every page works without JavaScript.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import actor_from_request
from accounts.models import AccountType
from accounts.services import stored_file_create
from portal.access import access_child, access_family, parent_families
from portal.calendar import SchoolCalendarUnavailable
from portal.forms_parent import (
    AbsenceForm,
    DayBookingForm,
    FamilyContactForm,
    PatternBookingForm,
    month_from_param,
)
from portal.selectors_parent import (
    access_household_reservation,
    bookable_units,
    child_absences,
    child_month_calendar,
    family_history,
    household_of,
    parent_households,
    pattern_summary,
)
from portal.services.attendance import absence_declare
from portal.services.bookings import (
    reservation_book,
    reservation_book_pattern,
    reservation_cancel,
)
from portal.services.families import family_update

ERROR_CALENDAR_UNKNOWN = gettext_lazy("The school calendar of these dates is not published yet.")


def parent_required(view):
    """Login required, then a parent account (403 for agents and operators)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.user.account_type != AccountType.PARENT:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _error_messages(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _calendar_url(child_id: int, unit_id: int, day) -> str:
    url = reverse("portal:parent_calendar", args=[child_id])
    return f"{url}?mois={day:%Y-%m}&unite={unit_id}"


# -- household ------------------------------------------------------------------------------

@parent_required
def parent_home(request):
    households = [(family, FamilyContactForm.for_family(family))
                  for family in parent_households(request.user)]
    return render(request, "portal/parent/home.html", {"households": households})


@parent_required
@require_http_methods(["GET", "POST"])
def family_contact(request, family_id):
    family = access_family(request, family_id)
    form = FamilyContactForm.for_family(family, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            family_update(family=family, actor=actor_from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Your contact details have been saved."))
            return redirect("portal:parent_home")
    return render(request, "portal/parent/contact.html", {"family": family, "form": form})


# -- bookings -------------------------------------------------------------------------------

@parent_required
def child_calendar(request, child_id):
    child = access_child(request, child_id)
    month = month_from_param(request.GET.get("mois"), today=timezone.localdate())
    units = list(bookable_units())
    unit = next((u for u in units if str(u.pk) == request.GET.get("unite")),
                units[0] if units else None)
    month_view = None
    if unit is not None:
        family_ids = set(parent_families(request.user).values_list("pk", flat=True))
        month_view = child_month_calendar(child=child, unit=unit, month=month,
                                          family_ids=family_ids)
    return render(request, "portal/parent/calendar.html", {
        "child": child, "units": units, "unit": unit, "month": month,
        "calendar": month_view})


@parent_required
@require_POST
def reservation_book_day(request, child_id):
    child = access_child(request, child_id)
    form = DayBookingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("This day cannot be booked."))
        return redirect("portal:parent_calendar", child_id=child.pk)
    unit, day = form.cleaned_data["unit"], form.cleaned_data["date"]
    try:
        outcome = reservation_book(child=child, unit=unit, day=day,
                                   actor=actor_from_request(request),
                                   family=household_of(request.user, child))
    except ValidationError as exc:
        _error_messages(request, exc)
    except SchoolCalendarUnavailable:
        messages.error(request, ERROR_CALENDAR_UNKNOWN)
    else:
        facts = {"child": child.first_name, "unit": unit.name, "day": day.strftime("%d/%m/%Y")}
        if outcome.status == "booked":
            messages.success(request, _("%(child)s is booked for %(unit)s on %(day)s.") % facts)
            if outcome.late:
                messages.warning(request, _("Booked after the deadline: a surcharge applies."))
        elif outcome.status == "waiting":
            messages.info(request, _("%(unit)s is full on %(day)s: %(child)s is on the "
                                     "waiting list and will be booked if a place frees up.")
                          % facts)
        else:
            messages.info(request, _("Nothing changed: this day was already requested."))
    return redirect(_calendar_url(child.pk, unit.pk, day))


@parent_required
@require_POST
def reservation_cancel_day(request, reservation_id):
    reservation = access_household_reservation(request, reservation_id)
    try:
        reservation_cancel(reservation=reservation, actor=actor_from_request(request))
    except ValidationError as exc:
        _error_messages(request, exc)
    else:
        messages.success(request, _("The booking of %(child)s for %(unit)s on %(day)s is "
                                    "cancelled.") % {
            "child": reservation.child.first_name, "unit": reservation.unit.name,
            "day": reservation.date.strftime("%d/%m/%Y")})
    return redirect(_calendar_url(reservation.child_id, reservation.unit_id, reservation.date))


@parent_required
@require_http_methods(["GET", "POST"])
def reservation_pattern(request, child_id):
    child = access_child(request, child_id)
    form = PatternBookingForm(request.POST or None, initial={"unit": request.GET.get("unite")})
    summary = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            outcomes, refused = reservation_book_pattern(
                child=child, unit=data["unit"], weekdays=set(data["weekdays"]),
                start=data["start"], end=data["end"], actor=actor_from_request(request),
                family=household_of(request.user, child))
        except SchoolCalendarUnavailable:
            form.add_error(None, ERROR_CALENDAR_UNKNOWN)
        else:
            summary = pattern_summary(outcomes, refused)
    return render(request, "portal/parent/pattern.html",
                  {"child": child, "form": form, "summary": summary})


# -- absences -------------------------------------------------------------------------------

@parent_required
@require_http_methods(["GET", "POST"])
def child_absences_page(request, child_id):
    child = access_child(request, child_id)
    form = AbsenceForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data, actor = form.cleaned_data, actor_from_request(request)
        certificate = None
        try:
            if data["certificate"]:
                certificate = stored_file_create(owner=request.user,
                                                 uploaded=data["certificate"], actor=actor)
            absence_declare(child=child, start=data["start"], end=data["end"],
                            reason=data["reason"], certificate=certificate, actor=actor)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("The absence of %(child)s is declared.")
                             % {"child": child.first_name})
            return redirect("portal:parent_absences", child_id=child.pk)
    return render(request, "portal/parent/absences.html",
                  {"child": child, "form": form, "absences": child_absences(child)})


# -- history --------------------------------------------------------------------------------

@parent_required
def family_history_page(request):
    try:
        page = int(request.GET.get("page", 1))
    except ValueError:
        page = 1
    return render(request, "portal/parent/history.html",
                  {"history": family_history(user=request.user, page=page)})
