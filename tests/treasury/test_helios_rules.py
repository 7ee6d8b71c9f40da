"""The NOTES §9 rules the XSD cannot check: a correct file passes both checks, and each
rule broken on purpose is reported (pure: no database)."""

import base64
import gzip
from datetime import date

import pytest
from lxml import etree

from tests.treasury.helios_helpers import SAMPLES, XSD_DIR, needs_xsd
from treasury.helios import build
from treasury.helios.checks import (
    ACK_XSD,
    ERROR_AMOUNT,
    ERROR_EDITION_PJ,
    ERROR_ENCODING,
    ERROR_IDLIGNE_DUPLICATE,
    ERROR_IDPCE_DUPLICATE,
    ERROR_KEYS,
    ERROR_NBRPCE,
    ERROR_PJ_CONTENT,
    ERROR_PJ_REUSED,
    ERROR_PJREF_UNKNOWN,
    ERROR_TOTAL,
    ERROR_TRIPLET,
    business_errors,
    file_errors,
    schema_errors,
)
from treasury.helios.keys import check_keys

pytestmark = needs_xsd

BUDGET = build.Budget(id_post="038001", id_coll="21380474100014", cod_col="021",
                      cod_bud="00", label="Régie")
DEBTOR = build.Debtor(reference="F-1", civility="MME", last_name="Lefèvre",
                      first_name="Zoé", street="8 allée des Œillets", complement="",
                      postcode="38360", city="Sassenage")


def piece(id_pce, num_dette, *, pdf=True):
    cle1, cle2 = check_keys(cod_col="021", nature_code="01", exer=2026, per="0",
                            num_dette=num_dette)
    return build.Piece(
        id_pce=id_pce, label=f"Facture {num_dette}", debtor=DEBTOR, num_dette=num_dette,
        per="0", cle1=cle1, cle2=cle2,
        lines=[build.Line(id_ligne=1, product_code="CANT", nature="7067",
                          label="Cantine", cents=960),
               build.Line(id_ligne=2, product_code="GARD", nature="7067",
                          label="Garderie", cents=1205)],
        attachment=build.Attachment(id_unique=f"PVS1B1N{num_dette}",
                                    name=f"FACTURE_{num_dette}.pdf",
                                    content=b"%PDF-1.4 test", description="Facture")
        if pdf else None)


def good_file(pdf=True) -> bytes:
    return build.build_file(budget=BUDGET, created_on=date(2026, 4, 20),
                            bordereau=build.Bordereau(
                                kind=build.ORMC, exer=2026, id_bord=3,
                                issued_on=date(2026, 4, 20), objet="Impayés",
                                pieces=[piece(1, "2026000001", pdf=pdf),
                                        piece(2, "2026000002", pdf=pdf)]))


def tampered(change) -> bytes:
    root = etree.fromstring(good_file())
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="ISO-8859-1")


def set_v(path, value):
    return lambda root: root.find(path).set("V", value)


@pytest.mark.parametrize("pdf", [True, False])
def test_a_built_file_passes_the_official_schema_and_the_rules(pdf):
    content = good_file(pdf)
    assert file_errors(content, xsd_dir=XSD_DIR, nature_code="01") == []


def test_the_shared_samples_pass_the_schema():
    for name in ("sample_ormc.xml", "sample_ormc_pj.xml"):
        assert schema_errors((SAMPLES / name).read_bytes(), xsd_dir=XSD_DIR) == []
    assert schema_errors((SAMPLES / "sample_ack.xml").read_bytes(), xsd_dir=XSD_DIR,
                         schema=ACK_XSD) == []


def drop(path):
    def change(root):
        element = root.find(path)
        element.getparent().remove(element)
    return change


def duplicate_line(root):
    root.find(".//Piece[1]/LigneDePiece[2]//IdLigne").set("V", "1")


def bad_pj(root):
    root.find("PES_PJ/PJ/Contenu/Fichier").text = base64.b64encode(b"not gzip").decode()


def not_pdf(root):
    root.find("PES_PJ/PJ/Contenu/Fichier").text = base64.b64encode(
        gzip.compress(b"hello")).decode()


B = "PES_RecetteAller/Bordereau"
RULES = {
    "NbrPce": (set_v(f"{B}/BlocBordereau/NbrPce", "3"), ERROR_NBRPCE),
    "MtBordHt": (set_v(f"{B}/BlocBordereau/MtBordHt", "43.31"), ERROR_TOTAL),
    "amount_decimals": (set_v(f"{B}/Piece[1]/LigneDePiece[1]//MtHT", "9.6"), ERROR_AMOUNT),
    "IdPce": (set_v(f"{B}/Piece[2]/BlocPiece/IdPce", "1"), ERROR_IDPCE_DUPLICATE),
    "IdLigne": (duplicate_line, ERROR_IDLIGNE_DUPLICATE),
    "triplet": (set_v(f"{B}/Piece[1]/BlocPiece/NatPce", "05"), ERROR_TRIPLET),
    "Cle1": (set_v(f"{B}/Piece[1]/BlocPiece/Per", "1"), ERROR_KEYS),
    "Cle2": (set_v(f"{B}/Piece[1]/BlocPiece/Cle2", "Z"), ERROR_KEYS),
    "Edition_without_PJ": (drop(f"{B}/Piece[1]/BlocPiece/PJRef"), ERROR_EDITION_PJ),
    "PJRef_to_nothing": (drop("PES_PJ/PJ[1]"), ERROR_PJREF_UNKNOWN),
    "PJ_not_gzip": (bad_pj, ERROR_PJ_CONTENT),
    "PJ_not_pdf": (not_pdf, ERROR_PJ_CONTENT),
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_broken_rule_is_reported(rule):
    change, message = RULES[rule]
    errors = business_errors(tampered(change), nature_code="01")
    prefix = str(message).split("%")[0] if not str(message).startswith("%") else ""
    assert errors and any(prefix in error for error in errors), errors


def test_keys_depend_on_the_code_nature_setting():
    assert business_errors(good_file(), nature_code="01") == []
    assert business_errors(good_file(), nature_code="07")  # keys no longer consistent


def test_reused_attachment_ids_and_other_encodings_are_reported():
    errors = business_errors(good_file(), nature_code="01",
                             known_attachment_ids={"PVS1B1N2026000001"})
    assert errors == [str(ERROR_PJ_REUSED) % {"id": "PVS1B1N2026000001"}]
    utf8 = good_file().decode("iso-8859-1").replace("ISO-8859-1", "UTF-8").encode("utf-8")
    assert str(ERROR_ENCODING) in business_errors(utf8, nature_code="01")
