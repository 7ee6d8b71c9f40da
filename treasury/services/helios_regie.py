"""The régie regularisation title of a month (NOTES §6): the receipts the régisseur
collected and paid over to the treasury are regularised by an ordinary title,
``TypFic`` PESALR1, ``TypBord`` 01, pieces ``TypPce`` 05 / ``NatPce`` 05, each line
carrying ``LiensIdent/IdRegie``. PROJECT choice: one piece per means of payment (cash,
cheques, CESU, cards…), net of the refunds decided that month, so that the comptable can
tie each piece to the deposits of that channel; no Tiers (who the Tiers of such a title
is, is a local practice to confirm with the comptable)."""

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_record
from core.models import ActorKind
from treasury.helios import build
from treasury.models import (
    NUMBERED_STATUSES,
    BordereauKind,
    HeliosBordereau,
    HeliosPiece,
)
from treasury.selectors_helios import regie_receipts
from treasury.services.helios import (
    ERROR_SETTINGS,
    _settings_lock,
    bordereau_finish,
    id_bord_next,
    refuse_if_open,
)

ERROR_FUTURE_MONTH = gettext_lazy("A month can be regularised only once it is over.")
ERROR_NO_RECEIPTS = gettext_lazy("The régie received nothing in %(month)s.")
ERROR_MONTH_DONE = gettext_lazy(
    "The receipts of %(month)s are already in bordereau %(number)s.")
TYP_BORD = "01"


def regie_title_build(*, month: date, actor: Actor, today: date | None = None) -> HeliosBordereau:
    """The régie title of ``month`` (a past month), saved valid or invalid like an ORMC
    bordereau, then released and sent the same way."""
    today = today or timezone.localdate()
    month = month.replace(day=1)
    if month >= today.replace(day=1):
        raise ValidationError(ERROR_FUTURE_MONTH)
    with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
        helios = _settings_lock()
        if not helios.is_complete:
            raise ValidationError(ERROR_SETTINGS)
        refuse_if_open(BordereauKind.REGIE)
        month_label = formats.date_format(month, "F Y")
        done = HeliosBordereau.objects.filter(kind=BordereauKind.REGIE, period=month,
                                              status__in=NUMBERED_STATUSES).first()
        if done:
            raise ValidationError(ERROR_MONTH_DONE % {
                "month": month_label, "number": f"{done.exer}-{done.id_bord}"})
        receipts = [row for row in regie_receipts(month) if row.net_cents > 0]
        if not receipts:
            raise ValidationError(ERROR_NO_RECEIPTS % {"month": month_label})
        exer = today.year
        bordereau = HeliosBordereau.objects.create(
            kind=BordereauKind.REGIE, exer=exer, typ_bord=TYP_BORD, period=month,
            id_bord=id_bord_next(typ_bord=TYP_BORD, exer=exer),
            created_by=actor.user if actor.kind == ActorKind.AGENT else None)
        pieces, rows = [], []
        for index, row in enumerate(receipts, 1):
            label = _("Régie receipts %(month)s: %(channel)s") % {
                "month": month_label, "channel": row.label}
            line = build.Line(id_ligne=1, product_code=helios.regie_product_code,
                              nature=helios.nature_account, label=label, cents=row.net_cents,
                              regie_id=helios.regie_id)
            pieces.append(build.Piece(id_pce=index, label=label, lines=[line]))
            rows.append(HeliosPiece(
                channel=row.channel, id_pce=index, amount_cents=row.net_cents,
                lines=[{"id_ligne": 1, "label": label, "product_code": line.product_code,
                        "cents": row.net_cents, "collected_cents": 0, "state": ""}]))
        bordereau_finish(bordereau=bordereau, helios=helios, pieces=pieces, rows=rows,
                         errors=[], issued_on=today,
                         objet=_("Régie receipts of %(month)s") % {"month": month_label})
        journal_record(actor=actor, action="treasury.helios_regie_build", target=bordereau,
                       summary=_("Régie title %(exer)s-%(number)s of %(month)s built: "
                                 "%(status)s") % {
                           "exer": exer, "number": bordereau.id_bord, "month": month_label,
                           "status": bordereau.get_status_display()},
                       changes={"receipts": {row.channel: row.net_cents for row in receipts},
                                "errors": bordereau.error_list})
    return bordereau

