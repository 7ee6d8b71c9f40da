"""Validation of the PES_Aller files we build: the DGFiP's official XSD (read from a
folder given by the caller, never copied into the project) and the business rules the
XSD cannot check (NOTES §9). Each function returns a list of French messages (empty:
valid); the message constants are reused by the tests."""

import base64
import binascii
import gzip
import re
import zlib
from collections import Counter
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from django.utils.translation import gettext_lazy
from lxml import etree

from treasury.helios.keys import check_keys

ALLER_XSD = "PES_V2/Rev0/PES_Aller.xsd"
ACK_XSD = "PES_V2/Rev0/PES_V2_Acquit_Autonome_V2.xsd"
# Annex 2 of DosTech: allowed (TypBord, TypPce, NatPce) triplets (NOTES §6).
TRIPLETS = {("01", "01", n) for n in ("01", "02", "03", "04", "05", "11", "18")} | {
    ("01", "02", n) for n in ("07", "08", "09")} | {("02", "02", "06"), ("02", "02", "10")} | {
    ("01", "03", n) for n in ("01", "02", "03", "04", "18")} | {
    ("01", "04", n) for n in ("01", "02", "03", "04")} | {("02", "04", "06")} | {
    ("01", "05", n) for n in ("01", "02", "03", "04", "05")} | {
    ("01", "06", "01"), ("02", "06", "06"), ("01", "07", "01"), ("01", "09", "01"),
    ("01", "10", "01"), ("01", "10", "02"), ("01", "11", "01"), ("01", "11", "02"),
    ("01", "11", "04"), ("03", "12", "01"), ("03", "12", "02"), ("03", "12", "11"),
    ("01", "14", "01"), ("02", "14", "06"), ("06", "15", "01")}
AMOUNT_RE = re.compile(r"^\d{1,12}\.\d{2}$")

ERROR_XSD_MISSING = gettext_lazy(
    "The PES V2 schemas are not installed (setting HELIOS_XSD_DIR: %(path)s).")
ERROR_NOT_XML = gettext_lazy("The file is not readable XML: %(error)s")
ERROR_XSD = gettext_lazy("Not valid against the official PES V2 schema, line %(line)s: "
                         "%(message)s")
ERROR_ENCODING = gettext_lazy("The file must be encoded in ISO-8859-1.")
ERROR_NBRPCE = gettext_lazy(
    "Bordereau %(bord)s: NbrPce says %(said)s pieces but the file holds %(count)s.")
ERROR_TOTAL = gettext_lazy(
    "Bordereau %(bord)s: MtBordHt is %(said)s but its lines add up to %(sum)s.")
ERROR_AMOUNT = gettext_lazy(
    "Amount %(value)s: two decimals with a dot and more than zero are required.")
ERROR_IDPCE_DUPLICATE = gettext_lazy("Piece number %(id)s appears more than once.")
ERROR_IDLIGNE_DUPLICATE = gettext_lazy(
    "Piece %(piece)s: line number %(id)s appears more than once.")
ERROR_TRIPLET = gettext_lazy(
    "Piece %(piece)s: TypBord %(bord)s / TypPce %(pce)s / NatPce %(nat)s is not allowed.")
ERROR_KEYS_MISSING = gettext_lazy(
    "Piece %(piece)s: an ORMC title needs NumDette, Per, Cle1 and Cle2.")
ERROR_KEYS = gettext_lazy(
    "Piece %(piece)s: the check keys %(sent)s do not match NumDette and Per (expected "
    "%(expected)s).")
ERROR_EDITION_PJ = gettext_lazy(
    "Piece %(piece)s: Edition 06 needs a reference to an attachment of type 010.")
ERROR_PJREF_UNKNOWN = gettext_lazy(
    "Piece %(piece)s refers to attachment %(id)s, which is not in the file.")
ERROR_PJ_CONTENT = gettext_lazy(
    "Attachment %(id)s cannot be decoded (base64 then gzip) into a %(type)s file.")
ERROR_PJ_DUPLICATE = gettext_lazy("Attachment identifier %(id)s is used more than once.")
ERROR_PJ_REUSED = gettext_lazy("Attachment identifier %(id)s was already sent before.")


@lru_cache(maxsize=8)
def _schema(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(path))


def schema_errors(content: bytes, *, xsd_dir, schema: str = ALLER_XSD) -> list[str]:
    """Errors of ``content`` against the official schema found under ``xsd_dir``."""
    path = Path(xsd_dir or "") / schema
    if not xsd_dir or not path.is_file():
        return [str(ERROR_XSD_MISSING) % {"path": xsd_dir or "-"}]
    try:
        document = etree.fromstring(content, etree.XMLParser(resolve_entities=False,
                                                             no_network=True))
    except etree.XMLSyntaxError as error:
        return [str(ERROR_NOT_XML) % {"error": error}]
    validator = _schema(str(path))
    if validator.validate(document):
        return []
    return [str(ERROR_XSD) % {"line": entry.line, "message": entry.message}
            for entry in list(validator.error_log)[:20]]


def _v(element, path: str) -> str | None:
    found = element.find(path)
    return None if found is None else found.get("V")


def _cents(value: str | None, errors: list) -> int:
    if value is None or not AMOUNT_RE.match(value) or Decimal(value) <= 0:
        errors.append(str(ERROR_AMOUNT) % {"value": value})
        try:
            return int(Decimal(value or "0") * 100)
        except InvalidOperation:
            return 0
    return int(Decimal(value) * 100)


def _unpack_ok(text: str | None, mime_type: str | None) -> bool:
    try:
        data = gzip.decompress(base64.b64decode((text or "").strip(), validate=True))
    except (binascii.Error, OSError, EOFError, zlib.error, ValueError):
        return False
    if not data:
        return False
    return not (mime_type == "application/pdf" and not data.startswith(b"%PDF"))


def _piece_errors(piece, typ_bord, cod_col, exer, nature_code, attachment_ids,
                  errors) -> int:
    """Check one Piece; return the sum of its lines in cents."""
    id_pce = _v(piece, "BlocPiece/IdPce")
    typ_pce, nat_pce = _v(piece, "BlocPiece/TypPce"), _v(piece, "BlocPiece/NatPce")
    if (typ_bord, typ_pce, nat_pce) not in TRIPLETS:
        errors.append(str(ERROR_TRIPLET) % {"piece": id_pce, "bord": typ_bord, "pce": typ_pce,
                                          "nat": nat_pce})
    if typ_pce == "15":
        keys = [_v(piece, f"BlocPiece/{tag}") for tag in ("NumDette", "Per", "Cle1", "Cle2")]
        if None in keys:
            errors.append(str(ERROR_KEYS_MISSING) % {"piece": id_pce})
        else:
            num_dette, per, cle1, cle2 = keys
            try:
                expected = check_keys(cod_col=cod_col or "", nature_code=nature_code,
                                      exer=exer or "", per=per, num_dette=num_dette)
            except ValueError:
                expected = None
            if expected != (cle1, cle2):
                errors.append(str(ERROR_KEYS) % {
                    "piece": id_pce, "sent": f"{cle1}/{cle2}",
                    "expected": "/".join(expected) if expected else "?"})
    refs = piece.findall("BlocPiece/PJRef") + piece.findall(
        "LigneDePiece/BlocLignePiece/InfoLignePiece/PJRef")
    if _v(piece, "BlocPiece/Edition") == "06" and not any(
            _v(ref, "TypePJ") == "010" for ref in refs):
        errors.append(str(ERROR_EDITION_PJ) % {"piece": id_pce})
    for ref in refs:
        if _v(ref, "Support") == "01" and _v(ref, "IdUnique") not in attachment_ids:
            errors.append(str(ERROR_PJREF_UNKNOWN) % {"piece": id_pce,
                                                    "id": _v(ref, "IdUnique")})
    total, lines = 0, []
    for info in piece.findall("LigneDePiece/BlocLignePiece/InfoLignePiece"):
        lines.append(_v(info, "IdLigne"))
        total += _cents(_v(info, "MtHT"), errors)
    for id_ligne in sorted({line for line in lines if lines.count(line) > 1}, key=str):
        errors.append(str(ERROR_IDLIGNE_DUPLICATE) % {"piece": id_pce, "id": id_ligne})
    return total


def business_errors(content: bytes, *, nature_code: str,
                    known_attachment_ids=frozenset()) -> list[str]:
    """The NOTES §9 rules on a PES_Aller file (schema-valid or not)."""
    errors: list[str] = []
    if not content.lstrip().startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>') \
            and not content.lstrip().startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>"):
        errors.append(str(ERROR_ENCODING))
    try:
        content.decode("iso-8859-1")
        root = etree.fromstring(content, etree.XMLParser(resolve_entities=False,
                                                         no_network=True))
    except (UnicodeDecodeError, etree.XMLSyntaxError) as error:
        return errors + [str(ERROR_NOT_XML) % {"error": error}]
    cod_col = _v(root, "EnTetePES/CodCol")
    attachment_ids: list[str] = []
    for pj in root.findall("PES_PJ/PJ"):
        id_unique = _v(pj, "IdUnique")
        fichier = pj.find("Contenu/Fichier")
        mime_type = fichier.get("MIMEType") if fichier is not None else None
        if fichier is None or not _unpack_ok(fichier.text, mime_type):
            errors.append(str(ERROR_PJ_CONTENT) % {"id": id_unique, "type": mime_type})
        if id_unique in attachment_ids:
            errors.append(str(ERROR_PJ_DUPLICATE) % {"id": id_unique})
        if id_unique in known_attachment_ids:
            errors.append(str(ERROR_PJ_REUSED) % {"id": id_unique})
        attachment_ids.append(id_unique)
    for bordereau in root.findall("PES_RecetteAller/Bordereau"):
        bloc = bordereau.find("BlocBordereau")
        id_bord, exer = _v(bloc, "IdBord"), _v(bloc, "Exer")
        typ_bord = _v(bloc, "TypBord")
        pieces = bordereau.findall("Piece")
        if _v(bloc, "NbrPce") != str(len(pieces)):
            errors.append(str(ERROR_NBRPCE) % {"bord": id_bord, "said": _v(bloc, "NbrPce"),
                                             "count": len(pieces)})
        said = _cents(_v(bloc, "MtBordHt"), errors)
        total, seen = 0, []
        for piece in pieces:
            total += _piece_errors(piece, typ_bord, cod_col, exer, nature_code,
                                   attachment_ids, errors)
            seen.append(_v(piece, "BlocPiece/IdPce"))
        for id_pce in sorted((each for each, n in Counter(seen).items() if n > 1), key=str):
            errors.append(str(ERROR_IDPCE_DUPLICATE) % {"id": id_pce})
        if said != total:
            errors.append(str(ERROR_TOTAL) % {"bord": id_bord, "said": _v(bloc, "MtBordHt"),
                                            "sum": f"{total // 100}.{total % 100:02d}"})
    return errors


def file_errors(content: bytes, *, xsd_dir, nature_code: str,
                known_attachment_ids=frozenset()) -> list[str]:
    """Everything wrong with a PES_Aller file: schema first, then business rules."""
    return schema_errors(content, xsd_dir=xsd_dir) + business_errors(
        content, nature_code=nature_code, known_attachment_ids=known_attachment_ids)
