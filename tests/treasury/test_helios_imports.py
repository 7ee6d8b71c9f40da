"""Files received from Hélios: acknowledgements (OK, KO) and return files, each once,
and bad files refused without changing anything; the command line."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from core.models import ActionLog
from tests.treasury.factories import SYSTEM
from tests.treasury.helios_helpers import (
    SAMPLES,
    ack_file,
    needs_xsd,
    return_file,
)
from treasury.models import BordereauStatus, HeliosImport, HeliosPiece, Invoice
from treasury.selectors_helios import helios_invoices_proposed
from treasury.services.helios import helios_bordereau_build, helios_bordereau_release
from treasury.services.helios_imports import (
    ERROR_DEBT_MISMATCH,
    ERROR_OTHER_BUDGET,
    ERROR_REPLAY,
    ERROR_UNKNOWN_BORDEREAU,
    ERROR_UNKNOWN_KIND,
    ERROR_UNKNOWN_PIECE,
    helios_file_import,
)

pytestmark = needs_xsd


@pytest.fixture
def released(overdue):
    bordereau = helios_bordereau_build(invoices=overdue, with_pdf=False, actor=SYSTEM)
    return helios_bordereau_release(bordereau=bordereau, actor=SYSTEM), overdue


def refresh(obj):
    obj.refresh_from_db()
    return obj


def test_an_ok_acknowledgement_accepts_the_bordereau(released):
    bordereau, invoices = released
    record = helios_file_import(content=ack_file(exer=2026, number=bordereau.id_bord),
                                file_name="ack.xml", actor=SYSTEM)
    assert refresh(bordereau).status == BordereauStatus.ACCEPTED
    assert record.bordereau == bordereau and record.kind == "ack"
    assert all(refresh(invoice).sent_to_treasury_at for invoice in invoices)


def test_a_ko_acknowledgement_rejects_and_gives_the_invoices_back(released):
    bordereau, invoices = released
    error = ('<Erreur><NumAnoAck V="ERREUR_DOUBLON_BORDEREAU"/>'
             '<LibelleAnoAck V="Bordereau déjà reçu"/></Erreur>')
    helios_file_import(content=ack_file(exer=2026, number=bordereau.id_bord, ok=False,
                                        errors=error), file_name="ko.xml", actor=SYSTEM)
    bordereau = refresh(bordereau)
    assert bordereau.status == BordereauStatus.REJECTED
    assert "ERREUR_DOUBLON_BORDEREAU Bordereau déjà reçu" in bordereau.ack_errors
    assert not Invoice.objects.filter(sent_to_treasury_at__isnull=False).exists()
    assert ActionLog.objects.filter(action="treasury.invoice_back_from_treasury").count() == 2
    assert list(helios_invoices_proposed()) == invoices
    again = helios_bordereau_build(invoices=invoices, with_pdf=False, actor=SYSTEM)
    assert (again.status, again.id_bord) == (BordereauStatus.VALID, bordereau.id_bord)


def test_a_return_file_sets_the_collected_amounts_cumulatively(released):
    bordereau, invoices = released
    first, second = HeliosPiece.objects.filter(bordereau=bordereau).order_by("id_pce")
    half = first.amount_cents // 2
    lines = [(1, 1, f"{first.amount_cents / 100:.2f}", f"{half / 100:.2f}", "04",
              first.num_dette)]
    helios_file_import(content=return_file(exer=2026, number=bordereau.id_bord, lines=lines),
                       file_name="r1.xml", actor=SYSTEM)
    assert refresh(first).collected_cents == half and first.treasury_paid_at is None
    full = f"{first.amount_cents / 100:.2f}"
    lines = [(1, 1, full, full, "05", first.num_dette)]  # MtRecoTot is the new total
    helios_file_import(content=return_file(exer=2026, number=bordereau.id_bord, lines=lines,
                                           name="r2.xml"), file_name="r2.xml", actor=SYSTEM)
    first = refresh(first)
    assert first.collected_cents == first.amount_cents and first.treasury_paid_at
    assert first.lines[0]["state"] == "05" and first.lines[0]["payments"][0][0] == "10"
    assert refresh(second).collected_cents == 0
    assert ActionLog.objects.filter(action="treasury.invoice_treasury_collected",
                                    target_id=str(first.invoice_id)).count() == 2


@pytest.mark.parametrize("case", ["not_xml", "other_root", "bad_ack_schema", "other_budget",
                                  "unknown_bordereau", "unknown_piece", "wrong_debt",
                                  "replay"])
def test_bad_files_are_refused_and_change_nothing(released, case):
    bordereau, invoices = released
    piece = HeliosPiece.objects.filter(bordereau=bordereau).order_by("id_pce").first()
    amount = f"{piece.amount_cents / 100:.2f}"
    good_return = return_file(exer=2026, number=bordereau.id_bord,
                              lines=[(1, 1, amount, amount, "05", piece.num_dette)])
    content, expected = {
        "not_xml": (b"%PDF-1.4 not xml", str(ERROR_UNKNOWN_KIND)),
        "other_root": ((SAMPLES / "sample_ormc.xml").read_bytes(), str(ERROR_UNKNOWN_KIND)),
        "bad_ack_schema": (ack_file(exer=2026, number=bordereau.id_bord).replace(
            b'<DomaineAck V="7"/>', b""), None),
        "other_budget": (ack_file(exer=2026, number=bordereau.id_bord, cod_col="999"),
                         str(ERROR_OTHER_BUDGET) % {"col": "999", "bud": "00",
                                                    "our_col": "021", "our_bud": "00"}),
        "unknown_bordereau": (ack_file(exer=2026, number=99), str(
            ERROR_UNKNOWN_BORDEREAU) % {"exer": "2026", "number": "99"}),
        "unknown_piece": (return_file(exer=2026, number=bordereau.id_bord, lines=[
            (7, 1, amount, amount, "05", "")]), str(ERROR_UNKNOWN_PIECE) % {
            "exer": 2026, "number": bordereau.id_bord, "piece": 7, "line": 1}),
        "wrong_debt": (return_file(exer=2026, number=bordereau.id_bord, lines=[
            (1, 1, amount, amount, "05", "2026999999")]), str(ERROR_DEBT_MISMATCH) % {
            "exer": 2026, "number": bordereau.id_bord, "piece": 1, "got": "2026999999",
            "expected": piece.num_dette}),
        "replay": (good_return, None),
    }[case]
    if case == "replay":
        helios_file_import(content=good_return, file_name="r.xml", actor=SYSTEM)
    before = (HeliosImport.objects.count(), ActionLog.objects.count(),
              list(HeliosPiece.objects.values_list("collected_cents", "treasury_paid_at")),
              refresh(bordereau).status)
    with pytest.raises(ValidationError) as error:
        helios_file_import(content=content, file_name="bad.xml", actor=SYSTEM)
    if expected:
        assert error.value.messages == [expected]
    if case == "replay":
        assert error.value.messages[0].startswith(str(ERROR_REPLAY).split("%")[0])
    assert before == (HeliosImport.objects.count(), ActionLog.objects.count(),
                      list(HeliosPiece.objects.values_list("collected_cents",
                                                           "treasury_paid_at")),
                      refresh(bordereau).status)


def test_the_import_command(released, tmp_path):
    bordereau, _invoices = released
    path = tmp_path / "ack.xml"
    path.write_bytes(ack_file(exer=2026, number=bordereau.id_bord))
    call_command("import_helios", "--commune", "alpha", str(path))
    assert refresh(bordereau).status == BordereauStatus.ACCEPTED
    with pytest.raises(CommandError):
        call_command("import_helios", "--commune", "alpha", str(path))  # replay
