"""Households, guardians, children (a child may belong to two households)."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class Residency(models.TextChoices):
    RESIDENT = "resident", _("lives in the commune")
    NON_RESIDENT = "non_resident", _("lives outside the commune")


class Civility(models.TextChoices):
    """How a guardian is addressed; also sent to the treasury (Hélios ``Civilite``), whose
    closed list has these two (it refuses "Mademoiselle")."""

    MR = "M", _("Mr")
    MRS = "MME", _("Mrs")


class ClassLevel(models.TextChoices):
    CRECHE = "creche", _("day care")
    PS = "PS", _("petite section")
    MS = "MS", _("moyenne section")
    GS = "GS", _("grande section")
    CP = "CP", "CP"
    CE1 = "CE1", "CE1"
    CE2 = "CE2", "CE2"
    CM1 = "CM1", "CM1"
    CM2 = "CM2", "CM2"
    COLLEGE = "college", _("secondary school")


class Family(models.Model):
    """One household: the unit that books, is billed and pays."""

    reference = models.CharField(_("reference"), max_length=32, unique=True)
    name = models.CharField(_("family name"), max_length=150)
    search_name = models.CharField(max_length=150, db_index=True, editable=False)
    address_line1 = models.CharField(_("address"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address (continued)"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=5, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    residency = models.CharField(_("residency"), max_length=16, choices=Residency.choices,
                                 default=Residency.RESIDENT)
    residency_overridden = models.BooleanField(_("residency set by an agent"), default=False)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail address"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["search_name", "reference"]
        verbose_name = _("family")
        verbose_name_plural = _("families")
        constraints = [
            models.CheckConstraint(condition=models.Q(residency__in=["resident", "non_resident"]),
                                   name="family_residency_valid"),
        ]

    def __str__(self):
        return f"{self.name} ({self.reference})"


class Guardian(models.Model):
    """A legal guardian (responsable légal) of one household, maybe with a parent account."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="guardians")
    civility = models.CharField(_("civility"), max_length=3, choices=Civility.choices,
                                blank=True)
    first_name = models.CharField(_("first name"), max_length=150)
    last_name = models.CharField(_("last name"), max_length=150)
    search_name = models.CharField(max_length=310, db_index=True, editable=False)
    email = models.EmailField(_("e-mail address"), blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    search_phone = models.CharField(max_length=20, blank=True, db_index=True, editable=False)
    is_payer = models.BooleanField(_("pays the invoices"), default=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="guardian")

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("guardian")
        verbose_name_plural = _("guardians")
        constraints = [
            models.UniqueConstraint(Lower("email"), condition=~models.Q(email=""),
                                    name="guardian_email_unique"),
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name}"

    @property
    def addressed_as(self) -> str:
        """"Mme Camille Martin" (the civility's label), or the name alone."""
        return f"{self.get_civility_display()} {self}".strip()


class Child(models.Model):
    first_name = models.CharField(_("first name"), max_length=150)
    last_name = models.CharField(_("last name"), max_length=150)
    search_name = models.CharField(max_length=310, db_index=True, editable=False)
    birth_date = models.DateField(_("birth date"))
    school = models.ForeignKey("portal.Facility", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="pupils", verbose_name=_("school"))
    class_level = models.CharField(_("class"), max_length=8, choices=ClassLevel.choices,
                                   blank=True)
    # Health data: shown only to roles with the view_health capability.
    has_pai = models.BooleanField(_("individual care plan (PAI)"), default=False)
    allergies = models.TextField(_("allergies"), blank=True)
    health_notes = models.TextField(_("health notes"), blank=True)
    families = models.ManyToManyField(Family, through="portal.Membership", related_name="children")

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("child")
        verbose_name_plural = _("children")
        constraints = [
            models.UniqueConstraint(fields=["search_name", "birth_date"],
                                    name="child_identity_unique"),
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name}"


class Membership(models.Model):
    """A child in a household; a child of separated parents has two memberships."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="memberships")
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["child", "family"],
                                               name="membership_unique")]

    def __str__(self):
        return f"child {self.child_id} in family {self.family_id}"


class AuthorisedPickup(models.Model):
    """Someone a household allows to collect one of its children (besides the guardians).

    Each household keeps its own list: the two households of a child of separated parents
    do not see each other's; agents taking attendance see both.
    """

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="pickups")
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="pickups")
    name = models.CharField(_("name"), max_length=200)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    relationship = models.CharField(_("relationship"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("authorised pick-up person")
        verbose_name_plural = _("authorised pick-up persons")

    def __str__(self):
        return self.name


class FamilyQuotient(models.Model):
    """A dated family quotient (QF); the one valid on a day applies to that day."""

    class Source(models.TextChoices):
        CAF = "caf", "CAF"
        MSA = "msa", "MSA"
        COMPUTED = "computed", _("computed from income")
        DECLARED = "declared", _("declared")

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="quotients")
    value = models.PositiveIntegerField(_("family quotient"))
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    document = models.ForeignKey("accounts.StoredFile", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
                name="quotient_period_valid"),
            models.UniqueConstraint(fields=["family", "valid_from"], name="quotient_start_unique"),
        ]

    def __str__(self):
        return f"QF {self.value} from {self.valid_from}"


class FamilyDocument(models.Model):
    """A supporting document sent by a parent (certificate, QF proof), validated by an agent."""

    class Kind(models.TextChoices):
        MEDICAL = "medical", _("medical certificate")
        QF = "qf", _("family quotient proof")
        INSURANCE = "insurance", _("insurance certificate")
        OTHER = "other", _("other")

    class Status(models.TextChoices):
        PENDING = "pending", _("to be checked")
        VALIDATED = "validated", _("validated")
        REJECTED = "rejected", _("rejected")

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="documents")
    child = models.ForeignKey(Child, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="documents")
    file = models.OneToOneField("accounts.StoredFile", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.PENDING)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.kind} of family {self.family_id} ({self.status})"
