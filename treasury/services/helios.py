"""The Hélios exchange, writes: the commune's treasury settings, the ORMC bordereau of
unpaid invoices (built, validated, released or discarded). Imports are in
``helios_imports.py``, the régie title in ``helios_regie.py``, the transmission in
``helios_send.py``.

Bordereau numbers (IdBord, NOTES §3): per (TypBord, Exer), the smallest number that no
valid, released or accepted bordereau holds, chosen while the commune's Hélios settings
row is locked. So numbers follow each other without gaps, a number Hélios accepted is
never given again, and after a rejection (KO acknowledgement) the same number is given
to the corrected bordereau. An invalid or discarded bordereau gives its number back.
Only one valid bordereau of a kind waits for release at a time."""

import re
from collections.abc import Mapping
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_entry_build, journal_record
from core.models import ActionLog, ActorKind
from portal.models import Family, Guardian
from treasury.helios import build
from treasury.helios.checks import file_errors
from treasury.helios.keys import check_keys, num_dette_of
from treasury.models import (
    NUMBERED_STATUSES,
    BordereauKind,
    BordereauStatus,
    HeliosBordereau,
    HeliosPiece,
    HeliosSettings,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    TransmissionStatus,
)
from treasury.models.helios import validate_product_code
from treasury.selectors import invoices_with_state
from treasury.selectors_helios import helios_invoices_proposed

ERROR_SETTINGS = gettext_lazy(
    "The Hélios settings are incomplete (poste comptable, SIRET, collectivity and budget "
    "codes, régie number): complete them first.")
ERROR_NO_INVOICE = gettext_lazy("Choose at least one unpaid invoice past its deadline.")
ERROR_NOT_ELIGIBLE = gettext_lazy(
    "These invoices cannot be sent to the treasury (paid, not yet due, already sent or "
    "in another bordereau): %(numbers)s.")
ERROR_OPEN = gettext_lazy(
    "Bordereau %(number)s is waiting for release: release or discard it first.")
ERROR_NO_DEBTOR = gettext_lazy("Invoice %(number)s: the family has no guardian to name as "
                               "the debtor.")
ERROR_ADDRESS = gettext_lazy("Invoice %(number)s: the debtor's address is incomplete "
                             "(street, 5-digit postcode and city are required).")
ERROR_NO_PRODUCT = gettext_lazy("Service %(service)s has no Hélios product code.")
ERROR_NOT_RELEASABLE = gettext_lazy("Only a valid bordereau waiting for release can be "
                                    "released.")
ERROR_NOT_DISCARDABLE = gettext_lazy("A released bordereau cannot be discarded.")
ERROR_STALE = gettext_lazy(
    "These invoices changed since the bordereau was built (paid, credited or cancelled): "
    "%(numbers)s. Discard it and build a new one.")
OTHER = "other"


def _settings_lock() -> HeliosSettings:
    HeliosSettings.get()
    return HeliosSettings.objects.select_for_update().get(pk=1)


def helios_settings_save(*, values: dict, product_codes: dict, actor: Actor) -> HeliosSettings:
    """Save the commune's Hélios settings (every error at once, by field)."""
    with transaction.atomic():
        row = _settings_lock()
        before = {name: getattr(row, name) for name in [*values, "product_codes"]}
        for name, value in values.items():
            setattr(row, name, value.strip() if isinstance(value, str) else value)
        errors: dict[str, list] = {}
        try:
            row.full_clean()
        except ValidationError as error:
            errors.update(error.message_dict)
        codes = {}
        for service_id, code in product_codes.items():
            code = (code or "").strip().upper()
            if not code:
                continue
            try:
                validate_product_code(code)
            except ValidationError as error:
                errors[f"product_{service_id}"] = error.messages
            codes[str(service_id)] = code
        if errors:
            raise ValidationError(errors)
        row.product_codes = codes
        row.save()
        journal_record(actor=actor, action="treasury.helios_settings", target=row,
                       summary=_("Hélios settings saved"),
                       changes={"before": before, "after": {
                           name: getattr(row, name) for name in before}})
    return row


def id_bord_next(*, typ_bord: str, exer: int) -> int:
    """The number of the next bordereau (call with the settings row locked)."""
    taken = set(HeliosBordereau.objects.filter(
        typ_bord=typ_bord, exer=exer, status__in=NUMBERED_STATUSES).values_list(
        "id_bord", flat=True))
    number = 1
    while number in taken:
        number += 1
    return number


def refuse_if_open(kind: str) -> None:
    waiting = HeliosBordereau.objects.filter(kind=kind, status=BordereauStatus.VALID).first()
    if waiting:
        raise ValidationError(ERROR_OPEN % {"number": f"{waiting.exer}-{waiting.id_bord}"})


def net_per_product(amounts: list[tuple[str, int]], remaining: int) -> list[tuple[str, int]]:
    """Spread what is left to pay on an invoice over its services, in proportion to
    their amounts (payments and credit notes reduce every service alike; a service
    with a net of zero or less disappears). The result adds up to ``remaining``."""
    positives = [(key, cents) for key, cents in amounts if cents > 0]
    base = sum(cents for _key, cents in positives)
    if remaining <= 0 or base <= 0:
        return []
    reduction = max(base - remaining, 0)
    result = [[key, cents - reduction * cents // base] for key, cents in positives]
    excess = sum(cents for _key, cents in result) - remaining
    for item in sorted(result, key=lambda item: -item[1]):
        if excess <= 0:
            break
        take = min(excess, item[1])
        item[1] -= take
        excess -= take
    return [(key, cents) for key, cents in result if cents > 0]


def _payers(family_ids) -> dict[int, Guardian]:
    payers: dict[int, Guardian] = {}
    for guardian in Guardian.objects.filter(family_id__in=family_ids).order_by(
            "family_id", "-is_payer", "id"):
        payers.setdefault(guardian.family_id, guardian)
    return payers


def _service_amounts(invoice_ids) -> dict[int, list]:
    """Per invoice: [(service id or OTHER, name, cents)], lines summed per service."""
    result: dict[int, list] = {}
    for row in (InvoiceLine.objects.filter(invoice_id__in=invoice_ids)
                .values("invoice_id", "unit__service_id", "unit__service__name")
                .annotate(total=Sum("amount_cents")).order_by("invoice_id",
                                                              "unit__service__name")):
        key = str(row["unit__service_id"]) if row["unit__service_id"] else OTHER
        result.setdefault(row["invoice_id"], []).append(
            (key, row["unit__service__name"] or "", row["total"]))
    return result


def _invoice_piece(invoice, index, *, helios, exer, amounts, payer, errors, bordereau_pk,
                   with_pdf, pdfs):
    """The ORMC piece of one invoice, and its HeliosPiece row (unsaved)."""
    number = invoice.number
    names = {key: name for key, name, _cents in amounts}
    largest = max(amounts, key=lambda item: item[2])[0] if amounts else OTHER
    merged: dict[str, int] = {}
    for key, _name, cents in amounts:  # lines without a service go with the largest one
        merged[largest if key == OTHER else key] = merged.get(
            largest if key == OTHER else key, 0) + cents
    lines = []
    month = f"{invoice.period:%m/%Y}" if invoice.period else ""
    for id_ligne, (key, cents) in enumerate(net_per_product(list(merged.items()),
                                                            invoice.remaining_cents), 1):
        code = helios.product_codes.get(key, "")
        if not code:
            errors.add(str(ERROR_NO_PRODUCT) % {"service": names.get(key) or key})
        lines.append(build.Line(id_ligne=id_ligne, product_code=code,
                                nature=helios.nature_account,
                                label=f"{names.get(key) or _('Services')} {month}".strip(),
                                cents=cents))
    if payer is None:
        errors.add(str(ERROR_NO_DEBTOR) % {"number": number})
    if not (invoice.debtor_address1.strip() and re.fullmatch(r"\d{5}", invoice.debtor_postcode)
            and invoice.debtor_city.strip()):
        errors.add(str(ERROR_ADDRESS) % {"number": number})
    debtor = build.Debtor(
        reference=invoice.family.reference,
        civility=(payer.civility if payer else "") or helios.default_civility,
        last_name=payer.last_name if payer else invoice.family.name,
        first_name=payer.first_name if payer else "", street=invoice.debtor_address1,
        complement=invoice.debtor_address2, postcode=invoice.debtor_postcode,
        city=invoice.debtor_city)
    num_dette = num_dette_of(year=invoice.year, sequence=invoice.sequence)
    cle1, cle2 = check_keys(cod_col=helios.cod_col, nature_code=helios.key_nature_code,
                            exer=exer, per="0", num_dette=num_dette)
    attachment = None
    if with_pdf:
        from treasury.pdf import invoice_pdf

        attachment = build.Attachment(
            id_unique=f"PVS{connection.tenant.pk}B{bordereau_pk}N{num_dette}",
            name=f"FACTURE_{num_dette}.pdf",
            content=pdfs[invoice.pk] if pdfs is not None else invoice_pdf(invoice),
            description=_("Invoice %(number)s - %(name)s") % {
                "number": number, "name": invoice.debtor_name})
    piece = build.Piece(id_pce=index, label=_("Invoice %(number)s of %(date)s") % {
        "number": number, "date": f"{invoice.issue_date:%d/%m/%Y}"}, lines=lines,
        debtor=debtor, num_dette=num_dette, per="0", cle1=cle1, cle2=cle2,
        attachment=attachment)
    row = HeliosPiece(invoice=invoice, id_pce=index, num_dette=num_dette,
                      attachment_id=attachment.id_unique if attachment else "",
                      amount_cents=sum(line.cents for line in lines),
                      lines=[{"id_ligne": line.id_ligne, "label": line.label,
                              "product_code": line.product_code, "cents": line.cents,
                              "collected_cents": 0, "state": ""} for line in lines])
    return piece, row


def budget_of(helios: HeliosSettings) -> build.Budget:
    return build.Budget(id_post=helios.id_post, id_coll=helios.id_coll,
                        cod_col=helios.cod_col, cod_bud=helios.cod_bud,
                        label=helios.budget_label)


def bordereau_finish(*, bordereau, helios, pieces, rows, errors, objet, issued_on) -> None:
    """Build the file, validate it (XSD and NOTES §9), save the bordereau and its pieces."""
    content = build.build_file(
        budget=budget_of(helios), created_on=issued_on, bordereau=build.Bordereau(
            kind=bordereau.kind, exer=bordereau.exer, id_bord=bordereau.id_bord,
            issued_on=issued_on, objet=objet, pieces=pieces))
    known = set(HeliosPiece.objects.exclude(attachment_id="").values_list(
        "attachment_id", flat=True))
    problems = list(errors) + file_errors(content, xsd_dir=settings.HELIOS_XSD_DIR,
                                          nature_code=helios.key_nature_code,
                                          known_attachment_ids=known)
    bordereau.content = content
    bordereau.file_name = build.file_name(kind=bordereau.kind, budget=budget_of(helios),
                                          exer=bordereau.exer, id_bord=bordereau.id_bord)
    bordereau.errors = "\n".join(problems)
    bordereau.status = BordereauStatus.INVALID if problems else BordereauStatus.VALID
    bordereau.piece_count = len(pieces)
    bordereau.total_cents = sum(row.amount_cents for row in rows)
    bordereau.save()
    for row in rows:
        row.bordereau = bordereau
    HeliosPiece.objects.bulk_create(rows)


def helios_bordereau_build(*, invoices, with_pdf: bool, actor: Actor,
                           today: date | None = None,
                           pdfs: Mapping[int, bytes] | None = None) -> HeliosBordereau:
    """An ORMC bordereau (one piece per invoice) of the chosen unpaid invoices, saved
    valid (offered for release) or invalid with the reasons in French.

    With ``with_pdf``, each invoice's PDF is rendered here, or taken from ``pdfs``
    (invoice id -> PDF, rendered beforehand: ``treasury.pdf_pool``)."""
    today = today or timezone.localdate()
    ids = sorted({invoice.pk for invoice in invoices})
    if not ids:
        raise ValidationError(ERROR_NO_INVOICE)
    with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
        helios = _settings_lock()
        if not helios.is_complete:
            raise ValidationError(ERROR_SETTINGS)
        refuse_if_open(BordereauKind.ORMC)
        chosen = list(helios_invoices_proposed(today=today).filter(pk__in=ids))
        if len(chosen) != len(ids):
            missing = Invoice.objects.filter(pk__in=set(ids) - {i.pk for i in chosen})
            raise ValidationError(ERROR_NOT_ELIGIBLE % {"numbers": ", ".join(
                invoice.number or f"#{invoice.pk}" for invoice in missing)})
        exer = today.year
        bordereau = HeliosBordereau.objects.create(
            kind=BordereauKind.ORMC, exer=exer, typ_bord="06", with_pdf=with_pdf,
            id_bord=id_bord_next(typ_bord="06", exer=exer),
            created_by=actor.user if actor.kind == ActorKind.AGENT else None)
        amounts = _service_amounts(ids)
        payers = _payers({invoice.family_id for invoice in chosen})
        errors: set[str] = set()
        pieces, rows = [], []
        for index, invoice in enumerate(chosen, 1):
            piece, row = _invoice_piece(
                invoice, index, helios=helios, exer=exer, amounts=amounts.get(invoice.pk, []),
                payer=payers.get(invoice.family_id), errors=errors,
                bordereau_pk=bordereau.pk, with_pdf=with_pdf, pdfs=pdfs)
            pieces.append(piece)
            rows.append(row)
        objet = _("Unpaid invoices of the régie, rôle %(number)s") % {
            "number": bordereau.id_bord}
        bordereau_finish(bordereau=bordereau, helios=helios, pieces=pieces, rows=rows,
                         errors=sorted(errors), objet=objet, issued_on=today)
        journal_record(actor=actor, action="treasury.helios_build", target=bordereau,
                       summary=_("Hélios bordereau %(exer)s-%(number)s built: %(status)s") % {
                           "exer": exer, "number": bordereau.id_bord,
                           "status": bordereau.get_status_display()},
                       changes={"invoices": [invoice.number for invoice in chosen],
                                "errors": bordereau.error_list})
    return bordereau


def invoices_journal(*, invoice_ids, actor, action, summary, bordereau, changes) -> None:
    """One journal entry per invoice (``summary`` names %(number)s and %(bordereau)s)."""
    label = f"{bordereau.exer}-{bordereau.id_bord}"
    ActionLog.objects.bulk_create([
        journal_entry_build(actor=actor, action=action, target=invoice, changes=changes,
                            summary=summary % {"number": invoice.number, "bordereau": label})
        for invoice in Invoice.objects.filter(pk__in=invoice_ids).order_by("pk")])


def helios_bordereau_release(*, bordereau: HeliosBordereau, actor: Actor) -> HeliosBordereau:
    """Release a valid bordereau: its invoices are from now on collected by the
    treasury only (``sent_to_treasury_at``), and the file is queued for sending."""
    from treasury.tasks import helios_bordereau_send_task

    with transaction.atomic():
        bordereau = HeliosBordereau.objects.select_for_update().get(pk=bordereau.pk)
        if bordereau.status != BordereauStatus.VALID:
            raise ValidationError(ERROR_NOT_RELEASABLE)
        now = timezone.now()
        pieces = list(bordereau.pieces.all())
        invoice_ids = [piece.invoice_id for piece in pieces if piece.invoice_id]
        if invoice_ids:
            # The families' rows first, as every payment does: no payment slips in.
            family_ids = set(Invoice.objects.filter(pk__in=invoice_ids).values_list(
                "family_id", flat=True))
            list(Family.objects.select_for_update().filter(pk__in=family_ids).order_by("pk"))
            state = {invoice.pk: invoice for invoice in invoices_with_state(
                Invoice.objects.filter(pk__in=invoice_ids))}
            stale = [state[piece.invoice_id].number for piece in pieces if piece.invoice_id and (
                state[piece.invoice_id].remaining_cents != piece.amount_cents
                or state[piece.invoice_id].status != InvoiceStatus.ISSUED
                or state[piece.invoice_id].sent_to_treasury_at)]
            if stale:
                raise ValidationError(ERROR_STALE % {"numbers": ", ".join(stale)})
            Invoice.objects.filter(pk__in=invoice_ids).update(sent_to_treasury_at=now)
            invoices_journal(invoice_ids=invoice_ids, actor=actor,
                             action="treasury.invoice_sent_to_treasury",
                             summary=_("Invoice %(number)s sent to the treasury (Hélios "
                                       "bordereau %(bordereau)s)"), bordereau=bordereau,
                             changes={"bordereau": bordereau.pk, "sent_to_treasury_at":
                                      now.isoformat()})
        bordereau.status = BordereauStatus.RELEASED
        bordereau.released_at = now
        bordereau.transmission = TransmissionStatus.TO_SEND
        bordereau.save(update_fields=["status", "released_at", "transmission"])
        journal_record(actor=actor, action="treasury.helios_release", target=bordereau,
                       summary=_("Hélios bordereau %(exer)s-%(number)s released") % {
                           "exer": bordereau.exer, "number": bordereau.id_bord},
                       changes={"invoices": len(invoice_ids)})
        helios_bordereau_send_task.delay_on_commit(bordereau.pk)
    return bordereau


def helios_bordereau_discard(*, bordereau: HeliosBordereau, actor: Actor) -> HeliosBordereau:
    """Give up a bordereau not released yet (its number and invoices are free again)."""
    with transaction.atomic():
        bordereau = HeliosBordereau.objects.select_for_update().get(pk=bordereau.pk)
        if bordereau.status not in (BordereauStatus.VALID, BordereauStatus.INVALID):
            raise ValidationError(ERROR_NOT_DISCARDABLE)
        bordereau.status = BordereauStatus.DISCARDED
        bordereau.save(update_fields=["status"])
        journal_record(actor=actor, action="treasury.helios_discard", target=bordereau,
                       summary=_("Hélios bordereau %(exer)s-%(number)s discarded") % {
                           "exer": bordereau.exer, "number": bordereau.id_bord})
    return bordereau
