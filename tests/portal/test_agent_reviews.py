"""Agent pages: the dashboard, the work lists, reviewing documents and absences.

Assertions are on data, status codes and ``data-*`` attributes, never on translated text.
"""


from accounts.roles import Role
from core.models import ActionLog
from portal.models import Absence, AbsenceStatus, FamilyDocument
from tests.portal.agent_world import fill

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
