"""Agent pages: the permission matrix of every page, then what each page does.

Assertions are on data, status codes and ``data-*`` attributes, never on translated text.
"""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.models import AccountType, StoredFile, User
from accounts.roles import ROLE_CAPABILITIES, Capability, Role
from core.journal import Actor
from core.models import ActionLog
from portal.models import (
    Absence,
    AbsenceStatus,
    Attendance,
    Child,
    Facility,
    FacilityKind,
    Family,
    FamilyDocument,
    Guardian,
    Reservation,
    Residency,
)
from portal.services.attendance import absence_declare
from portal.services.families import child_add, family_create, guardian_add
from tests.conftest import PASSWORD, login, make_user
from tests.portal.factories import make_child, make_unit

SYSTEM = Actor.system("tests")
VIEW = Capability.VIEW_FAMILIES
MANAGE = Capability.MANAGE_FAMILIES
ATTENDANCE = Capability.TAKE_ATTENDANCE
JOURNAL = Capability.VIEW_JOURNAL

# (url template, capability) of every page answering GET.
PAGES = [
    ("/agents/tableau-de-bord/", VIEW),
    ("/agents/documents-a-valider/", VIEW),
    ("/agents/absences-a-examiner/", VIEW),
    ("/agents/familles/?q=lefevre", VIEW),
    ("/agents/familles/nouvelle/", MANAGE),
    ("/agents/familles/{family}/", VIEW),
    ("/agents/familles/{family}/modifier/", MANAGE),
    ("/agents/familles/{family}/responsables/ajouter/", MANAGE),
    ("/agents/familles/{family}/responsables/fusion/", MANAGE),
    ("/agents/familles/{family}/enfants/ajouter/", MANAGE),
    ("/agents/fusion/enfants/?q=lea", MANAGE),
    ("/agents/pointage/?unite={unit}", ATTENDANCE),
    ("/agents/journal/?famille={family}", JOURNAL),
]
# (url template, capability, a valid POST body) of every POST-only action.
ACTIONS = [
    ("/agents/familles/{family}/responsables/{guardian}/inviter/", MANAGE, {}),
    ("/agents/familles/{family}/documents/{document}/examen/", MANAGE, {"decision": "yes"}),
    ("/agents/familles/{family}/absences/{absence}/examen/", MANAGE, {"decision": "no"}),
    ("/agents/pointage/enregistrer/", ATTENDANCE,
     {"unite": "{unit}", "jour": "{today}", "enfant": "{child}", "present": "1"}),
]
ACTORS = [*Role.values, None]  # None: a parent


def may(role, capability) -> bool:
    return role is not None and capability in ROLE_CAPABILITIES[role]


def stored_file(owner, name="attestation.pdf") -> StoredFile:
    return StoredFile.objects.create(owner=owner, file=f"documents/test/{name}",
                                     original_name=name, content_type="application/pdf",
                                     size_bytes=10)


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


def fill(template: str, world) -> str:
    return template.format(**{key: getattr(value, "pk", value) for key, value in world.items()})


@pytest.fixture
def as_actor(client_a, commune_a):
    def _login(role):
        user = make_user(commune_a, f"{role or 'un.parent'}@agents.alpha.test", role=role)
        login(client_a, commune_a, user)
        return user
    return _login


# -- the permission matrix ------------------------------------------------------------------

@pytest.mark.parametrize("role", ACTORS)
@pytest.mark.parametrize("url, capability", PAGES)
def test_each_page_requires_its_capability(world, as_actor, client_a, url, capability, role):
    as_actor(role)
    response = client_a.get(fill(url, world))
    assert response.status_code == (200 if may(role, capability) else 403)


@pytest.mark.parametrize("role", ACTORS)
@pytest.mark.parametrize("url, capability, body", ACTIONS)
def test_each_action_requires_its_capability(world, as_actor, client_a, url, capability, body,
                                             role):
    as_actor(role)
    data = {key: fill(value, world) for key, value in body.items()}
    response = client_a.post(fill(url, world), data)
    assert response.status_code == (302 if may(role, capability) else 403)


@pytest.mark.parametrize("url", [url for url, _cap in PAGES] + [url for url, *_ in ACTIONS])
def test_it_requires_login(world, client_a, url):
    response = client_a.get(fill(url, world))
    assert response.status_code == 302 and response.url.startswith("/connexion/")


@pytest.mark.parametrize("url", [url for url, *_ in ACTIONS])
def test_actions_reject_get(world, as_actor, client_a, url):
    as_actor(Role.ADMINISTRATOR)
    assert client_a.get(fill(url, world)).status_code == 405


@pytest.mark.parametrize("url", [
    "/agents/familles/{family}/", "/agents/familles/{family}/modifier/",
    "/agents/familles/{family}/enfants/ajouter/",
    "/agents/fusion/enfants/?keep={child}&remove={child}",
])
def test_an_agent_of_commune_b_cannot_reach_a_family_of_a(world, client_b, commune_b, url):
    with commune_b:
        assert not Family.objects.filter(pk=world["family"].pk).exists()
        assert not Child.objects.filter(pk=world["child"].pk).exists()
    agent_b = make_user(commune_b, "agent@beta.test", role=Role.ADMINISTRATOR)
    login(client_b, commune_b, agent_b)
    assert client_b.get(fill(url, world)).status_code == 404


def test_an_agent_of_commune_b_cannot_review_a_document_of_a(world, client_b, commune_b):
    agent_b = make_user(commune_b, "agent@beta.test", role=Role.ADMINISTRATOR)
    login(client_b, commune_b, agent_b)
    response = client_b.post(fill("/agents/familles/{family}/documents/{document}/examen/",
                                  world), {"decision": "yes"})
    assert response.status_code == 404


def test_objects_of_another_family_are_not_reached_through_a_family_url(world, commune_a,
                                                                        as_actor, client_a):
    with commune_a:
        other = family_create(name="Autre", actor=SYSTEM)
    as_actor(Role.ADMINISTRATOR)
    for url in ("/agents/familles/{other}/documents/{document}/examen/",
                "/agents/familles/{other}/absences/{absence}/examen/",
                "/agents/familles/{other}/responsables/{guardian}/inviter/"):
        response = client_a.post(fill(url, {**world, "other": other}), {"decision": "yes"})
        assert response.status_code == 404
    with commune_a:
        assert FamilyDocument.objects.get().status == FamilyDocument.Status.PENDING


def test_an_unknown_family_is_a_404(as_actor, client_a):
    as_actor(Role.ADMINISTRATOR)
    assert client_a.get("/agents/familles/999999/").status_code == 404


# -- health notes ---------------------------------------------------------------------------

@pytest.mark.parametrize("role, shown", [
    (Role.SCHOOL_LIFE, True), (Role.LEISURE, True), (Role.EARLY_CHILDHOOD, True),
    (Role.ADMINISTRATOR, True), (Role.FINANCE, False), (Role.READ_ONLY, False),
])
def test_health_notes_only_for_roles_that_may_read_them(world, as_actor, client_a, role, shown):
    as_actor(role)
    body = client_a.get(fill("/agents/familles/{family}/", world)).content.decode()
    assert f'data-child="{world["child"].pk}"' in body
    assert ("arachides" in body) is shown
    assert ('class="health"' in body) is shown


def test_the_child_form_has_no_health_fields_without_the_capability(world, commune_a):
    from portal.forms_agent import ChildAddForm

    with commune_a:
        assert "allergies" not in ChildAddForm(show_health=False).fields
        assert "allergies" in ChildAddForm(show_health=True).fields


# -- dashboard and work lists ---------------------------------------------------------------

def test_the_dashboard_counts_documents_and_absences_to_review(world, as_actor, client_a):
    as_actor(Role.READ_ONLY)
    body = client_a.get("/agents/tableau-de-bord/").content.decode()
    assert '<strong data-count="documents">1</strong>' in body
    assert '<strong data-count="absences">1</strong>' in body
    assert "/agents/pointage/" not in body.split("<main")[1]  # no attendance for read-only


def test_the_work_lists_show_pending_items(world, as_actor, client_a):
    as_actor(Role.READ_ONLY)
    documents = client_a.get("/agents/documents-a-valider/").content.decode()
    assert f'data-document="{world["document"].pk}"' in documents
    absences = client_a.get("/agents/absences-a-examiner/").content.decode()
    assert f'data-absence="{world["absence"].pk}"' in absences


# -- family record --------------------------------------------------------------------------

def test_the_family_record_shows_every_part(world, commune_a, as_actor, client_a):
    as_actor(Role.SCHOOL_LIFE)
    body = client_a.get(fill("/agents/familles/{family}/", world)).content.decode()
    for marker in (f'data-guardian="{world["guardian"].pk}"', f'data-child="{world["child"].pk}"',
                   f'data-document="{world["document"].pk}"',
                   f'data-absence="{world["absence"].pk}"', "data-reservation=",
                   'data-residency="resident"', "3 rue des Alpes"):
        assert marker in body
    assert fill("/agents/familles/{family}/responsables/{guardian}/inviter/", world) in body


def test_read_only_agents_see_no_write_buttons(world, as_actor, client_a):
    as_actor(Role.READ_ONLY)
    body = client_a.get(fill("/agents/familles/{family}/", world)).content.decode()
    assert "/examen/" not in body and "/inviter/" not in body and "/modifier/" not in body


def test_another_month_shows_its_bookings(world, as_actor, client_a):
    as_actor(Role.SCHOOL_LIFE)
    next_year = (world["today"] + timedelta(days=400)).strftime("%Y-%m")
    body = client_a.get(fill("/agents/familles/{family}/", world) + f"?mois={next_year}")
    assert "data-reservation=" not in body.content.decode()
    assert f'data-absence="{world["absence"].pk}"' in body.content.decode()  # still to review


def test_the_family_page_runs_a_bounded_number_of_queries(world, commune_a, parent_a, as_actor,
                                                          client_a,
                                                          max_sql_queries):
    as_actor(Role.SCHOOL_LIFE)
    url = fill("/agents/familles/{family}/", world)
    client_a.get(url)
    with commune_a:
        family, unit = world["family"], world["unit"]
        for number in range(25):
            child = child_add(family=family, first_name=f"Enfant{number}", last_name="Lefèvre",
                              birth_date=date(2017, 1, 1) + timedelta(days=number), actor=SYSTEM,
                              allergies="gluten")
            other = family_create(name=f"Autre {number}", actor=SYSTEM)
            child_add(family=other, first_name=f"Enfant{number}", last_name="Lefèvre",
                      birth_date=date(2017, 1, 1) + timedelta(days=number), actor=SYSTEM)
            Reservation.objects.create(child=child, unit=unit, family=family,
                                       date=world["today"])
            absence_declare(child=child, start=world["today"], end=world["today"], actor=SYSTEM)
            guardian_add(family=family, first_name=f"Resp{number}", last_name="Lefèvre",
                         actor=SYSTEM)
            FamilyDocument.objects.create(family=family, child=child,
                                          file=stored_file(parent_a, name=f"d{number}.pdf"),
                                          kind=FamilyDocument.Kind.OTHER)
    with max_sql_queries(16):
        response = client_a.get(url)
    assert response.status_code == 200
    assert response.content.decode().count("data-child=") == 26


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


# -- documents and absences -----------------------------------------------------------------

def test_validating_a_document_is_journalled(world, commune_a, as_actor, client_a):
    agent = as_actor(Role.SCHOOL_LIFE)
    url = fill("/agents/familles/{family}/documents/{document}/examen/", world)
    assert client_a.post(url, {"decision": "yes"}).status_code == 302
    with commune_a:
        document = FamilyDocument.objects.get(pk=world["document"].pk)
        assert document.status == FamilyDocument.Status.VALIDATED
        assert document.reviewed_by == agent and document.reviewed_at is not None
        entry = ActionLog.objects.get(action="family_document.validated")
        assert entry.actor == agent and entry.actor_role == Role.SCHOOL_LIFE
        assert entry.changes["family_ids"] == [world["family"].pk]
        assert entry.changes["status"] == ["pending", "validated"]
    # A second decision is refused: the document stays validated, nothing more is journalled.
    assert client_a.post(url, {"decision": "no"}).status_code == 302
    with commune_a:
        assert FamilyDocument.objects.get(pk=world["document"].pk).status == "validated"
        assert not ActionLog.objects.filter(action="family_document.rejected").exists()


def test_rejecting_a_document(world, commune_a, as_actor, client_a):
    as_actor(Role.LEISURE)
    client_a.post(fill("/agents/familles/{family}/documents/{document}/examen/", world),
                  {"decision": "no"})
    with commune_a:
        assert FamilyDocument.objects.get().status == FamilyDocument.Status.REJECTED
        assert ActionLog.objects.filter(action="family_document.rejected").count() == 1


def test_a_bad_decision_is_a_400(world, as_actor, client_a):
    as_actor(Role.LEISURE)
    response = client_a.post(fill("/agents/familles/{family}/documents/{document}/examen/",
                                  world), {"decision": "maybe"})
    assert response.status_code == 400


def test_reviewing_an_absence(world, commune_a, as_actor, client_a):
    as_actor(Role.SCHOOL_LIFE)
    url = fill("/agents/familles/{family}/absences/{absence}/examen/", world)
    assert client_a.post(url, {"decision": "yes"}).status_code == 302
    with commune_a:
        assert Absence.objects.get().status == AbsenceStatus.JUSTIFIED
        assert ActionLog.objects.filter(action="absence.reviewed").count() == 1


# -- guardian invitation --------------------------------------------------------------------

def test_inviting_a_guardian_creates_the_account_and_the_link_works(
        world, commune_a, as_actor, client_a, mailoutbox, django_capture_on_commit_callbacks):
    as_actor(Role.SCHOOL_LIFE)
    url = fill("/agents/familles/{family}/responsables/{guardian}/inviter/", world)
    with django_capture_on_commit_callbacks(execute=True):
        assert client_a.post(url).status_code == 302
    with commune_a:
        guardian = Guardian.objects.select_related("user").get(pk=world["guardian"].pk)
        user = guardian.user
        assert user.email == "paul.lefevre@example.fr"
        assert user.account_type == AccountType.PARENT and not user.has_usable_password()
        entry = ActionLog.objects.get(action="guardian.invited")
        assert entry.changes["family_ids"] == [world["family"].pk]
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["paul.lefevre@example.fr"]
    path = re.search(r"https?://alpha\.parvis\.test(?::\d+)?(/activation/\S+)",
                     mailoutbox[0].body).group(1)

    client_a.logout()
    page = client_a.get(path, follow=True)
    assert page.status_code == 200 and page.context["validlink"]
    new_password = "un-mot-de-passe-de-parent-9"
    response = client_a.post(page.redirect_chain[-1][0],
                             {"new_password1": new_password, "new_password2": new_password})
    assert response.status_code == 302
    logged = client_a.post("/connexion/", {"username": "paul.lefevre@example.fr",
                                           "password": new_password})
    assert logged.status_code == 302
    home = client_a.get("/famille/")
    assert home.status_code == 200 and "Lefèvre" in home.content.decode()


def test_inviting_again_before_activation_resends_a_link(
        world, commune_a, as_actor, client_a, mailoutbox, django_capture_on_commit_callbacks):
    as_actor(Role.SCHOOL_LIFE)
    url = fill("/agents/familles/{family}/responsables/{guardian}/inviter/", world)
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post(url)
        client_a.post(url)
    assert len(mailoutbox) == 2
    with commune_a:
        assert User.objects.filter(email="paul.lefevre@example.fr").count() == 1
        assert ActionLog.objects.filter(action="guardian.invitation_resent").count() == 1


def test_an_activated_guardian_is_not_invited_again(world, commune_a, as_actor, client_a,
                                                    mailoutbox,
                                                    django_capture_on_commit_callbacks):
    with commune_a:
        guardian = world["guardian"]
        guardian.user = User.objects.create_user(email="paul.lefevre@example.fr",
                                                 password=PASSWORD)
        guardian.save()
    as_actor(Role.SCHOOL_LIFE)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(fill(
            "/agents/familles/{family}/responsables/{guardian}/inviter/", world), follow=True)
    assert response.status_code == 200 and mailoutbox == []
    assert [m.level_tag for m in response.context["messages"]] == ["error"]


def test_a_guardian_without_email_cannot_be_invited(world, commune_a, as_actor, client_a,
                                                    mailoutbox):
    with commune_a:
        guardian = guardian_add(family=world["family"], first_name="Sans", last_name="Mail",
                                actor=SYSTEM)
    as_actor(Role.SCHOOL_LIFE)
    client_a.post(f"/agents/familles/{world['family'].pk}/responsables/{guardian.pk}/inviter/")
    with commune_a:
        assert Guardian.objects.get(pk=guardian.pk).user is None
    assert mailoutbox == []


# -- merges ---------------------------------------------------------------------------------

def test_merging_two_children_through_the_page(world, commune_a, as_actor, client_a):
    with commune_a:
        other = family_create(name="Martin", actor=SYSTEM)
        duplicate = child_add(family=other, first_name="Lea", last_name="Lefevre",
                              birth_date=date(2018, 5, 5), actor=SYSTEM)
    as_actor(Role.SCHOOL_LIFE)
    keep = world["child"]
    candidates = client_a.get("/agents/fusion/enfants/?q=lefevre lea").content.decode()
    assert f'data-child="{keep.pk}"' in candidates and f'data-child="{duplicate.pk}"' in candidates
    compare = client_a.get(f"/agents/fusion/enfants/?keep={keep.pk}&remove={duplicate.pk}")
    assert compare.status_code == 200 and compare.context["remove"] == duplicate
    response = client_a.post("/agents/fusion/enfants/", {"keep": keep.pk,
                                                         "remove": duplicate.pk})
    assert response.status_code == 302
    with commune_a:
        assert not Child.objects.filter(pk=duplicate.pk).exists()
        assert set(Child.objects.get(pk=keep.pk).families.all()) == {world["family"], other}
        assert ActionLog.objects.filter(action="child.merged").count() == 1


def test_merging_a_child_into_itself_is_refused(world, as_actor, client_a):
    as_actor(Role.SCHOOL_LIFE)
    pk = world["child"].pk
    assert client_a.post("/agents/fusion/enfants/", {"keep": pk, "remove": pk}).status_code == 400


def test_the_merge_page_lists_namesakes(world, commune_a, as_actor, client_a):
    with commune_a:
        twin = make_child("Léa", "Lefèvre", birth_date=date(2018, 4, 5))
    as_actor(Role.SCHOOL_LIFE)
    response = client_a.get("/agents/fusion/enfants/")
    assert {c.pk for c in response.context["namesakes"]} == {world["child"].pk, twin.pk}


def test_merging_two_guardians_through_the_page(world, commune_a, as_actor, client_a):
    with commune_a:
        duplicate = guardian_add(family=world["family"], first_name="Paul", last_name="Lefevre",
                                 phone="0476000000", actor=SYSTEM)
    as_actor(Role.LEISURE)
    url = fill("/agents/familles/{family}/responsables/fusion/", world)
    response = client_a.post(url, {"keep": world["guardian"].pk, "remove": duplicate.pk})
    assert response.status_code == 302
    with commune_a:
        assert list(Guardian.objects.filter(family=world["family"])) == [world["guardian"]]
        assert ActionLog.objects.filter(action="guardian.merged").count() == 1


def test_a_guardian_of_another_family_is_not_offered_for_merging(world, commune_a, as_actor,
                                                                  client_a):
    with commune_a:
        other = family_create(name="Autre", actor=SYSTEM)
        stranger = guardian_add(family=other, first_name="Zoé", last_name="Autre", actor=SYSTEM)
    as_actor(Role.LEISURE)
    response = client_a.post(fill("/agents/familles/{family}/responsables/fusion/", world),
                             {"keep": world["guardian"].pk, "remove": stranger.pk})
    assert response.status_code == 200 and response.context["form"].errors["remove"]
    with commune_a:
        assert Guardian.objects.filter(pk=stranger.pk).exists()


# -- attendance -----------------------------------------------------------------------------

def attendance_url(world, **extra):
    unit = world["unit"]
    query = f"etablissement={unit.facility_id}&unite={unit.pk}&jour={world['today']:%Y-%m-%d}"
    return "/agents/pointage/?" + query + "".join(f"&{k}={v}" for k, v in extra.items())


def tap(client, world, child, present):
    return client.post("/agents/pointage/enregistrer/", {
        "unite": world["unit"].pk, "jour": world["today"].isoformat(), "enfant": child.pk,
        "present": "1" if present else "0"})


def test_the_roster_shows_booked_children_and_declared_absences(world, as_actor, client_a):
    as_actor(Role.LEISURE)
    body = client_a.get(attendance_url(world)).content.decode()
    card = body.split(f'id="enfant-{world["child"].pk}"')[1].split("</li>")[0]
    assert 'data-flag="absence"' in card and 'data-flag="pai"' in card
    assert 'data-state="unknown"' in body


def test_a_tap_records_presence_then_absence(world, commune_a, as_actor, client_a):
    as_actor(Role.SCHOOL_LIFE)
    child = world["child"]
    response = tap(client_a, world, child, True)
    assert response.status_code == 302
    assert response.url == attendance_url(world) + f"#enfant-{child.pk}"
    with commune_a:
        row = Attendance.objects.get(child=child)
        assert row.present and not row.without_booking
    body = client_a.get(attendance_url(world)).content.decode()
    assert f'id="enfant-{child.pk}" data-child="{child.pk}" data-state="present"' in body
    tap(client_a, world, child, False)
    with commune_a:
        assert Attendance.objects.get(child=child).present is False
        assert ActionLog.objects.filter(action="attendance.recorded").count() == 2


def test_a_child_present_without_booking_is_flagged(world, commune_a, as_actor, client_a):
    with commune_a:
        walk_in = make_child("Noé", "Girard", birth_date=date(2017, 3, 3))
    as_actor(Role.SCHOOL_LIFE)
    found = client_a.get(attendance_url(world, chercher="noe")).content.decode()
    assert f'data-candidate="{walk_in.pk}"' in found
    tap(client_a, world, walk_in, True)
    with commune_a:
        assert Attendance.objects.get(child=walk_in).without_booking
    body = client_a.get(attendance_url(world)).content.decode()
    card = body.split(f'id="enfant-{walk_in.pk}"')[1].split("</li>")[0]
    assert 'data-flag="walk-in"' in card and 'data-state="present"' in card


def test_attendance_cannot_be_recorded_for_a_future_day(world, commune_a, as_actor, client_a):
    as_actor(Role.SCHOOL_LIFE)
    response = client_a.post("/agents/pointage/enregistrer/", {
        "unite": world["unit"].pk, "jour": (world["today"] + timedelta(days=1)).isoformat(),
        "enfant": world["child"].pk, "present": "1"})
    assert response.status_code == 400
    with commune_a:
        assert not Attendance.objects.exists()


def test_the_unit_list_narrows_to_the_facility(world, commune_a, as_actor, client_a):
    with commune_a:
        elsewhere = Facility.objects.create(name="Centre de loisirs",
                                            kind=FacilityKind.LEISURE_CENTRE)
    as_actor(Role.LEISURE)
    response = client_a.get(f"/agents/pointage/?etablissement={elsewhere.pk}")
    assert list(response.context["form"].fields["unite"].queryset) == []
    mismatch = client_a.get(f"/agents/pointage/?etablissement={elsewhere.pk}"
                            f"&unite={world['unit'].pk}")
    assert mismatch.status_code == 200 and "roster" not in mismatch.context


def test_the_attendance_page_runs_a_bounded_number_of_queries(world, commune_a, as_actor,
                                                              client_a,
                                                              max_sql_queries):
    as_actor(Role.SCHOOL_LIFE)
    with commune_a:
        for number in range(40):
            child = make_child(f"Enfant{number}", "Durand",
                               birth_date=date(2016, 1, 1) + timedelta(days=number))
            if number % 4:
                Reservation.objects.create(child=child, unit=world["unit"],
                                           date=world["today"])
            else:
                Attendance.objects.create(child=child, unit=world["unit"], date=world["today"],
                                          present=True, without_booking=True)
            if number % 5 == 0:
                absence_declare(child=child, start=world["today"], end=world["today"],
                                actor=SYSTEM)
    with max_sql_queries(14):
        response = client_a.get(attendance_url(world, chercher="durand"))
    assert response.status_code == 200
    assert len(response.context["roster"]) == 31 and len(response.context["walk_ins"]) == 10


# -- journal --------------------------------------------------------------------------------

def test_the_journal_filters_by_family_child_author_and_days(world, commune_a, as_actor,
                                                             client_a):
    agent = as_actor(Role.SCHOOL_LIFE)
    tap(client_a, world, world["child"], True)  # journalled with the child's id, by the agent
    with commune_a:
        other = family_create(name="Autre", actor=SYSTEM)
        family_entries = set(ActionLog.objects.filter(
            target_type="portal.family", target_id=str(world["family"].pk))
            .values_list("pk", flat=True))
        tapped = ActionLog.objects.get(action="attendance.recorded")
        other_entry = ActionLog.objects.get(action="family.created",
                                            target_id=str(other.pk))

    def pks(query):
        response = client_a.get("/agents/journal/?" + query)
        assert response.status_code == 200
        return {entry.pk for entry in response.context["page"]}

    by_family = pks(f"famille={world['family'].pk}")
    assert family_entries <= by_family and other_entry.pk not in by_family
    by_child = pks(f"enfant={world['child'].pk}")
    assert tapped.pk in by_child and other_entry.pk not in by_child
    assert pks(f"auteur={agent.email.upper()[:8]}") == {tapped.pk}
    today = world["today"]
    assert tapped.pk in pks(f"du={today:%Y-%m-%d}&au={today:%Y-%m-%d}")
    assert pks(f"du={today + timedelta(days=1):%Y-%m-%d}") == set()
    assert pks(f"au={today - timedelta(days=1):%Y-%m-%d}") == set()


def test_the_journal_is_paginated(commune_a, as_actor, client_a):
    from core.journal import journal_record

    as_actor(Role.READ_ONLY)
    with commune_a:
        for number in range(60):
            journal_record(actor=SYSTEM, action="test.entry", summary=f"entrée {number}",
                           changes={"family_ids": [4242]})
    first = client_a.get("/agents/journal/?famille=4242")
    second = client_a.get("/agents/journal/?famille=4242&page=2")
    assert len(first.context["page"]) == 50 and len(second.context["page"]) == 10
    assert "famille=4242&amp;page=2" in first.content.decode()


def test_an_invalid_journal_filter_shows_no_entry(as_actor, client_a):
    as_actor(Role.READ_ONLY)
    response = client_a.get("/agents/journal/?famille=abc")
    assert response.status_code == 200 and list(response.context["page"]) == []
