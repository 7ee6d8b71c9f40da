"""Shared builders of the Hélios tests: the commune's settings, overdue invoices, and
acknowledgement / return files made from the shared samples (fixtures are exposed to
the tests by ``tests/treasury/conftest.py``)."""

import os
import re
from datetime import date
from pathlib import Path

import pytest
import time_machine

from portal.models import Service
from tests.treasury.factories import SYSTEM, book, make_household, make_priced_unit, weekdays
from treasury.models import HeliosSettings, Invoice
from treasury.services.runs import invoicing_run_compute, invoicing_run_issue, invoicing_run_start

BASE_DIR = Path(__file__).resolve().parents[2]


def _shared_helios() -> Path | None:
    """The DGFiP's PES V2 schema set and samples, kept outside the project (never
    committed): ``$PARVIS_HELIOS_DIR``, else ``../shared/helios`` next to the checkout."""
    for candidate in (os.environ.get("PARVIS_HELIOS_DIR"), BASE_DIR.parent / "shared/helios",
                      "/work/shared/helios"):
        if candidate and (Path(candidate) / "xsd/PES_V2/Rev0/PES_Aller.xsd").is_file():
            return Path(candidate)
    return None


HELIOS_DIR = _shared_helios()
XSD_DIR = str(HELIOS_DIR / "xsd") if HELIOS_DIR else "/nonexistent/pes-v2-xsd"
SAMPLES = HELIOS_DIR / "samples" if HELIOS_DIR else Path("/nonexistent/pes-v2-samples")
needs_xsd = pytest.mark.skipif(
    HELIOS_DIR is None, reason="the DGFiP PES V2 schema set is not on this machine: set "
    "PARVIS_HELIOS_DIR to the folder holding xsd/ and samples/ (../shared/helios)")
SIRET = "21380474100014"
# Invoices of February 2026 are issued on 3 March, due 2 April: overdue on 20 April.
TODAY = "2026-04-20 10:00 +02:00"


@pytest.fixture
def helios_xsd(settings, tmp_path):
    settings.HELIOS_XSD_DIR = XSD_DIR
    settings.HELIOS_DROP_DIR = str(tmp_path / "drop")


def configure_helios(**overrides) -> HeliosSettings:
    row = HeliosSettings.get()
    values = {"id_post": "038001", "id_coll": SIRET, "cod_col": "021", "cod_bud": "00",
              "budget_label": "Régie périscolaire", "regie_id": "REG38",
              "product_codes": {str(pk): "CANT" for pk in Service.objects.values_list(
                  "pk", flat=True)}, **overrides}
    for name, value in values.items():
        setattr(row, name, value)
    row.save()
    return row


def issue_month(period):
    run = invoicing_run_start(period=period, actor=SYSTEM)
    invoicing_run_compute(run_id=run.pk)
    return invoicing_run_issue(run_id=run.pk, actor=SYSTEM)


def make_overdue(families=(("Martin", "3 rue des Écoles"), ("Lefèvre", "8 allée des Œillets"))):
    """February 2026 invoices of each family (3 canteen days), overdue on ``TODAY``."""
    unit = make_priced_unit()
    for name, address in families:
        _family, (child,) = make_household(name, address=address,
                                           children=(f"Enfant{name[:3]}",))
        book(child, unit, weekdays(date(2026, 2, 2), 3))
    with time_machine.travel("2026-03-03 10:00 +01:00", tick=False):
        issue_month(date(2026, 2, 1))
    configure_helios()
    return list(Invoice.objects.filter(kind="invoice").order_by("sequence"))


@pytest.fixture
def overdue(commune_a, helios_xsd):
    """In commune A on ``TODAY``: two overdue invoices and complete Hélios settings."""
    with commune_a, time_machine.travel(TODAY, tick=False):
        yield make_overdue()


def ack_file(*, exer: int, number: int, ok: bool = True, cod_col="021", cod_bud="00",
             errors: str = "") -> bytes:
    """The shared sample acknowledgement, naming our budget and bordereau."""
    text = (SAMPLES / "sample_ack.xml").read_bytes().decode("iso-8859-1")
    text = text.replace('<CodCol V="123"/>', f'<CodCol V="{cod_col}"/>')
    text = text.replace('<CodBud V="01"/>', f'<CodBud V="{cod_bud}"/>')
    text = text.replace('<IdColl V="21690123400017"/>', f'<IdColl V="{SIRET}"/>')
    text = re.sub(r'<ElementACQUIT><DomaineAck V="4"/>.*?</ElementACQUIT>', "", text,
                  flags=re.S)
    state = "1" if ok else "0"
    text = text.replace('<EtatAck V="1"/><NumBord V="12"/><ExerciceBord V="2024"/>',
                        f'<EtatAck V="{state}"/><NumBord V="{number}"/>'
                        f'<ExerciceBord V="{exer}"/>{errors}')
    return text.encode("iso-8859-1")


def return_file(*, exer: int, number: int, lines, cod_col="021", cod_bud="00",
                name="PES2R_RCE__RO_021_00_038001.xml") -> bytes:
    """A PES_Retour with ``lines`` = [(IdPce, IdLigne, MtHT, MtRecoTot, EtatLigPce,
    NumDette)]."""
    pieces = {}
    for id_pce, id_ligne, amount, collected, state, num_dette in lines:
        pieces.setdefault((id_pce, num_dette), []).append(
            f'<LigneDePiece><BlocLignePiece><InfoLignePiece><IdLigne V="{id_ligne}"/>'
            f'<EtatLigPce V="{state}"/><MtHT V="{amount}"/></InfoLignePiece>'
            f'<InfoRecouvrement><NbrReco V="1"/><MtRecoTot V="{collected}"/>'
            f'</InfoRecouvrement></BlocLignePiece>'
            f'<EncaissementEmargement><OrgEma V="10"/><DteReco V="{exer}-05-02"/>'
            f'<MtReco V="{collected}"/></EncaissementEmargement></LigneDePiece>')
    body = "".join(
        f'<Piece><BlocPiece><IdPce V="{id_pce}"/><TypPce V="15"/><NatPce V="01"/>'
        f'<EtatPce V="02"/><InfoORMC><NumDette V="{num_dette}"/><Per V="0"/></InfoORMC>'
        f'</BlocPiece>{"".join(rows)}</Piece>' for (id_pce, num_dette), rows in pieces.items())
    return (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        '<n:PES_Retour xmlns:n="http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/retour">'
        f'<Enveloppe><Parametres><Version V="1"/><TypFic V="PESRETOUR"/><NomFic V="{name}"/>'
        '</Parametres></Enveloppe>'
        f'<EnTetePES><DteStr V="{exer}-05-03"/><IdPost V="038001"/><IdColl V="{SIRET}"/>'
        f'<CodColl V="{cod_col}"/><CodBud V="{cod_bud}"/></EnTetePES>'
        '<PES_RecetteRetour><EnTeteRecette><TypRestit V="02"/><IdVer V="2"/><NatInf V="2"/>'
        f'</EnTeteRecette><Bordereau><BlocBordereau><Exer V="{exer}"/><IdBord V="{number}"/>'
        f'<TypBord V="06"/></BlocBordereau>{body}</Bordereau></PES_RecetteRetour>'
        '</n:PES_Retour>').encode("iso-8859-1")


def collected_lines(pieces, collected: dict) -> list[tuple]:
    """``return_file`` lines reporting ``collected`` = {invoice id: cents collected by the
    treasury} on the ``HeliosPiece`` rows, line by line in order (``05`` once a line is
    fully collected, ``04`` before)."""
    lines = []
    for piece in pieces:
        left = collected.get(piece.invoice_id, 0)
        for row in piece.lines if left else ():
            cents = min(left, row["cents"])
            left -= cents
            lines.append((piece.id_pce, row["id_ligne"], f"{row['cents'] / 100:.2f}",
                          f"{cents / 100:.2f}", "05" if cents == row["cents"] else "04",
                          piece.num_dette))
    return lines
