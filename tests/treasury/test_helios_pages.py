"""Hélios pages (finance only, per commune), the export command, the régie title and
the transmission to the drop folder."""

from datetime import date
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.roles import Role
from tests.conftest import login, make_user
from tests.treasury.factories import SYSTEM
from tests.treasury.helios_helpers import (
    XSD_DIR,
    ack_file,
    configure_helios,
    needs_xsd,
)
from treasury.helios.checks import schema_errors
from treasury.helios.transport import ERROR_NOT_CONFIGURED
from treasury.models import (
    BordereauStatus,
    HeliosBordereau,
    HeliosSettings,
    Invoice,
    TransmissionStatus,
)
from treasury.models.helios import ERROR_COD_COL, ERROR_ID_POST
from treasury.services.helios import helios_bordereau_build, helios_bordereau_release
from treasury.services.helios_regie import regie_title_build
from treasury.services.helios_send import helios_bordereau_send
from treasury.services.payments import credit_refund, payment_record

pytestmark = needs_xsd

HOME = "/agents/finances/helios/"
PAGES = [HOME, HOME + "parametres/", HOME + "regie/", HOME + "bordereaux/{id}/",
         HOME + "bordereaux/{id}/fichier/"]


@pytest.fixture
def world(overdue, commune_a, commune_b, client_a, client_b, parent_a):
    bordereau = helios_bordereau_build(invoices=overdue, with_pdf=False, actor=SYSTEM)
    finance = make_user(commune_a, "fin@alpha.test", role=Role.FINANCE)
    finance_b = make_user(commune_b, "fin@beta.test", role=Role.FINANCE)
    yield {"bordereau": bordereau, "finance": finance, "finance_b": finance_b,
           "invoices": overdue}
    connection.set_tenant(commune_a)


def test_pages_are_for_finance_agents_only(world, client_a, commune_a, parent_a, client_b,
                                           commune_b):
    pages = [page.format(id=world["bordereau"].pk) for page in PAGES]
    for page in pages:
        assert client_a.get(page).status_code == 302  # anonymous: to the login page
    login(client_a, commune_a, parent_a)
    for page in pages:
        assert client_a.get(page).status_code == 403
    login(client_a, commune_a, world["finance"])
    for page in pages:
        assert client_a.get(page).status_code == 200, page
    login(client_b, commune_b, world["finance_b"])  # another town's finance agent
    assert client_b.get(pages[0]).context["bordereaux"].count() == 0
    for page in pages[3:]:
        assert client_b.get(page).status_code == 404
    assert client_a.post(HOME + "bordereaux/creer/").status_code == 400
    assert client_a.get(HOME + "bordereaux/creer/").status_code == 405


def test_build_download_release_and_acknowledge_from_the_pages(world, client_a, commune_a):
    login(client_a, commune_a, world["finance"])
    bordereau = world["bordereau"]
    response = client_a.get(HOME + f"bordereaux/{bordereau.pk}/fichier/")
    assert response["Content-Type"] == "application/xml; charset=ISO-8859-1"
    assert schema_errors(response.content, xsd_dir=XSD_DIR) == []
    response = client_a.post(HOME + f"bordereaux/{bordereau.pk}/liberer/")
    assert response.status_code == 302
    with commune_a:
        assert Invoice.objects.filter(sent_to_treasury_at__isnull=False).count() == 2
    upload = ack_file(exer=2026, number=bordereau.id_bord)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client_a.post(HOME + "import/", {"fichier": SimpleUploadedFile(
        "ack.xml", upload, content_type="text/xml")})
    assert response.status_code == 302
    response = client_a.post(HOME + "import/", {"fichier": SimpleUploadedFile(
        "ack.xml", upload, content_type="text/xml")})
    assert response.status_code == 400  # replay
    with commune_a:
        assert HeliosBordereau.objects.get(pk=bordereau.pk).status == BordereauStatus.ACCEPTED


def test_an_invalid_bordereau_is_neither_downloaded_nor_released(world, client_a, commune_a):
    with commune_a:
        HeliosBordereau.objects.filter(pk=world["bordereau"].pk).update(
            status=BordereauStatus.INVALID)
    login(client_a, commune_a, world["finance"])
    pk = world["bordereau"].pk
    assert client_a.get(HOME + f"bordereaux/{pk}/fichier/").status_code == 302
    client_a.post(HOME + f"bordereaux/{pk}/liberer/")
    with commune_a:
        assert not Invoice.objects.filter(sent_to_treasury_at__isnull=False).exists()


def test_the_settings_page_validates_with_clear_messages(world, client_a, commune_a):
    login(client_a, commune_a, world["finance"])
    data = {"id_post": "12", "id_coll": "21380474100015", "cod_col": "21", "cod_bud": "0A",
            "regie_id": "R1", "nature_account": "7067", "key_nature_code": "01",
            "regie_product_code": "REGI", "default_civility": "MME"}
    response = client_a.post(HOME + "parametres/", data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["id_post"] == [str(ERROR_ID_POST)] and errors["cod_col"] == [
        str(ERROR_COD_COL)]
    assert "id_coll" in errors and "cod_bud" in errors
    data.update(id_post="02A1234", id_coll="21380474100014", cod_col="021", cod_bud="A1")
    assert client_a.post(HOME + "parametres/", data).status_code == 302
    with commune_a:
        assert (HeliosSettings.get().id_post, HeliosSettings.get().cod_bud) == ("02A1234", "A1")


def test_the_export_command_writes_a_valid_file(overdue, tmp_path):
    output = tmp_path / "ormc.xml"
    call_command("export_helios", "--commune", "alpha", "--output", str(output))
    assert schema_errors(output.read_bytes(), xsd_dir=XSD_DIR) == []
    HeliosBordereau.objects.update(status=BordereauStatus.DISCARDED)
    configure_helios(product_codes={})
    with pytest.raises(CommandError) as error:
        call_command("export_helios", "--commune", "alpha", "--output", str(tmp_path / "x"))
    assert "invalid bordereau" in str(error.value)
    assert not (tmp_path / "x").exists()


def test_the_regie_title_regularises_the_receipts_per_channel(overdue):
    martin, lefevre = overdue
    payment_record(family=martin.family, channel="cash", amount_cents=500,
                   received_on=date(2026, 3, 10), actor=SYSTEM)
    payment_record(family=lefevre.family, channel="cheque", amount_cents=2000,
                   cheque_number="1", bank="LBP", received_on=date(2026, 3, 12), actor=SYSTEM)
    credit_refund(family=lefevre.family, amount_cents=300, reason="trop perçu", actor=SYSTEM)
    payment_record(family=martin.family, channel="cash", amount_cents=700,
                   received_on=date(2026, 4, 2), actor=SYSTEM)  # April: not in March
    title = regie_title_build(month=date(2026, 3, 1), actor=SYSTEM)
    assert title.status == BordereauStatus.VALID, title.errors
    assert schema_errors(bytes(title.content), xsd_dir=XSD_DIR) == []
    assert {piece.channel: piece.amount_cents for piece in title.pieces.all()} == {
        "cash": 500, "cheque": 2000}  # the refund was decided in April
    assert b'<TypBord V="01"/>' in bytes(title.content)
    assert bytes(title.content).count(b'<IdRegie V="REG38"/>') == 2
    assert b"<NumDette" not in bytes(title.content)


def test_transmission_writes_the_drop_folder_per_commune(overdue, settings):
    bordereau = helios_bordereau_build(invoices=overdue, with_pdf=False, actor=SYSTEM)
    helios_bordereau_release(bordereau=bordereau, actor=SYSTEM)
    helios_bordereau_send(bordereau_id=bordereau.pk)
    bordereau.refresh_from_db()
    assert (bordereau.transmission, bordereau.attempts) == (TransmissionStatus.SENT, 1)
    written = Path(settings.HELIOS_DROP_DIR) / "alpha" / bordereau.file_name
    assert written.read_bytes() == bytes(bordereau.content)
    assert [p.name for p in written.parent.iterdir()] == [bordereau.file_name]
    assert helios_bordereau_send(bordereau_id=bordereau.pk) == TransmissionStatus.SENT


def test_without_a_drop_folder_the_transmission_fails_clearly(overdue, settings):
    from treasury.tasks import helios_bordereau_send_task

    settings.HELIOS_DROP_DIR = None
    bordereau = helios_bordereau_build(invoices=overdue, with_pdf=False, actor=SYSTEM)
    helios_bordereau_release(bordereau=bordereau, actor=SYSTEM)
    helios_bordereau_send_task.apply(args=[bordereau.pk])
    bordereau.refresh_from_db()
    assert bordereau.transmission == TransmissionStatus.FAILED
    assert bordereau.last_error == str(ERROR_NOT_CONFIGURED)


def test_the_demo_town_exports_its_overdue_invoices(commune_a, helios_xsd, tmp_path):
    import time_machine

    from core.journal import Actor
    from portal.demo import portal_demo_load
    from treasury.demo import treasury_demo_load

    actor = Actor.system("demo")
    with commune_a, time_machine.travel("2026-12-04 09:00 +01:00", tick=False):
        portal_demo_load(commune=commune_a, size="tiny", actor=actor)
        treasury_demo_load(commune=commune_a, size="tiny", actor=actor)
        output = tmp_path / "demo.xml"
        call_command("export_helios", "--commune", "alpha", "--output", str(output))
        assert schema_errors(output.read_bytes(), xsd_dir=XSD_DIR) == []
        assert HeliosBordereau.objects.get().piece_count > 0
