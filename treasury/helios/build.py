"""The PES_Aller files we send, built with lxml from plain values (NOTES §1–§6):

- the ORMC bordereau (``TypFic`` PESORMC, ``TypBord`` 06, pieces ``TypPce`` 15 /
  ``NatPce`` 01, one piece per unpaid invoice, one line per service), optionally with the
  invoices' PDFs in ``PES_PJ`` (``Edition`` 06, ``PJRef`` ``TypePJ`` 010);
- the régie regularisation title (``TypFic`` PESALR1, ``TypBord`` 01, ``TypPce`` 05,
  ``NatPce`` 05, ``LiensIdent/IdRegie`` on every line).

Values are already checked by the caller; texts go through ``latin1`` and the bytes are
ISO-8859-1 with an XML declaration saying so."""

import base64
import gzip
from dataclasses import dataclass, field
from datetime import date

from lxml import etree

from treasury.helios.text import amount, latin1

NS_ALLER = "http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller"
SENDER_SIGLE = "PARVIS"
SENDER_APPLICATION = "Parvis portail famille 1.0"
ORMC = "ormc"
REGIE = "regie"
# (TypFic, TypBord, TypPce, NatPce) of each kind of file.
KINDS = {ORMC: ("PESORMC", "06", "15", "01"), REGIE: ("PESALR1", "01", "05", "05")}
EDITION_ENSU = "06"
TYPEPJ_ENSU = "010"


@dataclass(frozen=True)
class Budget:
    """The commune's budget as Hélios knows it (EnTetePES)."""

    id_post: str
    id_coll: str
    cod_col: str
    cod_bud: str
    label: str = ""


@dataclass(frozen=True)
class Debtor:
    reference: str
    civility: str
    last_name: str
    first_name: str
    street: str  # number and street (Adr2)
    complement: str  # Adr3
    postcode: str
    city: str


@dataclass(frozen=True)
class Line:
    id_ligne: int
    product_code: str
    nature: str
    label: str
    cents: int
    regie_id: str = ""


@dataclass(frozen=True)
class Attachment:
    id_unique: str
    name: str
    content: bytes
    description: str
    mime_type: str = "application/pdf"


@dataclass(frozen=True)
class Piece:
    id_pce: int
    label: str
    lines: list[Line]
    debtor: Debtor | None = None
    num_dette: str = ""
    per: str = ""
    cle1: str = ""
    cle2: str = ""
    attachment: Attachment | None = None


@dataclass(frozen=True)
class Bordereau:
    kind: str
    exer: int
    id_bord: int
    issued_on: date
    objet: str
    pieces: list[Piece] = field(default_factory=list)

    @property
    def total_cents(self) -> int:
        return sum(line.cents for piece in self.pieces for line in piece.lines)


def file_name(*, kind: str, budget: Budget, exer: int, id_bord: int) -> str:
    return f"{KINDS[kind][0]}_{budget.id_coll}_{budget.cod_bud}_{exer}_{id_bord:07d}.xml"


def _value(parent, tag: str, value, max_length: int | None = None):
    element = etree.SubElement(parent, tag)
    element.set("V", latin1(str(value), max_length))
    return element


def _group(parent, tag: str, *values) -> etree._Element:
    """``tag`` holding (child tag, value[, max length]) triples; None values are left out."""
    element = etree.SubElement(parent, tag)
    for item in values:
        if item is not None and item[1] not in (None, ""):
            _value(element, *item)
    return element


def _pack(content: bytes) -> str:
    """A PJ's content: gzip-compressed, then base64-encoded (NOTES §5)."""
    return base64.b64encode(gzip.compress(content, mtime=0)).decode("ascii")


def _tiers(parent, debtor: Debtor) -> None:
    tiers = etree.SubElement(parent, "Tiers")
    _group(tiers, "InfoTiers", ("RefTiers", debtor.reference, 30), ("CatTiers", "01"),
           ("NatJur", "01"), ("TypTiers", "01"), ("Civilite", debtor.civility, 32),
           ("Nom", debtor.last_name, 38), ("Prenom", debtor.first_name, 38))
    _group(tiers, "Adresse", ("TypAdr", "1"), ("Adr2", debtor.street, 38),
           ("Adr3", debtor.complement, 38), ("CP", debtor.postcode), ("Ville", debtor.city, 38),
           ("CodRes", "0"))


def _pjref(parent, attachment: Attachment) -> None:
    _group(parent, "PJRef", ("Support", "01"), ("IdUnique", attachment.id_unique),
           ("NomPJ", attachment.name, 100), ("TypePJ", TYPEPJ_ENSU))


def _piece(parent, piece: Piece, kind: str) -> None:
    _fic, _bord, typ_pce, nat_pce = KINDS[kind]
    element = etree.SubElement(parent, "Piece")
    bloc = etree.SubElement(element, "BlocPiece")
    _value(bloc, "IdPce", piece.id_pce)
    _value(bloc, "TypPce", typ_pce)
    _value(bloc, "NatPce", nat_pce)
    if kind == ORMC:
        if piece.attachment:
            _value(bloc, "Edition", EDITION_ENSU)
        _value(bloc, "ImpayeRegie", "1")
    _value(bloc, "ObjPce", piece.label, 160)
    if kind == ORMC:
        _value(bloc, "NumDette", piece.num_dette)
        _value(bloc, "Per", piece.per)
        _value(bloc, "Cle1", piece.cle1)
        _value(bloc, "Cle2", piece.cle2)
        if piece.attachment:
            _pjref(bloc, piece.attachment)
    for line in piece.lines:
        ligne = etree.SubElement(element, "LigneDePiece")
        bloc_ligne = etree.SubElement(ligne, "BlocLignePiece")
        _group(bloc_ligne, "InfoLignePiece", ("IdLigne", line.id_ligne),
               ("ObjLignePce", line.label, 160), ("CodProdLoc", line.product_code),
               ("Nature", line.nature), ("Majo", "0"), ("TvaIntraCom", "0"),
               ("MtHT", amount(line.cents)))
        if line.regie_id:
            _group(bloc_ligne, "LiensIdent", ("IdRegie", line.regie_id, 10))
        if piece.debtor:  # the identical debtor on every line (NOTES §2, PROJECT)
            _tiers(ligne, piece.debtor)


def _attachments(root, pieces: list[Piece]) -> None:
    attachments = [piece.attachment for piece in pieces if piece.attachment]
    if not attachments:
        return
    block = etree.SubElement(root, "PES_PJ")
    _group(block, "EnTetePES_PJ", ("IdVer", "1"))
    for attachment in attachments:
        pj = etree.SubElement(block, "PJ")
        contenu = etree.SubElement(pj, "Contenu")
        fichier = etree.SubElement(contenu, "Fichier")
        fichier.set("MIMEType", attachment.mime_type)
        fichier.text = _pack(attachment.content)
        _value(pj, "IdUnique", attachment.id_unique)
        _value(pj, "NomPJ", attachment.name, 100)
        _value(pj, "TypePJ", TYPEPJ_ENSU)
        _value(pj, "Description", attachment.description, 250)


def build_file(*, budget: Budget, bordereau: Bordereau, created_on: date) -> bytes:
    """The PES_Aller file of one bordereau, as ISO-8859-1 bytes."""
    kind = bordereau.kind
    typ_fic, typ_bord, _typ_pce, _nat_pce = KINDS[kind]
    root = etree.Element(etree.QName(NS_ALLER, "PES_Aller"), nsmap={"n": NS_ALLER})
    envelope = etree.SubElement(root, "Enveloppe")
    _group(envelope, "Parametres", ("Version", "2"), ("TypFic", typ_fic),
           ("NomFic", file_name(kind=kind, budget=budget, exer=bordereau.exer,
                                id_bord=bordereau.id_bord), 100))
    _group(envelope, "Emetteur", ("Sigle", SENDER_SIGLE, 32),
           ("Adresse", SENDER_APPLICATION, 38))
    _group(root, "EnTetePES", ("DteStr", created_on.isoformat()), ("IdPost", budget.id_post),
           ("IdColl", budget.id_coll), ("CodCol", budget.cod_col), ("CodBud", budget.cod_bud),
           ("LibelleColBud", budget.label, 38))
    recette = etree.SubElement(root, "PES_RecetteAller")
    _group(recette, "EnTeteRecette", ("IdVer", "2"), ("InfoDematerialisee", "0"))
    element = etree.SubElement(recette, "Bordereau")
    _group(element, "BlocBordereau", ("Exer", bordereau.exer), ("IdBord", bordereau.id_bord),
           ("DteBordEm", bordereau.issued_on.isoformat()), ("TypBord", typ_bord),
           ("NbrPce", len(bordereau.pieces)), ("MtBordHt", amount(bordereau.total_cents)),
           ("Objet", bordereau.objet, 160))
    for piece in bordereau.pieces:
        _piece(element, piece, kind)
    _attachments(root, bordereau.pieces)
    return etree.tostring(root, xml_declaration=True, encoding="ISO-8859-1",
                          pretty_print=True)
