"""The demo towns' sizes: Sassenage is the pilot's size (large), Fontaine a smaller one.

The large demo itself is never loaded here (it takes a while): the size table, the
facilities it builds (cheap) and the households it would insert (built, not saved)."""

import random
from collections import Counter

from portal.demo import SIZES, _facilities_and_units, _families
from portal.models import Facility, FacilityKind
from tenants.management.commands.load_demo import DEMO_COMMUNES


def test_the_large_size_is_the_pilot_town():
    assert SIZES["large"] == {"families": 1000, "accounts": 650, "schools": 8, "leisure": 3,
                              "holiday": 1, "sports": 1}


def test_sassenage_loads_the_large_size_and_fontaine_a_smaller_one():
    sizes = {slug: size for slug, _name, _insee, _siret, size in DEMO_COMMUNES}
    assert sizes["sassenage"] == "large"
    assert sizes["fontaine"] in SIZES and sizes["fontaine"] != "large"
    small = SIZES[sizes["fontaine"]]
    assert 0 < small["families"] < SIZES["large"]["families"]
    assert 0 < small["accounts"] <= small["families"]
    assert 0 < small["schools"] < SIZES["large"]["schools"]


def test_the_large_size_builds_the_facilities_of_the_pilot_town(commune_a):
    with commune_a:
        units = _facilities_and_units(SIZES["large"])
        kinds = Counter(Facility.objects.values_list("kind", flat=True))
    assert kinds == {FacilityKind.SCHOOL_GROUP: 8, FacilityKind.LEISURE_CENTRE: 3,
                     FacilityKind.HOLIDAY_CENTRE: 1, FacilityKind.SPORTS_CENTRE: 1}
    assert {key: len(group) for key, group in units.items()} == {
        "canteen": 8, "morning": 8, "evening": 8,
        "wednesday": 4,  # leisure and multisport centres
        "holidays": 4,   # leisure and holiday centres
    }


def test_the_large_size_makes_1000_households_and_650_parent_accounts():
    families, guardians, children, _memberships, _quotients, users = _families(
        random.Random("parvis-demo-sassenage"), SIZES["large"], "sassenage")
    assert len(families) == 1000
    assert len(users) == 650 and len({user.email for user in users}) == 650
    assert sum(1 for _family, _guardian, user in guardians if user is not None) == 650
    assert len(children) >= 1000
    assert users[0].email == "parent@sassenage.demo"
