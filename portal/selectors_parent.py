"""Reads of the parent pages: a child's month of bookings, a household's history.

Each function runs a fixed number of queries, whatever the number of days, bookings or
journal entries.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import CharField, Count, Prefetch, Q
from django.db.models.functions import Cast
from django.http import Http404
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext_lazy as _

from core.models import ActionLog, ActorKind
from portal import calendar
from portal.access import access_reservation, parent_families
from portal.models import (
    AuthorisedPickup,
    Child,
    CommuneProfile,
    Family,
    FamilyDocument,
    Guardian,
    LatePolicy,
    Membership,
    Reservation,
    ReservationStatus,
    Unit,
    WaitingListEntry,
    WaitingStatus,
)
from portal.services.bookings import check_eligibility

HISTORY_PAGE_SIZE = 50


# -- households -----------------------------------------------------------------------------

def parent_households(user) -> list[Family]:
    """The parent's households with their guardians and children (four queries).

    Each child carries ``household_pickups``: the people *this* household authorises to
    pick them up (the other household's list of a child of separated parents is not shown).
    """
    families = list(parent_families(user).prefetch_related(
        Prefetch("guardians", queryset=Guardian.objects.order_by("last_name", "first_name")),
        Prefetch("children", queryset=Child.objects.order_by("first_name", "last_name")),
        Prefetch("pickups", queryset=AuthorisedPickup.objects.order_by("name", "pk")),
    ))
    for family in families:
        for child in family.children.all():
            child.household_pickups = [pickup for pickup in family.pickups.all()
                                       if pickup.child_id == child.pk]
    return families


def parent_document_households(user) -> list[Family]:
    """The parent's households with their documents, newest first (two queries)."""
    return list(parent_families(user).prefetch_related(
        Prefetch("documents", queryset=FamilyDocument.objects.select_related("file", "child")
                 .order_by("-file__uploaded_at", "-pk")),
    ))


def household_of(user, child: Child) -> Family | None:
    """The parent's household ``child`` belongs to: it books and pays for this parent."""
    return parent_families(user).filter(memberships__child=child).order_by("pk").first()


def access_household_reservation(request, reservation_id: int) -> Reservation:
    """A booking of one of the parent's children, made for one of the parent's households
    (or for no household in particular); 404 for the other household's bookings."""
    reservation = access_reservation(request, reservation_id)
    if reservation.family_id is not None and not parent_families(request.user).filter(
            pk=reservation.family_id).exists():
        raise Http404
    return reservation


def bookable_units():
    return Unit.objects.filter(is_active=True).select_related("facility", "service")


# -- a child's month ------------------------------------------------------------------------

class DayStatus(models.TextChoices):
    EMPTY = "empty", ""
    CLOSED = "closed", _("closed")
    NOT_ELIGIBLE = "not_eligible", _("not open to this child")
    BOOKED = "booked", _("booked")
    BOOKED_ELSEWHERE = "booked_elsewhere", _("booked by the other household")
    WAITING = "waiting", _("on the waiting list")
    FREE = "free", _("places available")
    FULL = "full", _("full")
    PAST_DEADLINE = "past_deadline", _("booking closed")


@dataclass(frozen=True)
class DayCell:
    day: date | None
    status: str
    reservation_id: int | None = None
    can_book: bool = False
    can_cancel: bool = False
    late: bool = False  # booking or cancelling now is after the deadline (surcharge)

    @property
    def label(self) -> str:
        return DayStatus(self.status).label


@dataclass(frozen=True)
class MonthCalendar:
    month: date  # first day of the month
    weeks: list[list[DayCell]]
    calendar_known: bool = True

    @property
    def previous_month(self) -> date:
        return (self.month - timedelta(days=1)).replace(day=1)

    @property
    def next_month(self) -> date:
        return (self.month + timedelta(days=31)).replace(day=1)

    @property
    def weekday_names(self) -> list[str]:
        return [WEEKDAYS_ABBR[number] for number in range(7)]

    @property
    def open_days(self) -> int:
        return sum(1 for week in self.weeks for cell in week
                   if cell.status not in (DayStatus.EMPTY, DayStatus.CLOSED))


def _month_end(month: date) -> date:
    return (month + timedelta(days=31)).replace(day=1) - timedelta(days=1)


def child_month_calendar(*, child: Child, unit: Unit, month: date, family_ids: set[int],
                         now: datetime | None = None) -> MonthCalendar:
    """Each day of ``month`` for ``child`` on ``unit``: its status and what the parent
    (member of ``family_ids``) may do. Five queries whatever the number of days."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    first, last = month, _month_end(month)
    profile = CommuneProfile.get()
    try:
        opening = set(calendar.unit_opening_days(unit, first, last, profile=profile))
        known = True
    except calendar.SchoolCalendarUnavailable:
        opening, known = set(), False
    in_month = {"unit": unit, "date__range": (first, last)}
    mine = {r.date: r for r in Reservation.objects.filter(
        child=child, status=ReservationStatus.BOOKED, **in_month).only("id", "date", "family_id")}
    waiting = set(WaitingListEntry.objects.filter(
        child=child, status=WaitingStatus.WAITING, **in_month).values_list("date", flat=True))
    taken = dict(Reservation.objects.filter(status=ReservationStatus.BOOKED, **in_month)
                 .values("date").annotate(count=Count("id")).values_list("date", "count"))

    def cell(day: date | None) -> DayCell:
        if day is None:
            return DayCell(day=None, status=DayStatus.EMPTY)
        if day not in opening:
            return DayCell(day=day, status=DayStatus.CLOSED)
        reservation = mine.get(day)
        if reservation is not None:
            if reservation.family_id is not None and reservation.family_id not in family_ids:
                return DayCell(day=day, status=DayStatus.BOOKED_ELSEWHERE)
            deadline = calendar.cancel_deadline(unit, day, alsace_moselle=profile.alsace_moselle)
            late = not calendar.is_before_deadline(deadline, now=now)
            allowed = not late or (unit.late_cancelling == LatePolicy.SURCHARGE and day >= today)
            return DayCell(day=day, status=DayStatus.BOOKED, reservation_id=reservation.pk,
                           can_cancel=allowed, late=late)
        if day in waiting:
            return DayCell(day=day, status=DayStatus.WAITING)
        try:
            check_eligibility(child=child, unit=unit, day=day)
        except ValidationError:
            return DayCell(day=day, status=DayStatus.NOT_ELIGIBLE)
        deadline = calendar.booking_deadline(unit, day, alsace_moselle=profile.alsace_moselle)
        late = not calendar.is_before_deadline(deadline, now=now)
        if late and (unit.late_booking == LatePolicy.REFUSE or day < today):
            return DayCell(day=day, status=DayStatus.PAST_DEADLINE)
        full = taken.get(day, 0) >= unit.capacity
        return DayCell(day=day, status=DayStatus.FULL if full else DayStatus.FREE,
                       can_book=True, late=late)

    weeks = [[cell(day) for day in week] for week in calendar.month_grid(month.year, month.month)]
    return MonthCalendar(month=month, weeks=weeks, calendar_known=known)


# -- weekly pattern results -----------------------------------------------------------------

@dataclass(frozen=True)
class PatternSummary:
    booked: list[date] = field(default_factory=list)
    late: list[date] = field(default_factory=list)
    waiting: list[date] = field(default_factory=list)
    refused: list[tuple[date, str]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.booked or self.waiting or self.refused)


def pattern_summary(outcomes, refused: dict) -> PatternSummary:
    """Sort the outcomes of ``reservation_book_pattern`` into what the parent reads."""
    return PatternSummary(
        booked=[o.day for o in outcomes if o.status in ("booked", "already_booked")],
        late=[o.day for o in outcomes if o.status == "booked" and o.late],
        waiting=[o.day for o in outcomes if o.status in ("waiting", "already_waiting")],
        refused=sorted(refused.items()),
    )


# -- absences -------------------------------------------------------------------------------

def child_absences(child: Child):
    return child.absences.select_related("certificate").order_by("-start_date", "-pk")


# -- history --------------------------------------------------------------------------------

class HistoryActor:
    """Who acted, as the parent reads it (the template words each case)."""

    YOU = "you"
    HOUSEHOLD = "household"  # another guardian of the same household: named
    OTHER_GUARDIAN = "other_guardian"  # a guardian of the child's other household: not named
    TOWN_HALL = "town_hall"  # agents, vendor operators, the system


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    summary: str
    actor: str  # a HistoryActor value
    actor_label: str


@dataclass(frozen=True)
class HistoryPage:
    entries: list[HistoryEntry]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def family_history(*, user, page: int = 1) -> HistoryPage:
    """The journal entries about the parent's households: bookings and absences of their
    children (``changes.family_ids``), and changes to the households, their guardians and
    their children. Two queries: the households' guardians, then one page of entries
    (one more row is read to know whether a next page exists)."""
    page = max(page, 1)
    guardians = list(Guardian.objects.filter(family__guardians__user=user)
                     .values_list("pk", "family_id", "user_id").distinct())
    family_ids = sorted({family_id for _pk, family_id, _user in guardians})
    if not family_ids:
        return HistoryPage(entries=[], number=page, has_next=False)
    household_users = {user_id for _pk, _family, user_id in guardians if user_id}
    child_keys = (Membership.objects.filter(family_id__in=family_ids)
                  .annotate(key=Cast("child_id", CharField())).values("key"))
    about = (Q(target_type="portal.family", target_id__in=[str(pk) for pk in family_ids])
             | Q(target_type="portal.guardian", target_id__in=[str(g[0]) for g in guardians])
             | Q(target_type="portal.child", target_id__in=child_keys))
    for family_id in family_ids:
        about |= Q(changes__family_ids__contains=[family_id])
    offset = (page - 1) * HISTORY_PAGE_SIZE
    rows = list(ActionLog.objects.filter(about).order_by("-at", "-id")
                .values_list("at", "summary", "actor_id", "actor_kind", "actor_label")
                [offset:offset + HISTORY_PAGE_SIZE + 1])

    def who(actor_id, kind) -> str:
        if actor_id is not None and actor_id == user.pk:
            return HistoryActor.YOU
        if kind == ActorKind.PARENT:
            return (HistoryActor.HOUSEHOLD if actor_id in household_users
                    else HistoryActor.OTHER_GUARDIAN)
        return HistoryActor.TOWN_HALL

    entries = [HistoryEntry(at=at, summary=summary, actor=who(actor_id, kind),
                            actor_label=label if actor_id in household_users else "")
               for at, summary, actor_id, kind, label in rows[:HISTORY_PAGE_SIZE]]
    return HistoryPage(entries=entries, number=page, has_next=len(rows) > HISTORY_PAGE_SIZE)
