"""Importing what Hélios sends back, in one transaction per file (a refused file changes
nothing), each file once (its SHA-256 is kept):

- the acknowledgement ``PES_ACQUIT``: matched on (CodCol, CodBud) + ExerciceBord + NumBord
  to a released bordereau (DomaineAck 7 names an ORMC rôle; 6, a recette bordereau: the
  régie title of that number if there is one, else the ORMC one). OK → accepted; KO →
  rejected with the reasons, its invoices back to unpaid (``sent_to_treasury_at``
  cleared, journalled) to be corrected and sent again (the number is given again).
  A KO on an attachment (DomaineAck 4, IdUnique) is added to its bordereau's errors.
- the return file ``PES_Retour``/``PES_RecetteRetour``: per (Exer, IdBord, TypBord 06,
  IdPce, IdLigne) the amount collected by the treasury (MtRecoTot, cumulative: replaced,
  never added); an invoice is paid at the treasury once its piece is fully collected or
  every line is settled (EtatLigPce 05)."""

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from lxml import etree

from core.journal import Actor, journal_record
from core.models import ActorKind
from treasury.helios.parse import HeliosFileError, parse_ack, parse_return
from treasury.models import (
    BordereauKind,
    BordereauStatus,
    HeliosBordereau,
    HeliosImport,
    HeliosImportKind,
    HeliosPiece,
    HeliosSettings,
    Invoice,
)
from treasury.services.helios import invoices_journal

ERROR_EMPTY = gettext_lazy("The file is empty.")
ERROR_REPLAY = gettext_lazy("This file was already imported on %(date)s.")
ERROR_UNKNOWN_KIND = gettext_lazy(
    "This file is neither a Hélios acknowledgement (PES_ACQUIT) nor a return file "
    "(PES_Retour).")
ERROR_OTHER_BUDGET = gettext_lazy(
    "This file is for budget %(col)s/%(bud)s, not this commune's (%(our_col)s/%(our_bud)s).")
ERROR_UNKNOWN_BORDEREAU = gettext_lazy(
    "Bordereau %(exer)s-%(number)s is not a bordereau of this commune waiting for "
    "an answer.")
ERROR_NOTHING_MATCHED = gettext_lazy("This acknowledgement names no bordereau of this "
                                     "commune.")
ERROR_UNKNOWN_PIECE = gettext_lazy(
    "Bordereau %(exer)s-%(number)s has no piece %(piece)s line %(line)s.")
ERROR_DEBT_MISMATCH = gettext_lazy(
    "Bordereau %(exer)s-%(number)s piece %(piece)s: debt number %(got)s instead of "
    "%(expected)s.")
SETTLED = "05"


def _root_name(content: bytes) -> str:
    try:
        root = etree.fromstring(content, etree.XMLParser(resolve_entities=False,
                                                         no_network=True))
    except (etree.XMLSyntaxError, ValueError):
        return ""
    return etree.QName(root).localname


def _check_budget(cod_col: str, cod_bud: str, helios: HeliosSettings) -> None:
    if (cod_col, cod_bud) != (helios.cod_col, helios.cod_bud):
        raise ValidationError(ERROR_OTHER_BUDGET % {
            "col": cod_col or "?", "bud": cod_bud or "?", "our_col": helios.cod_col or "?",
            "our_bud": helios.cod_bud or "?"})


def _ack_bordereau(element) -> HeliosBordereau:
    candidates = list(HeliosBordereau.objects.select_for_update().filter(
        exer=int(element.exer) if element.exer.isdigit() else -1,
        id_bord=int(element.num_bord) if element.num_bord.isdigit() else -1,
        status=BordereauStatus.RELEASED))
    preferred = BordereauKind.ORMC if element.domain == "7" else BordereauKind.REGIE
    candidates.sort(key=lambda bordereau: bordereau.kind != preferred)
    if not candidates:
        raise ValidationError(ERROR_UNKNOWN_BORDEREAU % {"exer": element.exer,
                                                         "number": element.num_bord})
    return candidates[0]


def _ack_apply(ack, *, actor: Actor) -> tuple[list[HeliosBordereau], list[str]]:
    now, touched, summary = timezone.now(), [], []
    for element in ack.elements:
        if element.num_bord:
            bordereau = _ack_bordereau(element)
            bordereau.acknowledged_at = now
            bordereau.ack_errors = "\n".join(element.errors)
            if element.ok:
                bordereau.status = BordereauStatus.ACCEPTED
            else:
                bordereau.status = BordereauStatus.REJECTED
                invoice_ids = list(bordereau.pieces.exclude(invoice=None).values_list(
                    "invoice_id", flat=True))
                Invoice.objects.filter(pk__in=invoice_ids).update(sent_to_treasury_at=None)
                invoices_journal(invoice_ids=invoice_ids, actor=actor,
                                 action="treasury.invoice_back_from_treasury",
                                 summary=_("Invoice %(number)s back to the régie: Hélios "
                                           "rejected bordereau %(bordereau)s"),
                                 bordereau=bordereau, changes={"bordereau": bordereau.pk,
                                                               "sent_to_treasury_at": None})
            bordereau.save(update_fields=["status", "acknowledged_at", "ack_errors"])
            touched.append(bordereau)
            summary.append(f"{bordereau.exer}-{bordereau.id_bord}: "
                           f"{bordereau.get_status_display()}")
        elif element.id_unique and not element.ok:
            piece = HeliosPiece.objects.filter(attachment_id=element.id_unique).select_related(
                "bordereau").first()
            if piece:
                bordereau = piece.bordereau
                bordereau.ack_errors = "\n".join(filter(None, [bordereau.ack_errors, _(
                    "Attachment %(id)s rejected: %(errors)s") % {
                    "id": element.id_unique, "errors": "; ".join(element.errors)}]))
                bordereau.save(update_fields=["ack_errors"])
                summary.append(f"{element.id_unique}: KO")
    if not touched:
        raise ValidationError(ERROR_NOTHING_MATCHED)
    return touched, summary


def _return_apply(data, *, actor: Actor) -> tuple[list[HeliosBordereau], list[str]]:
    now, summary = timezone.now(), []
    pieces: dict[tuple, HeliosPiece] = {}
    for line in data.lines:
        if line.typ_bord != "06":
            continue  # régularisations and P503 requests: not ours to match here
        key = (line.exer, line.id_bord, line.id_pce)
        if key not in pieces:
            piece = HeliosPiece.objects.select_for_update(of=("self",)).filter(
                bordereau__kind=BordereauKind.ORMC, bordereau__exer=line.exer,
                bordereau__id_bord=line.id_bord, id_pce=line.id_pce,
                bordereau__status__in=[BordereauStatus.RELEASED, BordereauStatus.ACCEPTED],
            ).select_related("bordereau", "invoice").first()
            if piece is None:
                raise ValidationError(ERROR_UNKNOWN_PIECE % {
                    "exer": line.exer, "number": line.id_bord, "piece": line.id_pce,
                    "line": line.id_ligne})
            pieces[key] = piece
        piece = pieces[key]
        if line.num_dette and line.num_dette.lstrip("0") != piece.num_dette.lstrip("0"):
            raise ValidationError(ERROR_DEBT_MISMATCH % {
                "exer": line.exer, "number": line.id_bord, "piece": line.id_pce,
                "got": line.num_dette, "expected": piece.num_dette})
        stored = next((row for row in piece.lines if row["id_ligne"] == line.id_ligne), None)
        if stored is None:
            raise ValidationError(ERROR_UNKNOWN_PIECE % {
                "exer": line.exer, "number": line.id_bord, "piece": line.id_pce,
                "line": line.id_ligne})
        stored["collected_cents"] = line.collected_cents  # cumulative: replace
        stored["state"] = line.line_state
        stored["payments"] = [list(payment) for payment in line.payments]
    touched = {}
    for piece in pieces.values():
        piece.collected_cents = sum(row["collected_cents"] for row in piece.lines)
        fully = piece.collected_cents >= piece.amount_cents or all(
            row["state"] == SETTLED for row in piece.lines)
        newly_paid = fully and piece.treasury_paid_at is None
        if newly_paid:
            piece.treasury_paid_at = now
        piece.save(update_fields=["lines", "collected_cents", "treasury_paid_at"])
        if piece.invoice_id:
            journal_record(
                actor=actor, action="treasury.invoice_treasury_collected", target=piece.invoice,
                summary=(_("Invoice %(number)s paid at the treasury") if newly_paid else _(
                    "Invoice %(number)s: %(cents)s cents collected by the treasury")) % {
                    "number": piece.invoice.number, "cents": piece.collected_cents},
                changes={"bordereau": piece.bordereau_id, "id_pce": piece.id_pce,
                         "collected_cents": piece.collected_cents,
                         "paid": piece.treasury_paid_at is not None})
        touched[piece.bordereau_id] = piece.bordereau
        summary.append(f"{piece.bordereau.exer}-{piece.bordereau.id_bord}/{piece.id_pce}: "
                       f"{piece.collected_cents}/{piece.amount_cents}")
    return list(touched.values()), summary


def helios_file_import(*, content: bytes, file_name: str, actor: Actor) -> HeliosImport:
    """Import an acknowledgement or a return file; refuse (``ValidationError``, nothing
    changed) a file that is not one, names another budget or an unknown bordereau, or
    was imported before."""
    if not content:
        raise ValidationError(ERROR_EMPTY)
    digest = hashlib.sha256(content).hexdigest()
    root = _root_name(content)
    try:
        if root == "PES_ACQUIT":
            kind, data = HeliosImportKind.ACK, parse_ack(
                content, xsd_dir=settings.HELIOS_XSD_DIR)
        elif root == "PES_Retour":
            kind, data = HeliosImportKind.RETURN, parse_return(content)
        else:
            raise ValidationError(ERROR_UNKNOWN_KIND)
    except HeliosFileError as error:
        raise ValidationError(str(error)) from None
    with transaction.atomic():
        helios = HeliosSettings.objects.select_for_update().get(pk=HeliosSettings.get().pk)
        earlier = HeliosImport.objects.filter(sha256=digest).first()
        if earlier:
            raise ValidationError(ERROR_REPLAY % {
                "date": f"{timezone.localtime(earlier.imported_at):%d/%m/%Y %H:%M}"})
        _check_budget(data.cod_col, data.cod_bud, helios)
        apply = _ack_apply if kind == HeliosImportKind.ACK else _return_apply
        bordereaux, summary = apply(data, actor=actor)
        record = HeliosImport.objects.create(
            kind=kind, sha256=digest, file_name=(file_name or data.file_name)[:255],
            content=content, summary="\n".join(summary),
            bordereau=bordereaux[0] if len(bordereaux) == 1 else None,
            imported_by=actor.user if actor.kind == ActorKind.AGENT else None)
        journal_record(actor=actor, action=f"treasury.helios_import_{kind}", target=record,
                       summary=_("Hélios file %(name)s imported") % {"name": record.file_name},
                       changes={"sha256": digest, "result": summary})
    return record
