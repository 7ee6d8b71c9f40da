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
