"""A parent sends supporting documents with a validity date; agents validate them.

Actors: ``parent_a`` (Martin household, Léa), ``other_parent_a`` (Durand household, Tom),
a school-life agent of commune A, ``parent_b`` of commune B. Time is frozen on
1 March 2027; error messages are checked against the services' constants.
"""

from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import StoredFile
from accounts.roles import Role
from accounts.services import ERROR_FILE_TOO_LARGE, ERROR_FILE_TYPE
from core.journal import Actor
from core.models import ActionLog
from portal.models import Family, FamilyDocument, Guardian
from portal.normalize import normalize_name
from portal.services.guardians import (
    ERROR_DOCUMENT_EXPIRED,
    ERROR_DOCUMENT_FILE_REQUIRED,
    ERROR_DOCUMENT_VALIDITY_REQUIRED,
    family_document_submit,
)
from tests.conftest import login, make_user
from tests.portal.factories import make_child

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
PDF = b"%PDF-1.4\n% attestation CAF\n"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def make_family(name, *, user):
    family = Family.objects.create(reference=f"REF-{name}", name=name,
                                   search_name=normalize_name(name))
    Guardian.objects.create(family=family, first_name="Camille", last_name=name,
                            search_name=normalize_name(name, "Camille"), user=user)
    return family


@pytest.fixture
def martin(commune_a, parent_a):
    with commune_a:
        family = make_family("Martin", user=parent_a)
        return SimpleNamespace(family=family, child=make_child("Léa", "Martin", family=family))


@pytest.fixture
def durand(commune_a, other_parent_a):
    with commune_a:
        family = make_family("Durand", user=other_parent_a)
        return SimpleNamespace(family=family, child=make_child("Tom", "Durand", family=family))


@pytest.fixture
def as_parent(client_a, commune_a, parent_a, martin, media_root):
    return login(client_a, commune_a, parent_a)


def upload_url(family):
    return f"/famille/foyers/{family.pk}/documents/envoyer/"


def pdf(name="attestation-caf.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def body(**fields):
    data = {"kind": "qf", "child": "", "valid_until": "2027-12-31", "file": pdf()}
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def nothing_written(commune, media_root):
    with commune:
        assert not FamilyDocument.objects.exists() and not StoredFile.objects.exists()
        assert not ActionLog.objects.filter(action__in=["family_document.submitted",
                                                        "file.uploaded"]).exists()
    assert not [path for path in media_root.rglob("*") if path.is_file()]


# -- uploading ------------------------------------------------------------------------------

def test_an_upload_creates_a_pending_document_for_the_household(as_parent, commune_a, martin,
                                                                parent_a):
    response = as_parent.post(upload_url(martin.family), body())
    assert response.status_code == 302 and response.url == "/famille/documents/"
    with commune_a:
        document = FamilyDocument.objects.select_related("file").get()
        entry = ActionLog.objects.get(action="family_document.submitted")
    assert (document.family_id, document.child_id, document.kind, document.status) == (
        martin.family.pk, None, FamilyDocument.Kind.QF, FamilyDocument.Status.PENDING)
    assert document.valid_until == date(2027, 12, 31)
    assert document.file.owner_id == parent_a.pk
    assert document.file.content_type == "application/pdf"
    assert entry.actor_id == parent_a.pk and entry.target_id == str(document.pk)
    assert entry.changes["status"] == [None, "pending"]
    assert entry.changes["family_ids"] == [martin.family.pk]
    assert entry.changes["valid_until"] == "2027-12-31"


def test_a_medical_certificate_names_the_child(as_parent, commune_a, martin):
    as_parent.post(upload_url(martin.family), body(kind="medical", child=martin.child.pk,
                                                   file=pdf("certificat.pdf")))
    with commune_a:
        document = FamilyDocument.objects.get()
    assert (document.kind, document.child_id) == ("medical", martin.child.pk)


@pytest.mark.parametrize("fields, field, message", [
    ({"file": None}, "file", ERROR_DOCUMENT_FILE_REQUIRED),
    ({"valid_until": None}, "valid_until", ERROR_DOCUMENT_VALIDITY_REQUIRED),
    ({"valid_until": "2027-02-28"}, "valid_until", ERROR_DOCUMENT_EXPIRED),
    ({"file": pdf("attestation.pdf", b"GIF89a not a pdf")}, "file", ERROR_FILE_TYPE),
    ({"file": pdf("attestation.png", PDF)}, "file", ERROR_FILE_TYPE),  # name and content differ
])
def test_bad_input_is_explained_and_writes_nothing(as_parent, commune_a, martin, media_root,
                                                   fields, field, message):
    response = as_parent.post(upload_url(martin.family), body(**fields))
    assert response.status_code == 200
    assert '<html lang="fr">' in response.content.decode()
    assert response.context["form"].errors[field] == [str(message)]
    nothing_written(commune_a, media_root)


def test_a_file_too_large_is_refused(as_parent, commune_a, martin, media_root, settings):
    settings.FILE_UPLOAD_MAX_BYTES = 1024 * 1024
    big = pdf(content=PDF + b"0" * (1024 * 1024))
    response = as_parent.post(upload_url(martin.family), body(file=big))
    assert response.context["form"].errors["file"] == [str(ERROR_FILE_TOO_LARGE % {"max": 1})]
    nothing_written(commune_a, media_root)


def test_a_child_of_another_household_is_not_accepted(as_parent, commune_a, martin, durand,
                                                      media_root):
    response = as_parent.post(upload_url(martin.family), body(child=durand.child.pk))
    assert response.status_code == 200 and "child" in response.context["form"].errors
    nothing_written(commune_a, media_root)


def test_a_failure_after_storing_leaves_no_file_behind(commune_a, martin, parent_a, media_root,
                                                       monkeypatch):
    def broken_journal(**kwargs):
        raise RuntimeError("journal unavailable")

    monkeypatch.setattr("portal.services.guardians.journal_record", broken_journal)
    actor = Actor(kind="parent", label=parent_a.email, user=parent_a)
    with commune_a, pytest.raises(RuntimeError):
        family_document_submit(family=martin.family, kind="qf", valid_until=date(2027, 12, 31),
                               uploaded=pdf(), actor=actor)
    nothing_written(commune_a, media_root)


def test_the_service_checks_the_validity_date_itself(commune_a, martin, parent_a, media_root):
    actor = Actor(kind="parent", label=parent_a.email, user=parent_a)
    with commune_a, pytest.raises(ValidationError) as raised:
        family_document_submit(family=martin.family, kind="qf", valid_until=date(2027, 2, 1),
                               uploaded=pdf(), actor=actor)
    assert raised.value.message_dict == {"valid_until": [str(ERROR_DOCUMENT_EXPIRED)]}
    nothing_written(commune_a, media_root)


# -- scope ----------------------------------------------------------------------------------

def test_it_requires_a_parent_account(client_a, commune_a, martin):
    for url in ("/famille/documents/", upload_url(martin.family)):
        response = client_a.get(url)
        assert response.status_code == 302 and response.url.startswith("/connexion/")
    agent = make_user(commune_a, "agent@alpha.test", role=Role.SCHOOL_LIFE)
    login(client_a, commune_a, agent)
    for url in ("/famille/documents/", upload_url(martin.family)):
        assert client_a.get(url).status_code == 403


def test_a_parent_cannot_upload_for_another_household(client_a, commune_a, martin, durand,
                                                      other_parent_a, media_root):
    login(client_a, commune_a, other_parent_a)
    assert client_a.post(upload_url(martin.family), body()).status_code == 404
    assert client_a.get(upload_url(martin.family)).status_code == 404
    nothing_written(commune_a, media_root)


def test_a_parent_sees_only_their_households_documents(client_a, commune_a, martin, durand,
                                                       parent_a, other_parent_a, media_root):
    with commune_a:
        mine = family_document_submit(
            family=martin.family, kind="qf", valid_until=date(2027, 12, 31), uploaded=pdf(),
            actor=Actor(kind="parent", label=parent_a.email, user=parent_a))
        theirs = family_document_submit(
            family=durand.family, kind="medical", valid_until=date(2027, 6, 30),
            uploaded=pdf("tom.pdf"), child=durand.child,
            actor=Actor(kind="parent", label=other_parent_a.email, user=other_parent_a))
    login(client_a, commune_a, parent_a)
    page = client_a.get("/famille/documents/").content.decode()
    assert f'data-document="{mine.pk}"' in page and 'datetime="2027-12-31"' in page
    assert f'data-document="{theirs.pk}"' not in page and "tom.pdf" not in page
    assert f"/fichiers/{mine.file.uuid}/" in page


def test_a_parent_of_commune_b_cannot_upload_to_a_household_of_a(client_b, commune_a, commune_b,
                                                                 martin, parent_b, media_root):
    login(client_b, commune_b, parent_b)
    assert client_b.post(upload_url(martin.family), body()).status_code == 404
    nothing_written(commune_a, media_root)
    with commune_b:
        assert not FamilyDocument.objects.exists()


# -- the agents' queue ----------------------------------------------------------------------

def test_the_agents_queue_shows_it_and_the_decision_reaches_the_parent(
        as_parent, client_a, commune_a, martin, parent_a):
    as_parent.post(upload_url(martin.family), body())
    with commune_a:
        document = FamilyDocument.objects.get()
    agent = make_user(commune_a, "agent@alpha.test", role=Role.SCHOOL_LIFE)
    agent_client = login(type(client_a)(HTTP_HOST="alpha.parvis.test"), commune_a, agent)
    queue = agent_client.get("/agents/documents-a-valider/").content.decode()
    assert f'data-document="{document.pk}"' in queue and "31/12/2027" in queue
    page = as_parent.get("/famille/documents/").content.decode()
    assert f'data-document="{document.pk}" data-status="pending"' in page

    response = agent_client.post(
        f"/agents/familles/{martin.family.pk}/documents/{document.pk}/examen/",
        {"decision": "yes"})
    assert response.status_code == 302
    page = as_parent.get("/famille/documents/").content.decode()
    assert f'data-document="{document.pk}" data-status="validated"' in page
    queue = agent_client.get("/agents/documents-a-valider/").content.decode()
    assert f'data-document="{document.pk}"' not in queue


def test_an_expired_document_is_flagged(as_parent, frozen, commune_a, martin, parent_a):
    as_parent.post(upload_url(martin.family), body(valid_until="2027-03-10"))
    assert 'data-flag="expired"' not in as_parent.get("/famille/documents/").content.decode()
    frozen.move_to(datetime(2027, 3, 11, 9, 0, tzinfo=ZoneInfo("Europe/Paris")))
    login(as_parent, commune_a, parent_a)
    assert 'data-flag="expired"' in as_parent.get("/famille/documents/").content.decode()


def test_the_documents_page_runs_a_bounded_number_of_queries(as_parent, commune_a, martin,
                                                             parent_a, max_sql_queries):
    actor = Actor(kind="parent", label=parent_a.email, user=parent_a)
    with commune_a:
        for number in range(8):
            family_document_submit(family=martin.family, kind="other",
                                   uploaded=pdf(f"{number}.pdf"), child=martin.child,
                                   valid_until=date(2027, 12, 31), actor=actor)
    with max_sql_queries(8):
        response = as_parent.get("/famille/documents/")
    assert response.content.decode().count("data-document=") == 8
