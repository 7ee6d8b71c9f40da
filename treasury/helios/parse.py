"""Parsers of the files Hélios sends back (NOTES §7–§8): the guichet's acknowledgement
``PES_ACQUIT`` (validated against the official ``PES_V2_Acquit_Autonome_V2.xsd``) and the
return file ``PES_Retour`` / ``PES_RecetteRetour`` (no schema in the set: read
defensively, by local names). A file that cannot be used raises ``HeliosFileError`` with a
French message."""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy
from lxml import etree

from treasury.helios.checks import ACK_XSD, schema_errors
from treasury.helios.text import cents_of

ERROR_NOT_XML = gettext_lazy("This file is not XML.")
ERROR_NOT_ACK = gettext_lazy("This file is not a Hélios acknowledgement (PES_ACQUIT).")
ERROR_ACK_SCHEMA = gettext_lazy("The acknowledgement does not follow the official schema: "
                                "%(errors)s")
ERROR_NOT_RETURN = gettext_lazy("This file is not a Hélios return file (PES_Retour with "
                                "PES_RecetteRetour).")
ERROR_RETURN_FIELD = gettext_lazy("The return file is incomplete or malformed: %(detail)s")


class HeliosFileError(ValueError):
    pass


def _local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element, name: str) -> list:
    return [child for child in element if _local(child) == name] if element is not None else []


def _child(element, name: str):
    found = _children(element, name)
    return found[0] if found else None


def _v(element, *path: str) -> str:
    """The ``V`` of the element at ``path`` under ``element`` ("" when absent)."""
    for name in path:
        element = _child(element, name)
        if element is None:
            return ""
    return (element.get("V") or "").strip()


def _parse(content: bytes):
    try:
        return etree.fromstring(content, etree.XMLParser(resolve_entities=False,
                                                         no_network=True, huge_tree=False))
    except (etree.XMLSyntaxError, ValueError):
        raise HeliosFileError(str(ERROR_NOT_XML)) from None


@dataclass(frozen=True)
class AckElement:
    domain: str
    ok: bool
    num_bord: str
    exer: str
    id_unique: str
    errors: list[str]


@dataclass(frozen=True)
class Ack:
    file_name: str
    id_coll: str
    cod_col: str
    cod_bud: str
    elements: list[AckElement]


def _errors(element) -> list[str]:
    messages = [" ".join(part for part in (_v(error, "NumAnoAck"), _v(error, "LibelleAnoAck"))
                         if part) for error in _children(element, "Erreur")]
    for piece in _children(element, "DetailPiece"):
        number = _v(piece, "NumPiece")
        messages += [f"pièce {number} : {message}" for message in _errors(piece)]
        for line in _children(piece, "DetailLigne"):
            messages += [f"pièce {number} ligne {_v(line, 'NumLigne')} : {message}"
                         for message in _errors(line)]
    return messages


def parse_ack(content: bytes, *, xsd_dir) -> Ack:
    root = _parse(content)
    if _local(root) != "PES_ACQUIT":
        raise HeliosFileError(str(ERROR_NOT_ACK))
    errors = schema_errors(content, xsd_dir=xsd_dir, schema=ACK_XSD)
    if errors:
        raise HeliosFileError(str(ERROR_ACK_SCHEMA) % {"errors": " ; ".join(errors[:3])})
    header = _child(root, "EnTetePES")
    elements = [AckElement(domain=_v(element, "DomaineAck"), ok=_v(element, "EtatAck") == "1",
                           num_bord=_v(element, "NumBord"), exer=_v(element, "ExerciceBord"),
                           id_unique=_v(element, "IdUnique"), errors=_errors(element))
                for element in _children(_child(root, "ACQUIT"), "ElementACQUIT")]
    return Ack(file_name=_v(root, "Enveloppe", "Parametres", "NomFic"),
               id_coll=_v(header, "IdColl"), cod_col=_v(header, "CodCol"),
               cod_bud=_v(header, "CodBud"), elements=elements)


@dataclass(frozen=True)
class ReturnLine:
    exer: int
    id_bord: int
    typ_bord: str
    id_pce: int
    id_ligne: int
    piece_state: str
    line_state: str
    amount_cents: int
    collected_cents: int
    num_dette: str
    payments: list[tuple[str, str, int]] = field(default_factory=list)  # OrgEma, date, cents


@dataclass(frozen=True)
class RecetteReturn:
    file_name: str
    cod_col: str
    cod_bud: str
    lines: list[ReturnLine]


def _int(value: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise HeliosFileError(str(ERROR_RETURN_FIELD) % {"detail": what}) from None


def _cents(value: str, what: str) -> int:
    try:
        return cents_of(value) if value else 0
    except ValueError:
        raise HeliosFileError(str(ERROR_RETURN_FIELD) % {"detail": what}) from None


def _return_line(bloc, piece, ligne) -> ReturnLine:
    bloc_piece = _child(piece, "BlocPiece")
    bloc_ligne = _child(ligne, "BlocLignePiece")
    info = _child(bloc_ligne, "InfoLignePiece")
    id_pce = _v(bloc_piece, "IdPce")
    payments = [(_v(row, "OrgEma"), _v(row, "DteReco"), _cents(_v(row, "MtReco"), "MtReco"))
                for row in _children(ligne, "EncaissementEmargement")]
    return ReturnLine(
        exer=_int(_v(bloc, "Exer"), "Exer"), id_bord=_int(_v(bloc, "IdBord"), "IdBord"),
        typ_bord=_v(bloc, "TypBord"), id_pce=_int(id_pce, "IdPce"),
        id_ligne=_int(_v(info, "IdLigne"), f"IdLigne (pièce {id_pce})"),
        piece_state=_v(bloc_piece, "EtatPce"), line_state=_v(info, "EtatLigPce"),
        amount_cents=_cents(_v(info, "MtHT"), "MtHT"),
        collected_cents=_cents(_v(bloc_ligne, "InfoRecouvrement", "MtRecoTot"), "MtRecoTot"),
        num_dette=_v(bloc_piece, "InfoORMC", "NumDette"), payments=payments)


def parse_return(content: bytes) -> RecetteReturn:
    root = _parse(content)
    recette = _child(root, "PES_RecetteRetour")
    if _local(root) != "PES_Retour" or recette is None:
        raise HeliosFileError(str(ERROR_NOT_RETURN))
    header = _child(root, "EnTetePES")
    lines = []
    for bordereau in _children(recette, "Bordereau"):
        bloc = _child(bordereau, "BlocBordereau")
        if bloc is None:  # BordereauORMCGlobal: an event on the whole rôle, kept as is
            continue
        for piece in _children(bordereau, "Piece"):
            for ligne in _children(piece, "LigneDePiece"):
                lines.append(_return_line(bloc, piece, ligne))
    return RecetteReturn(file_name=_v(root, "Enveloppe", "Parametres", "NomFic"),
                         cod_col=_v(header, "CodColl") or _v(header, "CodCol"),
                         cod_bud=_v(header, "CodBud"), lines=lines)
