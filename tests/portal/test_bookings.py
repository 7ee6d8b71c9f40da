"""Booking rules: opening days, deadlines, capacity, waiting list, absences, attendance."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from accounts.roles import Role
from core.journal import Actor
from core.models import ActionLog
from portal.models import (
    Closure,
    Guardian,
    LatePolicy,
    Reservation,
    ReservationStatus,
    WaitingListEntry,
    WaitingStatus,
)
from portal.selectors import unit_day_roster
from portal.services.attendance import absence_declare, absence_review, attendance_record
from portal.services.bookings import (
    reservation_book,
    reservation_book_pattern,
    reservation_cancel,
)
from tests.conftest import make_user
from tests.portal.factories import make_child, make_unit

PARIS = ZoneInfo("Europe/Paris")
DAY = date(2027, 3, 16)  # a Tuesday; deadline: Friday 12 March 2027 at 10:00
EARLY = datetime(2027, 3, 1, 9, 0, tzinfo=PARIS)
JUST_BEFORE = datetime(2027, 3, 12, 9, 59, tzinfo=PARIS)
JUST_AFTER = datetime(2027, 3, 12, 10, 0, tzinfo=PARIS)


@pytest.fixture
def parent_actor(commune_a):
    user = make_user(commune_a, "maman@alpha.test")
    return Actor(kind="parent", label=user.email, user=user, ip_address="192.0.2.1")


@pytest.fixture
def agent_actor(commune_a):
    user = make_user(commune_a, "agent.scolaire@alpha.test", role=Role.SCHOOL_LIFE)
    return Actor(kind="agent", label=user.email, user=user, role=Role.SCHOOL_LIFE)


@pytest.fixture
def in_a(commune_a):
    with commune_a:
        yield commune_a


def test_a_parent_books_a_day_and_the_journal_says_so(in_a, parent_actor):
    unit, child = make_unit(), make_child()
    outcome = reservation_book(child=child, unit=unit, day=DAY, actor=parent_actor, now=EARLY)
    assert outcome.status == "booked" and not outcome.late
    entry = ActionLog.objects.get(action="reservation.booked")
    assert entry.actor_label == "maman@alpha.test" and entry.ip_address == "192.0.2.1"
    assert entry.changes["date"] == "2027-03-16" and entry.changes["family_ids"]


def test_booking_twice_keeps_one_reservation(in_a, parent_actor):
    unit, child = make_unit(), make_child()
    reservation_book(child=child, unit=unit, day=DAY, actor=parent_actor, now=EARLY)
    again = reservation_book(child=child, unit=unit, day=DAY, actor=parent_actor, now=EARLY)
    assert again.status == "already_booked"
    assert Reservation.objects.count() == 1


def test_the_deadline_is_two_working_days_before_at_ten(in_a, parent_actor):
    unit = make_unit()
    ok = reservation_book(child=make_child(), unit=unit, day=DAY, actor=parent_actor,
                          now=JUST_BEFORE)
    assert ok.status == "booked"
    with translation.override("fr"), pytest.raises(ValidationError) as excinfo:
        reservation_book(child=make_child("Tom"), unit=unit, day=DAY, actor=parent_actor,
                         now=JUST_AFTER)
    assert "délai" in " ".join(excinfo.value.messages)
    assert "12/03/2027 10:00" in " ".join(excinfo.value.messages)


def test_late_booking_is_flagged_when_the_unit_surcharges(in_a, parent_actor):
    unit = make_unit(late_booking=LatePolicy.SURCHARGE)
    outcome = reservation_book(child=make_child(), unit=unit, day=DAY, actor=parent_actor,
                               now=JUST_AFTER)
    assert outcome.late and outcome.reservation.booked_late


def test_an_agent_may_book_late_and_it_is_flagged(in_a, agent_actor):
    outcome = reservation_book(child=make_child(), unit=make_unit(), day=DAY, actor=agent_actor,
                               now=JUST_AFTER)
    assert outcome.status == "booked" and outcome.reservation.booked_late


def test_closed_days_are_refused(in_a, parent_actor):
    unit = make_unit(weekdays="1,2,4,5")
    wednesday = date(2027, 3, 17)
    with pytest.raises(ValidationError):
        reservation_book(child=make_child(), unit=unit, day=wednesday, actor=parent_actor,
                         now=EARLY)
    Closure.objects.create(unit=unit, start_date=DAY, end_date=DAY, reason="Grève")
    with pytest.raises(ValidationError):
        reservation_book(child=make_child("Tom"), unit=unit, day=DAY, actor=parent_actor,
                         now=EARLY)
    assert not Reservation.objects.exists()


def test_public_holidays_are_closed(in_a, parent_actor):
    easter_monday = date(2027, 3, 29)
    with pytest.raises(ValidationError):
        reservation_book(child=make_child(), unit=make_unit(), day=easter_monday,
                         actor=parent_actor, now=EARLY)


def test_eligibility_by_class(in_a, parent_actor):
    unit = make_unit(class_levels="PS,MS,GS")
    with pytest.raises(ValidationError):
        reservation_book(child=make_child(class_level="CP"), unit=unit, day=DAY,
                         actor=parent_actor, now=EARLY)
    assert reservation_book(child=make_child("Tom", class_level="MS"), unit=unit, day=DAY,
                            actor=parent_actor, now=EARLY).status == "booked"


def test_a_full_unit_puts_children_on_the_waiting_list_promoted_in_order(
        in_a, parent_actor, mailoutbox, django_capture_on_commit_callbacks):
    unit = make_unit(capacity=1)
    first = make_child("Ana")
    reservation_book(child=first, unit=unit, day=DAY, actor=parent_actor, now=EARLY)
    second, third = make_child("Bob"), make_child("Cléo")
    Guardian.objects.create(family=second.families.get(), first_name="Paul", last_name="Bob",
                            search_name="bob paul", email="paul@example.org")
    assert reservation_book(child=second, unit=unit, day=DAY, actor=parent_actor,
                            now=EARLY).status == "waiting"
    assert reservation_book(child=third, unit=unit, day=DAY, actor=parent_actor,
                            now=EARLY).status == "waiting"
    booked = Reservation.objects.get(child=first)
    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(reservation=booked, actor=parent_actor, now=EARLY)
    assert Reservation.objects.get(unit=unit, status=ReservationStatus.BOOKED).child == second
    assert WaitingListEntry.objects.get(child=second).status == WaitingStatus.PROMOTED
    assert WaitingListEntry.objects.get(child=third).status == WaitingStatus.WAITING
    assert [m.to for m in mailoutbox] == [["paul@example.org"]]
    assert ActionLog.objects.filter(action="waiting_list.promoted").count() == 1


def test_cancelling_after_the_deadline(in_a, parent_actor, agent_actor):
    unit = make_unit()
    booking = reservation_book(child=make_child(), unit=unit, day=DAY, actor=parent_actor,
                               now=EARLY).reservation
    with pytest.raises(ValidationError):
        reservation_cancel(reservation=booking, actor=parent_actor, now=JUST_AFTER)
    cancelled = reservation_cancel(reservation=booking, actor=agent_actor, now=JUST_AFTER)
    assert cancelled.status == ReservationStatus.CANCELLED and cancelled.cancelled_late
    with pytest.raises(ValidationError):
        reservation_cancel(reservation=booking, actor=agent_actor, now=JUST_AFTER)


def test_a_weekly_pattern_books_every_monday_and_thursday(in_a, parent_actor):
    unit, child = make_unit(), make_child()
    outcomes, refused = reservation_book_pattern(
        child=child, unit=unit, weekdays={1, 4}, start=date(2027, 3, 1), end=date(2027, 3, 14),
        actor=parent_actor, now=datetime(2027, 2, 1, 9, tzinfo=PARIS))
    assert [o.day for o in outcomes] == [date(2027, 3, 1), date(2027, 3, 4), date(2027, 3, 8),
                                         date(2027, 3, 11)]
    assert refused == {}


def test_an_absence_declared_once_shows_on_every_service_list(in_a, parent_actor, agent_actor):
    canteen = make_unit()
    care = make_unit(name="Accueil du soir")
    child = make_child()
    for unit in (canteen, care):
        reservation_book(child=child, unit=unit, day=DAY, actor=parent_actor, now=EARLY)
    absence_declare(child=child, start=DAY, end=DAY, reason="Fièvre", actor=parent_actor)
    for unit in (canteen, care):
        [row] = unit_day_roster(unit=unit, day=DAY)
        assert row.absence_declared is True
    absence = absence_review(absence=child.absences.get(), justified=True, actor=agent_actor)
    assert absence.status == "justified"
    with pytest.raises(ValidationError):
        absence_review(absence=absence, justified=False, actor=agent_actor)


def test_attendance_flags_a_child_present_without_booking(in_a, parent_actor, agent_actor,
                                                         django_assert_max_num_queries):
    unit = make_unit()
    booked, walk_in = make_child(), make_child("Tom")
    reservation_book(child=booked, unit=unit, day=DAY, actor=parent_actor, now=EARLY)
    assert not attendance_record(unit=unit, day=DAY, child=booked, present=True,
                                 actor=agent_actor).without_booking
    assert attendance_record(unit=unit, day=DAY, child=walk_in, present=True,
                             actor=agent_actor).without_booking
    with django_assert_max_num_queries(2):
        rows = list(unit_day_roster(unit=unit, day=DAY))
    assert [(r.child.first_name, r.present) for r in rows] == [("Léa", True)]


# -- eligibility by age (DAY is 16 March 2027) ------------------------------------------------

def _refusal_in_french(**booking) -> list[str]:
    with translation.override("fr"), pytest.raises(ValidationError) as excinfo:
        reservation_book(now=EARLY, **booking)
    return excinfo.value.messages


def _french_age_error() -> str:
    from portal.services.bookings import ERROR_NOT_ELIGIBLE_AGE

    with translation.override("fr"):
        french = str(ERROR_NOT_ELIGIBLE_AGE)
    with translation.override("en"):
        assert french != str(ERROR_NOT_ELIGIBLE_AGE)  # the catalogue really translates it
    return french


def test_a_child_under_the_minimum_age_is_refused_and_one_old_enough_is_booked(
        in_a, parent_actor):
    unit = make_unit(name="Accueil maternelle", min_age_months=36)
    too_young = make_child("Zoé", birth_date=date(2024, 3, 17))  # 35 months on DAY
    expected = _french_age_error()
    assert _refusal_in_french(child=too_young, unit=unit, day=DAY,
                              actor=parent_actor) == [expected]
    old_enough = make_child("Jade", birth_date=date(2024, 3, 16))  # 36 months on DAY
    outcome = reservation_book(child=old_enough, unit=unit, day=DAY, actor=parent_actor,
                               now=EARLY)
    assert outcome.status == "booked"
    assert list(Reservation.objects.values_list("child_id", flat=True)) == [old_enough.pk]


def test_a_child_over_the_maximum_age_is_refused_even_by_an_agent(in_a, parent_actor,
                                                                   agent_actor):
    unit = make_unit(name="Accueil élémentaire", min_age_months=36, max_age_months=143)
    too_old = make_child("Hugo", birth_date=date(2015, 3, 16))  # 144 months on DAY
    expected = _french_age_error()
    for actor in (parent_actor, agent_actor):
        assert _refusal_in_french(child=too_old, unit=unit, day=DAY, actor=actor) == [expected]
    last_month = make_child("Nina", birth_date=date(2015, 4, 16))  # 143 months on DAY
    assert reservation_book(child=last_month, unit=unit, day=DAY, actor=parent_actor,
                            now=EARLY).status == "booked"
    assert list(Reservation.objects.values_list("child_id", flat=True)) == [last_month.pk]
