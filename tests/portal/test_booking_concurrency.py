"""50 simultaneous bookings on a unit with 10 places: exactly 10 booked, 40 waiting.

This test needs committed data (each thread has its own database connection), so it
works in a commune of its own, created for it and dropped afterwards.
"""

import threading
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from core.journal import Actor
from portal.models import Reservation, ReservationStatus, WaitingListEntry, WaitingStatus
from portal.services.bookings import reservation_book
from tests.committed import throwaway_commune
from tests.portal.factories import make_child, make_unit

DAY = date(2027, 3, 16)
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture
def committed_commune(django_db_setup, django_db_blocker):
    with throwaway_commune(django_db_blocker, "concurrence") as commune:
        yield commune


def test_fifty_simultaneous_bookings_never_exceed_ten_places(committed_commune,
                                                             django_db_blocker):
    with django_db_blocker.unblock():
        with committed_commune:
            unit = make_unit(capacity=10)
            children = [make_child(f"Enfant{i:02d}", "Course") for i in range(50)]
        connection.set_schema_to_public()
        barrier = threading.Barrier(len(children))
        outcomes, errors = [], []

        def book(child):
            try:
                connection.set_tenant(committed_commune)
                barrier.wait(timeout=30)
                outcome = reservation_book(child=child, unit=unit, day=DAY,
                                           actor=Actor.system("test"), now=NOW)
                outcomes.append(outcome.status)
            except Exception as exc:  # reported below
                errors.append(repr(exc))
            finally:
                connection.close()

        threads = [threading.Thread(target=book, args=(child,)) for child in children]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        assert errors == []
        assert sorted(outcomes).count("booked") == 10 and outcomes.count("waiting") == 40
        with committed_commune:
            assert Reservation.objects.filter(unit=unit, date=DAY,
                                              status=ReservationStatus.BOOKED).count() == 10
            assert WaitingListEntry.objects.filter(unit=unit, date=DAY,
                                                   status=WaitingStatus.WAITING).count() == 40
