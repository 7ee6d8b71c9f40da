"""Family services: creation, residency, guardians, children in two households, merges, QF."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from core.journal import Actor
from core.models import ActionLog
from portal.models import (
    Absence,
    Attendance,
    AuthorisedPickup,
    Child,
    CommuneProfile,
    Family,
    FamilyQuotient,
    Guardian,
    Membership,
    Reservation,
    ReservationStatus,
    Residency,
)
from portal.residency import ResidentPlaces, city_key
from portal.services.families import (
    ERROR_BIRTH_DATE_FUTURE,
    ERROR_CLASS_UNKNOWN,
    ERROR_EMAIL_INVALID,
    ERROR_GUARDIAN_EMAIL_TAKEN,
    ERROR_NAME_REQUIRED,
    ERROR_REFERENCE_TAKEN,
    child_add,
    family_create,
    family_update,
    guardian_add,
)
from portal.services.merge import (
    ERROR_MERGE_OTHER_FAMILY,
    ERROR_MERGE_SAME,
    ERROR_MERGE_TWO_ACCOUNTS,
    child_merge,
    guardian_merge,
)
from portal.services.quotients import ERROR_QUOTIENT_OVERLAP, ERROR_QUOTIENT_PERIOD, quotient_set
from tests.portal.factories import make_unit
from tests.treasury.factories import assert_billed_days_match
from treasury.models import BilledDays

SASSENAGE = "38360 Sassenage\n38120 Saint-Égrève\n38113"


@pytest.fixture
def agent(commune_a, admin_a):
    return Actor(kind="agent", label=admin_a.email, user=admin_a, role="administrator")


@pytest.fixture
def places(commune_a):
    with commune_a:
        profile = CommuneProfile.get()
        profile.resident_places = SASSENAGE
        profile.save()


def entries(action):
    return list(ActionLog.objects.filter(action=action))


def messages(exc_info, field):
    return exc_info.value.message_dict[field]


# -- residency ------------------------------------------------------------------------------

@pytest.mark.parametrize("postcode, city, expected", [
    ("38360", "Sassenage", Residency.RESIDENT),
    ("38360", "SASSENAGE CEDEX", Residency.RESIDENT),
    ("38120", "ST EGREVE", Residency.RESIDENT),
    ("38120", "saint-egreve", Residency.RESIDENT),
    ("38113", "Veurey-Voroize", Residency.RESIDENT),   # a postcode-only line
    ("", "Sassenage", Residency.RESIDENT),             # partial address: what is given matches
    ("38360", "Noyarey", Residency.NON_RESIDENT),      # same postcode, another town
    ("38000", "Grenoble", Residency.NON_RESIDENT),
    ("38000", "Sassenage", Residency.NON_RESIDENT),
    ("", "", Residency.RESIDENT),                      # unknown address: not charged as outsider
])
def test_residency_compares_postcode_and_normalised_city(postcode, city, expected):
    assert ResidentPlaces.parse(SASSENAGE).residency_for(postcode, city) == expected


def test_without_listed_places_everyone_is_resident():
    assert ResidentPlaces.parse("").residency_for("75001", "Paris") == Residency.RESIDENT


def test_city_key_reads_saint_and_drops_cedex():
    assert city_key("ST-ÉGRÈVE Cedex 2") == city_key("Saint Egreve") == "saint egreve"


# -- family_create / family_update ----------------------------------------------------------

def test_family_create_generates_sequential_references_and_journals(commune_a, agent):
    with commune_a:
        first = family_create(name="Lefèvre", actor=agent)
        second = family_create(name="Martin", actor=agent)
        assert (first.reference, second.reference) == ("F00001", "F00002")
        assert first.search_name == "lefevre"
        entry = ActionLog.objects.get(action="family.created", target_id=str(first.pk))
        assert entry.actor_id == agent.user.pk and "F00001" in entry.summary


def test_family_create_continues_after_imported_references(commune_a, agent):
    with commune_a:
        family_create(name="Import", reference="F00120", actor=agent)
        family_create(name="Autre", reference="LEGACY-7", actor=agent)
        assert family_create(name="Nouvelle", actor=agent).reference == "F00121"


def test_family_create_refuses_a_taken_reference_and_an_empty_name(commune_a, agent):
    with commune_a:
        family_create(name="Lefèvre", reference="A1", actor=agent)
        with pytest.raises(ValidationError) as exc:
            family_create(name="Autre", reference="A1", actor=agent)
        assert messages(exc, "reference") == [str(ERROR_REFERENCE_TAKEN)]
        with pytest.raises(ValidationError) as exc:
            family_create(name="  ", actor=agent)
        assert messages(exc, "name") == [str(ERROR_NAME_REQUIRED)]
        assert Family.objects.count() == 1


def test_family_create_derives_residency(commune_a, agent, places):
    with commune_a:
        inside = family_create(name="A", postcode="38360", city="SASSENAGE", actor=agent)
        outside = family_create(name="B", postcode="38000", city="Grenoble", actor=agent)
    assert inside.residency == Residency.RESIDENT and not inside.residency_overridden
    assert outside.residency == Residency.NON_RESIDENT


def test_family_update_journals_before_and_after(commune_a, agent):
    with commune_a:
        family = family_create(name="Lefèvre", phone="0600000000", actor=agent)
        family = family_update(family=family, actor=agent, phone="07 11 22 33 44",
                               email="Famille@Exemple.FR", name="Lefèvre")
        assert family.email == "famille@exemple.fr"
        entry = ActionLog.objects.get(action="family.updated")
        assert entry.changes == {"phone": ["0600000000", "07 11 22 33 44"],
                                 "email": ["", "famille@exemple.fr"]}


def test_family_update_without_change_writes_no_journal(commune_a, agent):
    with commune_a:
        family = family_create(name="Lefèvre", city="Sassenage", actor=agent)
        family_update(family=family, actor=agent, city="Sassenage ")
        assert entries("family.updated") == []


def test_family_update_rejects_bad_values_and_unknown_fields(commune_a, agent):
    with commune_a:
        family = family_create(name="Lefèvre", actor=agent)
        with pytest.raises(ValidationError) as exc:
            family_update(family=family, actor=agent, email="pas-une-adresse")
        assert messages(exc, "email") == [str(ERROR_EMAIL_INVALID)]
        with pytest.raises(TypeError):
            family_update(family=family, actor=agent, residency_overridden=True)


def test_address_change_derives_residency_again_unless_an_agent_set_it(commune_a, agent,
                                                                         places):
    with commune_a:
        family = family_create(name="A", postcode="38360", city="Sassenage", actor=agent)
        family = family_update(family=family, actor=agent, postcode="38000", city="Grenoble")
        assert family.residency == Residency.NON_RESIDENT

        family = family_update(family=family, actor=agent, residency=Residency.RESIDENT)
        assert family.residency_overridden
        family = family_update(family=family, actor=agent, postcode="69001", city="Lyon")
        assert family.residency == Residency.RESIDENT  # the agent's decision stands
        entry = entries("family.updated")[1]
        assert entry.changes["residency_overridden"] == [False, True]

        family = family_update(family=family, actor=agent, residency=None)  # back to address
        assert not family.residency_overridden
        assert family.residency == Residency.NON_RESIDENT


# -- guardians ------------------------------------------------------------------------------

def test_guardian_add_fills_search_fields_and_journals(commune_a, agent):
    with commune_a:
        family = family_create(name="Lefèvre", actor=agent)
        guardian = guardian_add(family=family, first_name="Hélène", last_name="Lefèvre",
                                email=" Helene.Lefevre@Exemple.fr ", phone="+33 6 12 34 56 78",
                                is_payer=True, actor=agent)
        assert guardian.search_name == "lefevre helene"
        assert guardian.search_phone == "0612345678"
        assert guardian.email == "helene.lefevre@exemple.fr"
        entry = ActionLog.objects.get(action="guardian.added")
        assert entry.target_id == str(family.pk) and entry.changes["is_payer"] is True


def test_guardian_add_refuses_an_email_known_in_the_commune(commune_a, agent):
    with commune_a:
        first = family_create(name="Lefèvre", actor=agent)
        other = family_create(name="Martin", actor=agent)
        guardian_add(family=first, first_name="Hélène", last_name="Lefèvre",
                     email="helene@exemple.fr", actor=agent)
        with pytest.raises(ValidationError) as exc:
            guardian_add(family=other, first_name="H", last_name="Martin",
                         email="HELENE@exemple.fr", actor=agent)
        assert messages(exc, "email") == [
            str(ERROR_GUARDIAN_EMAIL_TAKEN % {"reference": first.reference})]
        assert Guardian.objects.count() == 1


def test_the_same_email_is_free_in_another_commune(commune_a, commune_b, agent):
    for commune in (commune_a, commune_b):
        with commune:
            family = family_create(name="Lefèvre", actor=Actor.system("tests"))
            guardian_add(family=family, first_name="Hélène", last_name="Lefèvre",
                         email="helene@exemple.fr", actor=Actor.system("tests"))


# -- children -------------------------------------------------------------------------------

def test_child_add_creates_the_child_in_the_household(commune_a, agent):
    with commune_a:
        family = family_create(name="Lefèvre", actor=agent)
        child = child_add(family=family, first_name="Léa", last_name="Lefèvre",
                          birth_date=date(2017, 4, 2), class_level="CE1", actor=agent)
        assert child.search_name == "lefevre lea"
        assert list(child.families.all()) == [family]
        entry = ActionLog.objects.get(action="child.added")
        assert entry.target_id == str(family.pk) and "Léa Lefèvre" in entry.summary


def test_the_same_child_is_linked_to_the_second_household_not_duplicated(commune_a, agent):
    with commune_a:
        mother = family_create(name="Lefèvre", actor=agent)
        father = family_create(name="Martin", actor=agent)
        child = child_add(family=mother, first_name="Léa", last_name="Lefèvre",
                          birth_date=date(2017, 4, 2), actor=agent)
        again = child_add(family=father, first_name="LEA", last_name="lefevre",
                          birth_date=date(2017, 4, 2), actor=agent)
        assert again.pk == child.pk and Child.objects.count() == 1
        assert set(child.families.all()) == {mother, father}
        entry = ActionLog.objects.get(action="child.linked")
        assert entry.target_id == str(father.pk) and mother.reference in entry.summary
        child_add(family=father, first_name="Léa", last_name="Lefèvre",
                  birth_date=date(2017, 4, 2), actor=agent)  # already there: nothing
        assert Membership.objects.count() == 2 and len(entries("child.linked")) == 1


def test_a_namesake_born_another_day_is_another_child(commune_a, agent):
    with commune_a:
        family = family_create(name="Lefèvre", actor=agent)
        child_add(family=family, first_name="Léa", last_name="Lefèvre",
                  birth_date=date(2017, 4, 2), actor=agent)
        child_add(family=family, first_name="Léa", last_name="Lefèvre",
                  birth_date=date(2019, 4, 2), actor=agent)
        assert Child.objects.count() == 2


def test_child_add_refuses_a_future_birth_date_and_an_unknown_class(commune_a, agent):
    with commune_a:
        family = family_create(name="Lefèvre", actor=agent)
        with pytest.raises(ValidationError) as exc:
            child_add(family=family, first_name="Léa", last_name="Lefèvre",
                      birth_date=date(2999, 1, 1), class_level="CM3", actor=agent)
        assert messages(exc, "birth_date") == [str(ERROR_BIRTH_DATE_FUTURE)]
        assert messages(exc, "class_level") == [str(ERROR_CLASS_UNKNOWN)]


# -- merges ---------------------------------------------------------------------------------

def test_child_merge_moves_everything_to_the_kept_record(commune_a, agent):
    with commune_a:
        mother = family_create(name="Lefèvre", actor=agent)
        father = family_create(name="Martin", actor=agent)
        keep = child_add(family=mother, first_name="Léa", last_name="Lefèvre",
                         birth_date=date(2017, 4, 2), actor=agent)
        remove = child_add(family=mother, first_name="Lea", last_name="Lefevre-Martin",
                           birth_date=date(2017, 4, 2), class_level="CE1", actor=agent)
        Membership.objects.create(child=remove, family=father)
        unit = make_unit()
        same_day, other_day = date(2027, 3, 16), date(2027, 3, 18)
        Reservation.objects.create(child=keep, unit=unit, date=same_day)
        Reservation.objects.create(child=remove, unit=unit, date=same_day)
        Reservation.objects.create(child=remove, unit=unit, date=other_day)
        Attendance.objects.create(child=keep, unit=unit, date=same_day, present=False)
        Attendance.objects.create(child=remove, unit=unit, date=same_day, present=True)
        Absence.objects.create(child=remove, start_date=other_day, end_date=other_day)
        AuthorisedPickup.objects.create(family=mother, child=remove, name="Mamie")

        child_merge(keep=keep, remove=remove, actor=agent)

        assert not Child.objects.filter(pk=remove.pk).exists()
        keep.refresh_from_db()
        assert set(keep.families.all()) == {mother, father}
        assert keep.class_level == "CE1"  # an empty field is filled from the duplicate
        bookings = Reservation.objects.filter(child=keep)
        assert bookings.count() == 3
        assert bookings.filter(status=ReservationStatus.BOOKED).count() == 2  # one per day
        assert Attendance.objects.get(child=keep, date=same_day).present is True
        assert Absence.objects.get().child == keep
        assert AuthorisedPickup.objects.get().child == keep
        entry = ActionLog.objects.get(action="child.merged")
        assert entry.target_id == str(keep.pk)
        assert entry.changes["removed"]["id"] == remove.pk
        assert entry.changes["moved"]["reservations_cancelled"] == 1
        # The billed days follow (treasury 0006): nothing left under the removed child.
        assert not BilledDays.objects.filter(child_id=remove.pk).exists()
        assert BilledDays.objects.filter(child_id=keep.pk).count() == 2  # attended, absence
        assert_billed_days_match(date(2027, 3, 1))


def test_child_merge_refuses_merging_a_record_into_itself(commune_a, agent):
    with commune_a:
        family = family_create(name="Lefèvre", actor=agent)
        child = child_add(family=family, first_name="Léa", last_name="Lefèvre",
                          birth_date=date(2017, 4, 2), actor=agent)
        with pytest.raises(ValidationError) as exc:
            child_merge(keep=child, remove=child, actor=agent)
        assert exc.value.messages == [str(ERROR_MERGE_SAME)]


def test_guardian_merge_keeps_contact_details_and_account(commune_a, agent, parent_a):
    with commune_a:
        family = family_create(name="Lefèvre", actor=agent)
        keep = guardian_add(family=family, first_name="Hélène", last_name="Lefèvre",
                            phone="0612345678", actor=agent)
        remove = guardian_add(family=family, first_name="Helene", last_name="Lefevre",
                              email="helene@exemple.fr", is_payer=True, civility="MME",
                              actor=agent)
        remove.user = parent_a
        remove.save()
        guardian_merge(keep=keep, remove=remove, actor=agent)
        keep.refresh_from_db()
        assert (keep.email, keep.phone, keep.user_id, keep.is_payer, keep.civility) == (
            "helene@exemple.fr", "0612345678", parent_a.pk, True, "MME")
        assert Guardian.objects.count() == 1
        assert ActionLog.objects.get(action="guardian.merged").changes["removed"]["id"] == \
            remove.pk


def test_guardian_merge_refuses_other_families_and_two_accounts(commune_a, agent, parent_a,
                                                                 other_parent_a):
    with commune_a:
        first = family_create(name="Lefèvre", actor=agent)
        second = family_create(name="Martin", actor=agent)
        a = guardian_add(family=first, first_name="A", last_name="Lefèvre", actor=agent)
        b = guardian_add(family=second, first_name="A", last_name="Lefèvre", actor=agent)
        with pytest.raises(ValidationError) as exc:
            guardian_merge(keep=a, remove=b, actor=agent)
        assert exc.value.messages == [str(ERROR_MERGE_OTHER_FAMILY)]
        c = guardian_add(family=first, first_name="B", last_name="Lefèvre", actor=agent)
        Guardian.objects.filter(pk=a.pk).update(user=parent_a)
        Guardian.objects.filter(pk=c.pk).update(user=other_parent_a)
        with pytest.raises(ValidationError) as exc:
            guardian_merge(keep=a, remove=c, actor=agent)
        assert exc.value.messages == [str(ERROR_MERGE_TWO_ACCOUNTS)]
        assert Guardian.objects.count() == 3


# -- family quotients -----------------------------------------------------------------------

def test_quotient_set_records_and_journals(commune_a, agent):
    with commune_a:
        family = family_create(name="Lefèvre", actor=agent)
        quotient = quotient_set(family=family, value=845, source="caf",
                                valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31),
                                actor=agent)
        assert quotient.value == 845
        entry = ActionLog.objects.get(action="quotient.set")
        assert entry.target_id == str(family.pk) and entry.changes["valid_from"] == "2026-01-01"
        again = quotient_set(family=family, value=845, source="caf",
                             valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31),
                             actor=agent)
        assert again.pk == quotient.pk and len(entries("quotient.set")) == 1
        quotient_set(family=family, value=900, source="caf", valid_from=date(2027, 1, 1),
                     valid_until=None, actor=agent)  # the next period, open-ended
        assert FamilyQuotient.objects.count() == 2


@pytest.mark.parametrize("start, end", [
    (date(2026, 6, 1), date(2026, 6, 30)),     # inside
    (date(2025, 12, 1), date(2026, 1, 1)),     # meets the first day
    (date(2026, 12, 31), None),                # open-ended from the last day
])
def test_quotient_set_refuses_overlapping_periods(commune_a, agent, start, end):
    with commune_a:
        family = family_create(name="Lefèvre", actor=agent)
        quotient_set(family=family, value=845, source="caf", valid_from=date(2026, 1, 1),
                     valid_until=date(2026, 12, 31), actor=agent)
        with pytest.raises(ValidationError) as exc:
            quotient_set(family=family, value=500, source="msa", valid_from=start,
                         valid_until=end, actor=agent)
        assert exc.value.messages == [
            str(ERROR_QUOTIENT_OVERLAP % {"start": "01/01/2026", "end": "31/12/2026"})]
        assert FamilyQuotient.objects.count() == 1


def test_quotient_set_refuses_an_end_before_the_start(commune_a, agent):
    with commune_a:
        family = family_create(name="Lefèvre", actor=agent)
        with pytest.raises(ValidationError) as exc:
            quotient_set(family=family, value=845, source="caf", valid_from=date(2026, 2, 1),
                         valid_until=date(2026, 1, 1), actor=agent)
        assert messages(exc, "valid_until") == [str(ERROR_QUOTIENT_PERIOD)]


def test_a_parent_acting_is_recorded_as_the_actor(commune_a, parent_a):
    actor = Actor(kind="parent", label=parent_a.email, user=parent_a)
    with commune_a:
        family = family_create(name="Lefèvre", actor=Actor.system("tests"))
        family_update(family=family, actor=actor, phone="0611111111")
        assert ActionLog.objects.get(action="family.updated").actor_id == parent_a.pk
