"""The agents' family search (``portal.selectors_agent.family_search``): by family name,
child name, guardian e-mail or phone, whatever the accents, case and phone format; never
across communes."""

from datetime import date

import pytest

from accounts.roles import Role
from core.journal import Actor
from portal.selectors_agent import family_search
from portal.services.families import child_add, family_create, guardian_add
from tests.conftest import login, make_user

SYSTEM = Actor.system("tests")


def household(*, reference, name, guardian, email, phone, child, child_last_name=None,
              family_email=""):
    family = family_create(name=name, reference=reference, actor=SYSTEM, email=family_email)
    guardian_add(family=family, first_name=guardian, last_name=name, email=email, phone=phone,
                 actor=SYSTEM)
    child_add(family=family, first_name=child, last_name=child_last_name or name,
              birth_date=date(2018, 5, 4), actor=SYSTEM)
    return family


@pytest.fixture
def towns(commune_a, commune_b):
    """The same household in both communes (same names, e-mail and phone), plus a
    neighbour in commune A who must not come up."""
    for commune, prefix in ((commune_a, "A"), (commune_b, "B")):
        with commune:
            household(reference=f"{prefix}-LEF", name="Lefèvre", guardian="Paul",
                      email="Paul.Lefevre@Example.fr", phone="06 12 34 56 78",
                      child="Inès", child_last_name="Moreau-Lefèvre",
                      family_email="Foyer.Lefevre@Example.fr")
    with commune_a:
        household(reference="A-DUR", name="Durand", guardian="Claire",
                  email="claire.durand@example.fr", phone="04 76 00 11 22", child="Léo")
    return commune_a, commune_b


def references(commune, query) -> list[str]:
    with commune:
        families, truncated = family_search(query)
    assert not truncated
    return [family.reference for family in families]


@pytest.mark.parametrize("query", [
    "Lefèvre",                 # the family name as written
    "lefevre",                 # without its accent
    "LEFÈVRE",                 # in capitals
    "Inès",                    # a child's first name
    "ines",
    "moreau",                  # a child's last name (not the family's)
    "Moreau-Lefèvre Inès",     # a child's full name
    "paul lef",                # a guardian's name, the last word a prefix
    "PAUL.LEFEVRE@EXAMPLE.FR",  # the guardian's e-mail in capitals
    "paul.lefevre@",           # the beginning of the e-mail
    "FOYER.LEFEVRE@EXAMPLE.FR",  # the household's own e-mail in capitals
    "06 12 34 56 78",          # the phone as written on a form
    "0612345678",
    "06.12.34.56.78",
    "+33 6 12 34 56 78",       # in international format
    "+33612345678",
    "0033 6 12 34 56 78",
    "06 12 34",                # the beginning of the number
])
def test_each_way_of_asking_finds_the_household_of_its_own_commune_only(towns, query):
    commune_a, commune_b = towns
    assert references(commune_a, query) == ["A-LEF"]
    assert references(commune_b, query) == ["B-LEF"]  # the other commune's twin


@pytest.mark.parametrize("query", ["durand", "léo", "claire.durand@example.fr",
                                   "04 76 00 11 22", "+33 4 76 00 11 22"])
def test_the_neighbour_is_found_in_its_commune_and_not_in_the_other(towns, query):
    commune_a, commune_b = towns
    assert references(commune_a, query) == ["A-DUR"]
    assert references(commune_b, query) == []


@pytest.mark.parametrize("query", ["", "   ", "lefevres", "ines moreaux", "06 99",
                                   "+33 7 12 34 56 78", "paul.lefevre@example.com"])
def test_near_misses_find_nothing(towns, query):
    commune_a, _commune_b = towns
    assert references(commune_a, query) == []


def test_a_word_must_start_a_name_not_sit_inside_it(towns):
    commune_a, _commune_b = towns
    assert references(commune_a, "fevre") == []
    assert references(commune_a, "lefevre ines") == ["A-LEF"]


def test_the_search_page_finds_by_international_phone_in_its_commune(towns, client_a,
                                                                      client_b):
    commune_a, commune_b = towns
    for client, commune, expected in ((client_a, commune_a, "A-LEF"),
                                      (client_b, commune_b, "B-LEF")):
        agent = make_user(commune, f"recherche@{commune.schema_name}.test",
                          role=Role.READ_ONLY)
        login(client, commune, agent)
        response = client.get("/agents/familles/", {"q": "+33 6 12 34 56 78"})
        assert response.status_code == 200
        assert [family.reference for family in response.context["families"]] == [expected]
        body = response.content.decode()
        assert body.count("data-family=") == 1


def test_an_email_stored_in_capitals_is_found_in_lower_case(towns):
    from portal.models import Guardian

    commune_a, _commune_b = towns
    with commune_a:  # a record written before e-mails were normalised
        Guardian.objects.filter(family__reference="A-LEF").update(email="Paul.Lefevre@Example.FR")
    assert references(commune_a, "paul.lefevre@example.fr") == ["A-LEF"]
    assert references(commune_a, "PAUL.LEFEVRE@EXAMPLE.FR") == ["A-LEF"]
