"""The Hélios (PES V2) exchange of a commune: its identifiers at the treasury, the
bordereaux sent (ORMC titles of unpaid invoices, régie regularisation titles), the
pieces they hold (one per invoice or per means of payment) and the files imported back
(acknowledgements, return files)."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.models import Civility
from tenants.validators import validate_siret

ERROR_ID_POST = _("The codique of the poste comptable is 6 or 7 digits, or 02A/02B followed "
                  "by 3 or 4 digits.")
ERROR_COD_COL = _("The collectivity code (CodCol) is exactly 3 digits.")
ERROR_COD_BUD = _("The budget code (CodBud) is a digit or a capital letter followed by a "
                  "digit.")
ERROR_REGIE_ID = _("The régie number has 1 to 10 letters or digits.")
ERROR_NATURE = _("The revenue account (Nature) has 1 to 12 digits.")
ERROR_KEY_NATURE = _("The code nature of the check keys is exactly 2 digits.")
ERROR_PRODUCT_CODE = _("A product code (CodProdLoc) has 1 to 4 letters or digits.")

PRODUCT_CODE_RE = re.compile(r"^[0-9A-Za-z]{1,4}$")


def validate_product_code(value: str) -> None:
    if not PRODUCT_CODE_RE.match(value or ""):
        raise ValidationError(ERROR_PRODUCT_CODE, code="product_code")


# Civility: the DGFiP's closed list is not published in DosTech (NOTES §2); the portal's
# guardian civilities (portal.models.Civility) are the two values known to pass.


class HeliosSettings(models.Model):
    """One row (pk=1) per commune: how Hélios knows its budget and its régie."""

    id_post = models.CharField(_("codique of the poste comptable (IdPost)"), max_length=7,
                               blank=True, validators=[RegexValidator(
                                   r"^(\d{6,7}|02[AB]\d{3,4})$", ERROR_ID_POST)])
    id_coll = models.CharField(_("SIRET of the collectivity (IdColl)"), max_length=14,
                               blank=True, validators=[validate_siret])
    cod_col = models.CharField(_("collectivity code (CodCol)"), max_length=3, blank=True,
                               validators=[RegexValidator(r"^\d{3}$", ERROR_COD_COL)])
    cod_bud = models.CharField(_("budget code (CodBud)"), max_length=2, blank=True,
                               validators=[RegexValidator(r"^[0-9A-Z]\d$", ERROR_COD_BUD)])
    budget_label = models.CharField(_("budget label"), max_length=38, blank=True)
    regie_id = models.CharField(_("régie number (IdRegie)"), max_length=10, blank=True,
                                validators=[RegexValidator(r"^[0-9A-Za-z]{1,10}$",
                                                           ERROR_REGIE_ID)])
    nature_account = models.CharField(_("revenue account (Nature)"), max_length=12,
                                      default="7067", validators=[RegexValidator(
                                          r"^\d{1,12}$", ERROR_NATURE)])
    key_nature_code = models.CharField(
        _("code nature of the check keys"), max_length=2, default="01",
        validators=[RegexValidator(r"^\d{2}$", ERROR_KEY_NATURE)],
        help_text=_("Used to compute Cle1; confirm it with the public accountant."))
    regie_product_code = models.CharField(
        _("product code of the régie title"), max_length=4, default="REGI",
        validators=[validate_product_code])
    default_civility = models.CharField(
        _("civility sent when unknown"), max_length=3, choices=Civility.choices,
        default=Civility.MR)
    # {service id (str): CodProdLoc}, one local product code per portal service.
    product_codes = models.JSONField(_("product codes per service"), default=dict, blank=True)

    class Meta:
        verbose_name = _("Hélios settings")
        constraints = [models.CheckConstraint(condition=models.Q(pk=1),
                                              name="helios_settings_singleton")]

    def __str__(self):
        return f"{self.cod_col}/{self.cod_bud}"

    @classmethod
    def get(cls) -> "HeliosSettings":
        row, _created = cls.objects.get_or_create(pk=1)
        return row

    @property
    def is_complete(self) -> bool:
        return all((self.id_post, self.id_coll, self.cod_col, self.cod_bud, self.regie_id))


class BordereauKind(models.TextChoices):
    ORMC = "ormc", _("unpaid invoices (ORMC titles)")
    REGIE = "regie", _("régie receipts (regularisation title)")


class BordereauStatus(models.TextChoices):
    DRAFT = "draft", _("being built")
    VALID = "valid", _("valid, to release")
    INVALID = "invalid", _("invalid")
    RELEASED = "released", _("released")
    ACCEPTED = "accepted", _("accepted by Hélios")
    REJECTED = "rejected", _("rejected by Hélios")
    DISCARDED = "discarded", _("discarded")


# Bordereaux whose number is taken: Hélios knows it or will (NOTES §3).
NUMBERED_STATUSES = [BordereauStatus.VALID, BordereauStatus.RELEASED, BordereauStatus.ACCEPTED]


class TransmissionStatus(models.TextChoices):
    NONE = "", _("not sent")
    TO_SEND = "to_send", _("to send")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class HeliosBordereau(models.Model):
    kind = models.CharField(_("kind"), max_length=8, choices=BordereauKind.choices)
    exer = models.PositiveSmallIntegerField(_("year (Exer)"))
    id_bord = models.PositiveIntegerField(_("number (IdBord)"))
    typ_bord = models.CharField(max_length=2)
    status = models.CharField(_("status"), max_length=12, choices=BordereauStatus.choices,
                              default=BordereauStatus.DRAFT)
    period = models.DateField(_("month"), null=True, blank=True)  # régie titles
    with_pdf = models.BooleanField(_("with the invoices' PDF"), default=False)
    file_name = models.CharField(max_length=100, blank=True)
    content = models.BinaryField(default=b"", editable=False)
    errors = models.TextField(_("validation errors"), blank=True)
    piece_count = models.PositiveIntegerField(default=0)
    total_cents = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    ack_errors = models.TextField(_("errors reported by Hélios"), blank=True)
    transmission = models.CharField(_("transmission"), max_length=8, blank=True,
                                    choices=TransmissionStatus.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("Hélios bordereau")
        constraints = [
            models.UniqueConstraint(fields=["typ_bord", "exer", "id_bord"],
                                    condition=models.Q(status__in=NUMBERED_STATUSES),
                                    name="helios_bordereau_number_unique"),
        ]

    def __str__(self):
        return f"{self.exer}-{self.id_bord} ({self.kind})"

    @property
    def can_download(self) -> bool:
        return bool(self.content) and self.status not in (
            BordereauStatus.INVALID, BordereauStatus.DRAFT, BordereauStatus.DISCARDED)

    @property
    def error_list(self) -> list[str]:
        return [line for line in self.errors.splitlines() if line]


class HeliosPiece(models.Model):
    """One piece of a bordereau: an invoice (ORMC) or a means of payment (régie title).
    ``lines``: [{"id_ligne", "label", "product_code", "cents", "collected_cents",
    "state"}]; ``collected_cents`` is what the treasury reported collected (MtRecoTot,
    cumulative: replaced by each return file, never added)."""

    bordereau = models.ForeignKey(HeliosBordereau, on_delete=models.CASCADE,
                                  related_name="pieces")
    invoice = models.ForeignKey("treasury.Invoice", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="helios_pieces")
    channel = models.CharField(max_length=20, blank=True)
    id_pce = models.PositiveIntegerField()
    num_dette = models.CharField(max_length=15, blank=True)
    attachment_id = models.CharField(max_length=50, blank=True)
    amount_cents = models.PositiveIntegerField()
    lines = models.JSONField(default=list)
    collected_cents = models.PositiveIntegerField(default=0)
    treasury_paid_at = models.DateTimeField(_("paid at the treasury"), null=True, blank=True)

    class Meta:
        ordering = ["bordereau", "id_pce"]
        constraints = [
            models.UniqueConstraint(fields=["bordereau", "id_pce"], name="helios_piece_unique"),
        ]

    def __str__(self):
        return f"{self.bordereau_id}/{self.id_pce}"


class HeliosImportKind(models.TextChoices):
    ACK = "ack", _("acknowledgement (PES_Ack)")
    RETURN = "return", _("return file (PES_RecetteRetour)")


class HeliosImport(models.Model):
    """A file received from Hélios, kept once (its hash): a replay is refused."""

    kind = models.CharField(max_length=8, choices=HeliosImportKind.choices)
    sha256 = models.CharField(max_length=64, unique=True)
    file_name = models.CharField(max_length=255, blank=True)
    content = models.BinaryField(editable=False)
    summary = models.TextField(blank=True)
    bordereau = models.ForeignKey(HeliosBordereau, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="imports")
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-imported_at", "-id"]

    def __str__(self):
        return self.file_name or self.sha256[:12]
