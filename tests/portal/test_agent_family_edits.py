"""Agent pages: creating and editing a household.

Assertions are on data, status codes and ``data-*`` attributes, never on translated text.
"""


from accounts.roles import Role
from core.models import ActionLog
from portal.models import Child, Family, Guardian, Residency
from tests.portal.agent_world import fill

# -- editing the household ------------------------------------------------------------------

def test_an_agent_edits_the_family_and_overrides_the_residency(world, commune_a, as_actor,
                                                              client_a):
    as_actor(Role.SCHOOL_LIFE)
    url = fill("/agents/familles/{family}/modifier/", world)
    form = client_a.get(url)
    assert form.status_code == 200
    response = client_a.post(url, {"name": "Lefèvre-Durand", "address_line1": "4 rue du Lac",
                                   "postcode": "38000", "city": "Grenoble",
                                   "phone": "", "email": "", "residency": "resident"})
    assert response.status_code == 302
    with commune_a:
        family = Family.objects.get(pk=world["family"].pk)
        assert (family.name, family.city) == ("Lefèvre-Durand", "Grenoble")
        assert family.residency == Residency.RESIDENT and family.residency_overridden
        entry = ActionLog.objects.get(action="family.updated")
        assert entry.actor_role == Role.SCHOOL_LIFE and entry.target_id == str(family.pk)


def test_a_service_error_is_shown_on_the_form(world, commune_a, as_actor, client_a):
    as_actor(Role.SCHOOL_LIFE)
    response = client_a.post(fill("/agents/familles/{family}/modifier/", world),
                             {"name": "Lefèvre", "postcode": "123", "residency": ""})
    assert response.status_code == 200
    assert response.context["form"].errors["postcode"]


def test_an_agent_creates_a_family(commune_a, as_actor, client_a):
    as_actor(Role.LEISURE)
    response = client_a.post("/agents/familles/nouvelle/", {"name": "Bernard",
                                                            "postcode": "38360"})
    assert response.status_code == 302
    with commune_a:
        family = Family.objects.get(name="Bernard")
    assert response.url == f"/agents/familles/{family.pk}/"


def test_an_agent_adds_a_guardian_and_a_child(world, commune_a, as_actor, client_a):
    as_actor(Role.EARLY_CHILDHOOD)
    response = client_a.post(fill("/agents/familles/{family}/responsables/ajouter/", world),
                             {"first_name": "Anne", "last_name": "Lefèvre",
                              "email": "Anne.L@Example.fr", "phone": "0699887766"})
    assert response.status_code == 302
    response = client_a.post(fill("/agents/familles/{family}/enfants/ajouter/", world),
                             {"first_name": "Tom", "last_name": "Lefèvre",
                              "birth_date": "2020-02-29", "class_level": "PS",
                              "allergies": "lait"})
    assert response.status_code == 302
    with commune_a:
        guardian = Guardian.objects.get(first_name="Anne")
        assert guardian.email == "anne.l@example.fr" and guardian.search_phone == "0699887766"
        child = Child.objects.get(first_name="Tom")
        assert child.families.get() == world["family"] and child.allergies == "lait"


def test_adding_a_guardian_with_a_taken_email_shows_the_error(world, as_actor, client_a):
    as_actor(Role.SCHOOL_LIFE)
    response = client_a.post(fill("/agents/familles/{family}/responsables/ajouter/", world),
                             {"first_name": "X", "last_name": "Y",
                              "email": "paul.lefevre@example.fr"})
    assert response.status_code == 200 and response.context["form"].errors["email"]


# -- a guardian's civility and details -------------------------------------------------------

def test_an_agent_adds_a_guardian_with_a_civility(world, commune_a, as_actor, client_a):
    as_actor(Role.SCHOOL_LIFE)
    response = client_a.post(fill("/agents/familles/{family}/responsables/ajouter/", world),
                             {"civility": "MME", "first_name": "Anne", "last_name": "Lefèvre"})
    assert response.status_code == 302
    with commune_a:
        anne = Guardian.objects.get(first_name="Anne")
        assert anne.civility == "MME" and anne.addressed_as == "Mme Anne Lefèvre"
        assert ActionLog.objects.get(action="guardian.added",
                                     changes__guardian_id=anne.pk).changes["civility"] == "MME"


def test_an_agent_corrects_a_guardian_and_the_journal_keeps_before_and_after(
        world, commune_a, as_actor, client_a):
    as_actor(Role.ADMINISTRATOR)
    url = fill("/agents/familles/{family}/responsables/{guardian}/modifier/", world)
    form = client_a.get(url)
    assert form.status_code == 200 and form.context["form"]["last_name"].value() == "Lefèvre"
    response = client_a.post(url, {"civility": "M", "first_name": "Paul",
                                   "last_name": "Lefèvre-Martin", "phone": "06 11 22 33 44",
                                   "is_payer": "on"})
    assert response.status_code == 302
    with commune_a:
        paul = Guardian.objects.get(pk=world["guardian"].pk)
        assert (paul.civility, paul.last_name, paul.is_payer) == ("M", "Lefèvre-Martin", True)
        assert paul.search_name == "lefevre martin paul" and paul.search_phone == "0611223344"
        assert paul.email == "paul.lefevre@example.fr"  # not editable here: a login
        entry = ActionLog.objects.get(action="guardian.updated")
        assert entry.changes["last_name"] == ["Lefèvre", "Lefèvre-Martin"]
        assert entry.changes["civility"] == ["", "M"] and "first_name" not in entry.changes
    assert client_a.post(url, {"civility": "M", "first_name": "Paul",
                               "last_name": "Lefèvre-Martin", "phone": "06 11 22 33 44",
                               "is_payer": "on"}).status_code == 302
    with commune_a:  # nothing changed: nothing journalled
        assert ActionLog.objects.filter(action="guardian.updated").count() == 1


def test_a_bad_guardian_correction_changes_nothing(world, commune_a, as_actor, client_a):
    as_actor(Role.ADMINISTRATOR)
    url = fill("/agents/familles/{family}/responsables/{guardian}/modifier/", world)
    response = client_a.post(url, {"civility": "MLLE", "first_name": " ", "last_name": "X"})
    assert response.status_code == 200
    assert {"civility", "first_name"} <= set(response.context["form"].errors)
    response = client_a.post(url, {"civility": "M", "first_name": "Paul", "last_name": "X",
                                   "phone": "abc"})  # refused by the service
    assert response.status_code == 200 and response.context["form"].errors["phone"]
    with commune_a:
        paul = Guardian.objects.get(pk=world["guardian"].pk)
        assert (paul.civility, paul.first_name, paul.last_name) == ("", "Paul", "Lefèvre")
        assert not ActionLog.objects.filter(action="guardian.updated").exists()


def test_the_service_refuses_an_unknown_civility(world, commune_a):
    import pytest
    from django.core.exceptions import ValidationError

    from portal.services.families import ERROR_CIVILITY_UNKNOWN, guardian_add
    from portal.services.guardians import guardian_update
    from tests.portal.agent_world import SYSTEM

    with commune_a:
        with pytest.raises(ValidationError) as error:
            guardian_add(family=world["family"], first_name="A", last_name="B",
                         civility="Mlle", actor=SYSTEM)
        assert error.value.message_dict["civility"] == [str(ERROR_CIVILITY_UNKNOWN)]
        with pytest.raises(ValidationError):
            guardian_update(guardian=world["guardian"], actor=SYSTEM, civility="X",
                            first_name="Paul", last_name="Lefèvre", phone="", is_payer=False)
