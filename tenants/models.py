"""Communes (tenants) and their host names, in the public schema."""

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.postgresql_backend.base import _check_schema_name
from django_tenants.utils import get_creation_fakes_migrations, schema_exists

from tenants.cloning import migrations_missing, schema_clone


class CommuneStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    SUSPENDED = "suspended", _("suspended")


class CommuneKind(models.TextChoices):
    COMMUNE = "commune", _("commune")
    TEMPLATE = "template", _("template schema")
    PLATFORM = "platform", _("vendor platform")


class Commune(TenantMixin):
    """One town: its own PostgreSQL schema named after ``slug``.

    Two special rows exist: the ``public`` schema (kind ``platform``, the vendor
    console) and the ``modele`` schema (kind ``template``), a migrated, empty schema
    that new communes are cloned from. Neither has town data.
    """

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=CommuneKind.choices,
                            default=CommuneKind.COMMUNE)
    status = models.CharField(_("status"), max_length=16, choices=CommuneStatus.choices,
                              default=CommuneStatus.ACTIVE)
    insee_code = models.CharField(_("INSEE code"), max_length=5, blank=True)
    siret = models.CharField(_("SIRET"), max_length=14, blank=True)
    template = models.CharField(_("reference-data template"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)

    auto_create_schema = True
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]
        verbose_name = _("commune")
        verbose_name_plural = _("communes")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "suspended"]),
                name="commune_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["commune", "template", "platform"]),
                name="commune_kind_valid",
            ),
        ]

    def __str__(self):
        return self.name

    def create_schema(self, check_if_exists=False, sync_schema=True, verbosity=1):
        """Clone the template with ``tenants.cloning`` (not django-tenants' function).

        Without a template (or with ``TENANT_CREATION_FAKES_MIGRATIONS`` off) the
        schema is created by replaying the migrations, as django-tenants does. If
        the template lags behind the code (a deploy that did not run
        ``setup_platform``), the clone gets the missing migrations applied for real,
        never faked.
        """
        base = self.get_base_schema() if get_creation_fakes_migrations() else False
        if not (sync_schema and base and schema_exists(base)):
            return super().create_schema(check_if_exists=check_if_exists,
                                         sync_schema=sync_schema, verbosity=verbosity)
        _check_schema_name(self.schema_name)
        if check_if_exists and schema_exists(self.schema_name):
            return False
        if schema_exists(self.schema_name, case_sensitive=False):
            raise ValidationError("New schema name already exists")
        schema_clone(base, self.schema_name)
        if migrations_missing(self.schema_name):
            call_command("migrate_schemas", tenant=True, schema_name=self.schema_name,
                         interactive=False, verbosity=verbosity)
        connection.set_schema_to_public()
        return True

    @property
    def slug(self) -> str:
        return self.schema_name

    @property
    def is_suspended(self) -> bool:
        return self.status == CommuneStatus.SUSPENDED


class Domain(DomainMixin):
    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")

    def __str__(self):
        return self.domain


class PaymentSettings(models.Model):
    """A commune's own Stripe account (docs/payments.md: why its own keys, not Connect).

    Secrets are stored encrypted (``core.crypto``) and never shown back in full.
    """

    commune = models.OneToOneField(Commune, on_delete=models.CASCADE,
                                   related_name="payment_settings")
    enabled = models.BooleanField(_("online card payment enabled"), default=False)
    publishable_key = models.CharField(_("publishable key"), max_length=255, blank=True)
    secret_key_encrypted = models.TextField(blank=True)
    webhook_secret_encrypted = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("online payment settings")

    def __str__(self):
        return f"{self.commune}"

    @property
    def secret_key(self) -> str:
        from core.crypto import secret_decrypt

        return secret_decrypt(self.secret_key_encrypted)

    @property
    def webhook_secret(self) -> str:
        from core.crypto import secret_decrypt

        return secret_decrypt(self.webhook_secret_encrypted)

    @property
    def is_ready(self) -> bool:
        return bool(self.enabled and self.publishable_key and self.secret_key_encrypted
                    and self.webhook_secret_encrypted)
