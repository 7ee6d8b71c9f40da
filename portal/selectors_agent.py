"""Reads of the agent pages: family search, family record, attendance, journal.

Every function runs a fixed number of queries whatever the number of rows (lists are
prefetched, never walked row by row). Scoped getters for objects that belong to a
family take the family returned by ``portal.access.access_family``.
"""

import datetime
import re
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.db.models.functions import Lower
from django.http import Http404
from django.utils import timezone

from core.models import ActionLog
from portal.models import (
    Absence,
    AbsenceStatus,
    Attendance,
    AuthorisedPickup,
    Child,
    Family,
    FamilyDocument,
    FamilyQuotient,
    Guardian,
    Membership,
    Reservation,
    ReservationStatus,
    Unit,
)
from portal.normalize import normalize_email, normalize_name
from portal.selectors import unit_day_roster

SEARCH_LIMIT = 50
CANDIDATE_LIMIT = 30
PENDING_LIMIT = 200
_PHONE_QUERY = re.compile(r"^[\d\s.()+/-]+$")
MIN_PHONE_DIGITS = 2


# -- family search --------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchTerms:
    """What a query means: name words, a phone prefix or an e-mail address (prefix)."""

    words: tuple[str, ...] = ()
    phone: str = ""
    email: str = ""

    def __bool__(self) -> bool:
        return bool(self.words or self.phone or self.email)


def search_terms(query: str) -> SearchTerms:
    """'Lefèvre Léa' -> words; '+33 6 12 34' -> phone '061234'; 'a.b@x.fr' -> e-mail."""
    query = (query or "").strip()
    if "@" in query:
        return SearchTerms(email=normalize_email(query))
    if _PHONE_QUERY.match(query):
        digits = re.sub(r"\D", "", query)
        if digits.startswith("0033"):
            digits = "0" + digits[4:]
        elif digits.startswith("33") and query.lstrip().startswith("+"):
            digits = "0" + digits[2:]
        if len(digits) >= MIN_PHONE_DIGITS:
            return SearchTerms(phone=digits)
    return SearchTerms(words=tuple(normalize_name(query).split()))


def words_match(field_name: str, words) -> Q:
    """Every word starts one of the words of a normalised column ('lea' finds 'martin lea')."""
    condition = Q()
    for word in words:
        condition &= (Q(**{f"{field_name}__startswith": word})
                      | Q(**{f"{field_name}__contains": f" {word}"}))
    return condition


def _family_condition(terms: SearchTerms) -> Q:
    if terms.email:
        guardians = Guardian.objects.alias(lower_email=Lower("email")).filter(
            lower_email__startswith=terms.email)
        return (Q(pk__in=guardians.values("family_id"))
                | Q(email__startswith=terms.email))
    if terms.phone:
        guardians = Guardian.objects.filter(search_phone__startswith=terms.phone)
        return Q(pk__in=guardians.values("family_id"))
    children = Membership.objects.filter(words_match("child__search_name", terms.words))
    guardians = Guardian.objects.filter(words_match("search_name", terms.words))
    return (words_match("search_name", terms.words)
            | Q(pk__in=children.values("family_id"))
            | Q(pk__in=guardians.values("family_id")))


def family_search(query: str, *, limit: int = SEARCH_LIMIT) -> tuple[list[Family], bool]:
    """Families matching ``query`` by family name, child name, guardian name, e-mail or
    phone; at most ``limit``, with their guardians and children (three queries).

    Returns the families and whether more matched than ``limit``.
    """
    terms = search_terms(query)
    if not terms:
        return [], False
    families = list(
        Family.objects.filter(_family_condition(terms))
        .order_by("search_name", "reference")
        .prefetch_related(
            Prefetch("guardians", queryset=Guardian.objects.order_by("last_name", "first_name")),
            Prefetch("children", queryset=Child.objects.order_by("first_name")),
        )[: limit + 1]
    )
    return families[:limit], len(families) > limit


def child_candidates(query: str, *, limit: int = CANDIDATE_LIMIT) -> list[Child]:
    """Children whose name matches every word of ``query``, with their households."""
    words = normalize_name(query or "").split()
    if not words:
        return []
    return list(
        Child.objects.filter(words_match("search_name", words))
        .select_related("school")
        .prefetch_related(Prefetch("memberships",
                                   queryset=Membership.objects.select_related("family")))
        .order_by("search_name", "birth_date")[:limit]
    )


def children_with_namesakes(*, limit: int = CANDIDATE_LIMIT) -> list[Child]:
    """Children sharing their normalised name with another record: merge candidates."""
    shared = (Child.objects.values("search_name").annotate(records=Count("id"))
              .filter(records__gt=1).values("search_name"))
    return list(
        Child.objects.filter(search_name__in=shared)
        .prefetch_related(Prefetch("memberships",
                                   queryset=Membership.objects.select_related("family")))
        .order_by("search_name", "birth_date")[:limit]
    )


# -- family record --------------------------------------------------------------------------

@dataclass
class FamilyRecord:
    family: Family
    month_start: datetime.date
    month_end: datetime.date
    guardians: list = field(default_factory=list)
    children: list = field(default_factory=list)
    quotients: list = field(default_factory=list)
    documents: list = field(default_factory=list)
    reservations: list = field(default_factory=list)
    absences: list = field(default_factory=list)


def month_bounds(month: datetime.date) -> tuple[datetime.date, datetime.date]:
    start = month.replace(day=1)
    following = (start + datetime.timedelta(days=32)).replace(day=1)
    return start, following - datetime.timedelta(days=1)


def family_record(*, family: Family, month: datetime.date) -> FamilyRecord:
    """Everything the family page shows, in eight queries whatever the family's size:
    reservations of ``month``, absences overlapping it and every absence still to review.
    Each child carries ``household_pickups``, the people this household authorises."""
    start, end = month_bounds(month)
    record = FamilyRecord(family=family, month_start=start, month_end=end)
    record.guardians = list(family.guardians.select_related("user")
                            .order_by("last_name", "first_name"))
    record.children = list(
        family.children.select_related("school").order_by("birth_date", "first_name")
        .prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.exclude(family=family)
                     .select_related("family"), to_attr="other_memberships"),
            Prefetch("pickups", queryset=AuthorisedPickup.objects.filter(family=family)
                     .order_by("name", "pk"), to_attr="household_pickups"))
    )
    child_ids = [child.pk for child in record.children]
    record.quotients = list(FamilyQuotient.objects.filter(family=family)
                            .order_by("-valid_from"))
    record.documents = list(
        FamilyDocument.objects.filter(family=family).select_related("file", "child")
        .order_by("-file__uploaded_at"))
    record.reservations = list(
        Reservation.objects.filter(child_id__in=child_ids, date__range=(start, end),
                                   status=ReservationStatus.BOOKED)
        .select_related("child", "unit__facility").order_by("date", "unit__start_time"))
    record.absences = list(
        Absence.objects.filter(child_id__in=child_ids)
        .filter(Q(status=AbsenceStatus.DECLARED)
                | Q(start_date__lte=end, end_date__gte=start))
        .select_related("child", "certificate").order_by("-start_date"))
    return record


def family_guardian(family: Family, guardian_id: int) -> Guardian:
    try:
        return family.guardians.get(pk=guardian_id)
    except Guardian.DoesNotExist:
        raise Http404 from None


def family_document(family: Family, document_id: int) -> FamilyDocument:
    try:
        return family.documents.get(pk=document_id)
    except FamilyDocument.DoesNotExist:
        raise Http404 from None


def family_absence(family: Family, absence_id: int) -> Absence:
    """An absence of one of the family's children."""
    try:
        return Absence.objects.select_related("child").get(
            pk=absence_id, child__memberships__family=family)
    except Absence.DoesNotExist:
        raise Http404 from None


# -- work lists -----------------------------------------------------------------------------

def dashboard_counts() -> dict[str, int]:
    return {
        "documents_pending": FamilyDocument.objects.filter(
            status=FamilyDocument.Status.PENDING).count(),
        "absences_declared": Absence.objects.filter(status=AbsenceStatus.DECLARED).count(),
    }


def documents_pending(*, limit: int = PENDING_LIMIT) -> list[FamilyDocument]:
    return list(FamilyDocument.objects.filter(status=FamilyDocument.Status.PENDING)
                .select_related("family", "child", "file")
                .order_by("file__uploaded_at")[:limit])


def absences_declared(*, limit: int = PENDING_LIMIT) -> list[Absence]:
    return list(
        Absence.objects.filter(status=AbsenceStatus.DECLARED).select_related("child")
        .prefetch_related(Prefetch("child__memberships",
                                   queryset=Membership.objects.select_related("family")))
        .order_by("start_date")[:limit])


# -- attendance -----------------------------------------------------------------------------

def attendance_units():
    return Unit.objects.select_related("facility", "service").order_by(
        "facility__name", "start_time", "name")


def attendance_lists(*, unit: Unit, day: datetime.date) -> tuple[list, list]:
    """The booked children (``unit_day_roster``) and the walk-ins of ``unit`` on ``day``;
    each child carries ``day_pickups``, the people any of its households authorises to
    pick it up (the staff must know them all). Three queries."""
    roster = list(unit_day_roster(unit=unit, day=day))
    walk_ins = unit_day_walk_ins(unit=unit, day=day)
    rows = [*roster, *walk_ins]
    pickups: dict[int, list] = {}
    if rows:
        for pickup in AuthorisedPickup.objects.filter(
                child_id__in={row.child_id for row in rows}).order_by("name", "pk"):
            pickups.setdefault(pickup.child_id, []).append(pickup)
    for row in rows:
        row.child.day_pickups = pickups.get(row.child_id, [])
    return roster, walk_ins


def unit_day_walk_ins(*, unit: Unit, day: datetime.date) -> list[Attendance]:
    """Attendance recorded for children without a booking that day (one query)."""
    booked = Reservation.objects.filter(child=OuterRef("child"), unit=unit, date=day,
                                        status=ReservationStatus.BOOKED)
    absences = Absence.objects.filter(child=OuterRef("child"), start_date__lte=day,
                                      end_date__gte=day)
    return list(
        Attendance.objects.filter(unit=unit, date=day).filter(~Exists(booked))
        .annotate(absence_declared=Exists(absences))
        .select_related("child").order_by("child__last_name", "child__first_name"))


# -- journal --------------------------------------------------------------------------------

def journal_search(*, family_id: int | None = None, child_id: int | None = None,
                   start: datetime.date | None = None, end: datetime.date | None = None,
                   actor: str = ""):
    """Journal entries about a family or a child (named in ``changes`` or as the target),
    between two days of the commune's calendar, by an actor whose label contains ``actor``."""
    entries = ActionLog.objects.all()
    if family_id is not None:
        entries = entries.filter(
            Q(changes__family_ids__contains=[family_id]) | Q(changes__family_id=family_id)
            | Q(target_type="portal.family", target_id=str(family_id)))
    if child_id is not None:
        entries = entries.filter(
            Q(changes__child_id=child_id) | Q(target_type="portal.child", target_id=str(child_id)))
    if start is not None:
        entries = entries.filter(at__gte=_day_start(start))
    if end is not None:
        entries = entries.filter(at__lt=_day_start(end + datetime.timedelta(days=1)))
    if actor:
        entries = entries.filter(actor_label__icontains=actor)
    return entries.order_by("-at", "-id")


def _day_start(day: datetime.date) -> datetime.datetime:
    """Midnight of ``day`` in the commune's time zone (so an index on ``at`` is used)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
