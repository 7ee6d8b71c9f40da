"""Fixtures of the agent-page tests: a household of commune A and a login per role."""

from datetime import date

import pytest
from django.utils import timezone

from portal.models import FamilyDocument, Reservation
from portal.services.attendance import absence_declare
from portal.services.families import child_add, family_create, guardian_add
from tests.conftest import login, make_user
from tests.portal.agent_world import SYSTEM, stored_file
from tests.portal.factories import make_unit


@pytest.fixture
def world(commune_a, parent_a):
    """One household of commune A: a guardian, a child with health notes, a document,
    an absence, and a unit with the child booked today."""
    with commune_a:
        family = family_create(name="Lefèvre", actor=SYSTEM, address_line1="3 rue des Alpes",
                               postcode="38360", city="Sassenage")
        guardian = guardian_add(family=family, first_name="Paul", last_name="Lefèvre",
                                email="paul.lefevre@example.fr", phone="06 12 34 56 78",
                                actor=SYSTEM)
        child = child_add(family=family, first_name="Léa", last_name="Lefèvre",
                          birth_date=date(2018, 5, 4), actor=SYSTEM, has_pai=True,
                          allergies="arachides")
        document = FamilyDocument.objects.create(family=family, child=child,
                                                 file=stored_file(parent_a),
                                                 kind=FamilyDocument.Kind.MEDICAL)
        today = timezone.localdate()
        absence = absence_declare(child=child, start=today, end=today, actor=SYSTEM,
                                  reason="fièvre")
        unit = make_unit(capacity=100)
        Reservation.objects.create(child=child, unit=unit, family=family, date=today)
    return {"family": family, "guardian": guardian, "child": child, "document": document,
            "absence": absence, "unit": unit, "today": today}


@pytest.fixture
def as_actor(client_a, commune_a):
    def _login(role):
        user = make_user(commune_a, f"{role or 'un.parent'}@agents.alpha.test", role=role)
        login(client_a, commune_a, user)
        return user
    return _login
