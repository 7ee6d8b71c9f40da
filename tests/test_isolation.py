"""Isolation between communes: sessions, accounts, hosts, cache, files."""

from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import StoredFile
from accounts.services import stored_file_create
from core.journal import Actor
from tests.conftest import HOST_A, PASSWORD, login

PDF = b"%PDF-1.4\n% test document\n"


def test_a_session_cookie_of_commune_a_does_not_authenticate_on_b(client_a, client_b, commune_a,
                                                                  parent_a):
    login(client_a, commune_a, parent_a)
    assert client_a.get("/famille/").status_code == 200
    client_b.cookies = client_a.cookies  # the same cookie jar, replayed on B
    response = client_b.get("/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_the_session_cookie_is_host_only_http_only_and_lax(client_a, parent_a):
    response = client_a.post("/connexion/", {"username": parent_a.email, "password": PASSWORD})
    assert response.status_code == 302
    morsel = response.cookies["parvis_session"]
    assert morsel["domain"] == ""
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"


def test_a_user_of_commune_a_cannot_log_in_on_b(client_b, parent_a):
    response = client_b.post("/connexion/", {"username": parent_a.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client_b.session
    assert "Adresse e-mail ou mot de passe incorrect" in response.content.decode()


def test_an_unknown_host_gets_a_plain_404(client, commune_a):
    response = client.get("/connexion/", HTTP_HOST="inconnue.parvis.test")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Alpha" not in body and "Bêta" not in body and "connexion" not in body.lower()


def test_commune_pages_do_not_exist_on_the_vendor_host(vendor_client, vendor):
    login(vendor_client, None, vendor)
    assert vendor_client.get("/agents/").status_code == 404
    assert vendor_client.get("/documents/").status_code == 404


def test_cache_keys_are_namespaced_per_commune(commune_a, commune_b):
    with commune_a:
        cache.set("tableau-de-bord", "données d'Alpha")
    with commune_b:
        assert cache.get("tableau-de-bord") is None
        cache.set("tableau-de-bord", "données de Bêta")
    with commune_a:
        assert cache.get("tableau-de-bord") == "données d'Alpha"
        assert cache.make_key("x").startswith("alpha:")


def _upload(commune, owner, name="certificat.pdf", content=PDF):
    with commune:
        return stored_file_create(owner=owner, uploaded=SimpleUploadedFile(name, content),
                                  actor=Actor.system())


def test_files_are_stored_in_the_communes_own_folder(commune_a, parent_a, media_root):
    tmp_path = media_root
    stored = _upload(commune_a, parent_a)
    with commune_a:
        path = stored.file.path
    assert path.startswith(str(tmp_path / "communes" / "alpha"))
    assert open(path, "rb").read() == PDF


def test_a_file_is_served_to_its_owner_only(client_a, commune_a, parent_a, other_parent_a,
                                            media_root):
    stored = _upload(commune_a, parent_a)
    url = f"/fichiers/{stored.uuid}/"
    assert client_a.get(url).status_code == 302  # anonymous: to the login page
    login(client_a, commune_a, other_parent_a)
    assert client_a.get(url).status_code == 404
    login(client_a, commune_a, parent_a)
    response = client_a.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert "certificat.pdf" in response["Content-Disposition"]


def test_a_file_of_commune_a_cannot_be_reached_from_b(client_b, commune_a, commune_b, parent_a,
                                                      media_root):
    stored = _upload(commune_a, parent_a)
    from accounts.roles import Role
    from tests.conftest import make_user

    agent_b = make_user(commune_b, "agent@beta.test", role=Role.ADMINISTRATOR)
    login(client_b, commune_b, agent_b)
    assert client_b.get(f"/fichiers/{stored.uuid}/").status_code == 404
    with commune_b:
        assert not StoredFile.objects.filter(uuid=stored.uuid).exists()


def test_an_upload_with_a_forged_type_is_refused_and_nothing_is_written(
        client_a, commune_a, parent_a, media_root):
    tmp_path = media_root
    login(client_a, commune_a, parent_a)
    forged = SimpleUploadedFile("facture.pdf", b"MZ\x90\x00 not a pdf")
    response = client_a.post("/documents/", {"file": forged})
    assert response.status_code == 200
    assert "Seuls les fichiers PDF, JPEG et PNG sont acceptés" in response.content.decode()
    with commune_a:
        assert not StoredFile.objects.exists()
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_a_parent_uploads_a_document_from_the_portal(client_a, commune_a, parent_a, media_root):
    login(client_a, commune_a, parent_a)
    response = client_a.post("/documents/", {"file": SimpleUploadedFile("qf.pdf", PDF)})
    assert response.status_code == 302
    with commune_a:
        stored = StoredFile.objects.get()
        assert stored.owner == parent_a and stored.size_bytes == len(PDF)
    assert HOST_A


def test_a_post_without_csrf_token_is_refused(db, parent_a):
    from django.test import Client

    strict = Client(HTTP_HOST=HOST_A, enforce_csrf_checks=True)
    response = strict.post("/connexion/", {"username": parent_a.email, "password": "x"})
    assert response.status_code == 403
