"""Writes on communes: platform set-up, onboarding, suspension. Each writes the journal."""

from dataclasses import dataclass, replace

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tenants.utils import schema_context, schema_exists

from accounts.roles import Role
from accounts.services import agent_create
from core.defaults import COMMUNE_TEMPLATES, DEFAULT_TEMPLATE, apply_commune_defaults
from core.journal import Actor, journal_record
from core.sites import site_url
from tenants.models import Commune, CommuneKind, CommuneStatus, Domain, PaymentSettings
from tenants.validators import validate_host, validate_insee, validate_siret, validate_slug

ERROR_SLUG_TAKEN = gettext_lazy("A commune already uses this identifier.")
ERROR_DOMAIN_TAKEN = gettext_lazy("This host name is already used.")
ERROR_TEMPLATE_UNKNOWN = gettext_lazy("Unknown template. Available templates: %(names)s.")
ERROR_NAME_REQUIRED = gettext_lazy("Enter the commune's name.")
ERROR_PLATFORM_NOT_READY = gettext_lazy(
    "The platform is not set up (template schema missing): run manage.py setup_platform."
)
ERROR_ALREADY_IN_STATUS = gettext_lazy("The commune is already in this state.")

PUBLIC_SCHEMA = "public"


@dataclass(frozen=True)
class OnboardingResult:
    commune: Commune
    admin_email: str | None
    activation_url: str | None


def platform_setup(*, vendor_hosts: list[str]) -> None:
    """Ensure the public tenant with the vendor hosts and the template schema exist.

    Idempotent; run on every deploy after ``migrate_schemas`` (``setup_platform``).
    Creating the template the first time replays the tenant migrations once.
    """
    public, _created = Commune.objects.get_or_create(
        schema_name=PUBLIC_SCHEMA,
        defaults={"name": "Parvis", "kind": CommuneKind.PLATFORM},
    )
    for index, host in enumerate(vendor_hosts):
        Domain.objects.get_or_create(domain=host, defaults={"tenant": public,
                                                            "is_primary": index == 0})
    if not Commune.objects.filter(schema_name=settings.TENANT_BASE_SCHEMA).exists():
        Commune.objects.create(
            schema_name=settings.TENANT_BASE_SCHEMA,
            name="Modèle",
            kind=CommuneKind.TEMPLATE,
        )


def _validate_onboarding(*, slug, name, domain, insee, siret, template) -> None:
    errors: dict[str, list] = {}

    def check(field, func, value):
        try:
            func(value)
        except ValidationError as exc:
            errors.setdefault(field, []).extend(exc.messages)

    check("slug", validate_slug, slug)
    check("domain", validate_host, domain)
    if not name.strip():
        errors.setdefault("name", []).append(ERROR_NAME_REQUIRED)
    if insee:
        check("insee", validate_insee, insee)
    if siret:
        check("siret", validate_siret, siret)
    if template not in COMMUNE_TEMPLATES:
        errors.setdefault("template", []).append(
            ERROR_TEMPLATE_UNKNOWN % {"names": ", ".join(COMMUNE_TEMPLATES)}
        )
    if "slug" not in errors and (
        Commune.objects.filter(schema_name__iexact=slug).exists() or schema_exists(slug)
    ):
        errors.setdefault("slug", []).append(ERROR_SLUG_TAKEN)
    if "domain" not in errors and Domain.objects.filter(domain__iexact=domain).exists():
        errors.setdefault("domain", []).append(ERROR_DOMAIN_TAKEN)
    if errors:
        raise ValidationError(errors)


def commune_onboard(
    *,
    slug: str,
    name: str,
    domain: str,
    actor: Actor,
    insee: str = "",
    siret: str = "",
    admin_email: str = "",
    template: str = DEFAULT_TEMPLATE,
) -> OnboardingResult:
    """Create a commune in one transaction: schema (cloned), domain, defaults, admin.

    Any failure rolls everything back: no schema, no domain row, no account.
    """
    slug, domain = slug.strip().lower(), domain.strip().lower()
    insee, siret = insee.strip().upper(), siret.replace(" ", "").strip()
    _validate_onboarding(slug=slug, name=name, domain=domain, insee=insee, siret=siret,
                         template=template)
    if not Commune.objects.filter(schema_name=settings.TENANT_BASE_SCHEMA).exists():
        raise ValidationError(ERROR_PLATFORM_NOT_READY)
    try:
        with transaction.atomic():
            commune = Commune(schema_name=slug, name=name.strip(), insee_code=insee,
                              siret=siret, template=template)
            commune.save(verbosity=0)
            Domain.objects.create(domain=domain, tenant=commune, is_primary=True)
            journal_record(
                actor=actor, action="commune.onboarded", target=commune,
                summary=_("Commune %(name)s onboarded at %(host)s")
                % {"name": commune.name, "host": domain},
                changes={"slug": slug, "domain": domain, "template": template},
            )
            activation = None
            with commune:
                apply_commune_defaults(commune=commune, template=template)
                journal_record(actor=actor, action="commune.onboarded", target=None,
                               summary=_("Commune created on Parvis"),
                               changes={"template": template})
                if admin_email:
                    _user, activation = agent_create(
                        email=admin_email, first_name="", last_name="",
                        role=Role.ADMINISTRATOR, actor=actor, base_url=site_url(domain),
                        commune_name=commune.name,
                    )
    except IntegrityError:
        # Lost a race with a concurrent onboarding of the same slug or host.
        raise ValidationError({"slug": [ERROR_SLUG_TAKEN]}) from None
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "email" in exc.error_dict:
            raise ValidationError({"admin_email": exc.error_dict["email"]}) from None
        raise
    return OnboardingResult(commune=commune, admin_email=admin_email or None,
                            activation_url=activation)


def _commune_set_status(*, commune: Commune, status: str, actor: Actor, reason: str,
                        action: str, summary: str) -> Commune:
    with transaction.atomic():
        locked = Commune.objects.select_for_update().get(pk=commune.pk, kind=CommuneKind.COMMUNE)
        if locked.status == status:
            raise ValidationError(ERROR_ALREADY_IN_STATUS)
        before = locked.status
        locked.status = status
        locked.status_changed_at = timezone.now()
        locked.save(update_fields=["status", "status_changed_at"])
        changes = {"status": [before, status], "reason": reason}
        journal_record(actor=actor, action=action, target=locked, summary=summary,
                       changes=changes)
        with locked:
            journal_record(actor=actor, action=action, target=None, summary=summary,
                           changes=changes)
    return locked


def commune_suspend(*, commune: Commune, actor: Actor, reason: str = "") -> Commune:
    """Suspend a commune: its site shows a maintenance page and nobody can log in."""
    return _commune_set_status(
        commune=commune, status=CommuneStatus.SUSPENDED, actor=actor, reason=reason,
        action="commune.suspended",
        summary=_("Commune %(name)s suspended") % {"name": commune.name},
    )


def commune_reactivate(*, commune: Commune, actor: Actor, reason: str = "") -> Commune:
    return _commune_set_status(
        commune=commune, status=CommuneStatus.ACTIVE, actor=actor, reason=reason,
        action="commune.reactivated",
        summary=_("Commune %(name)s reactivated") % {"name": commune.name},
    )


ERROR_PUBLISHABLE_KEY = gettext_lazy("The publishable key starts with pk_test_ or pk_live_.")
ERROR_SECRET_KEY = gettext_lazy("The secret key starts with sk_test_, sk_live_ or rk_….")
ERROR_WEBHOOK_SECRET = gettext_lazy("The webhook signing secret starts with whsec_.")
ERROR_MODES_DIFFER = gettext_lazy("Both keys must be of the same mode (test or live).")
ERROR_PAYMENT_INCOMPLETE = gettext_lazy(
    "Online payment needs the publishable key, the secret key and the webhook secret.")


def _key_mode(key: str) -> str:
    return "live" if "_live_" in key else "test"


def payment_settings_update(*, commune: Commune, actor: Actor, enabled: bool,
                            publishable_key: str, secret_key: str = "",
                            webhook_secret: str = "") -> PaymentSettings:
    """Set a commune's Stripe keys. An empty secret keeps the stored one (secrets are
    never shown back, so a form cannot resend them). Journalled in the public schema and
    in the commune's, without the secrets."""
    from core.crypto import secret_encrypt

    publishable_key, secret_key = publishable_key.strip(), secret_key.strip()
    webhook_secret = webhook_secret.strip()
    errors = {}
    if publishable_key and not publishable_key.startswith(("pk_test_", "pk_live_")):
        errors["publishable_key"] = ERROR_PUBLISHABLE_KEY
    if secret_key and not secret_key.startswith(("sk_test_", "sk_live_", "rk_test_",
                                                 "rk_live_")):
        errors["secret_key"] = ERROR_SECRET_KEY
    if webhook_secret and not webhook_secret.startswith("whsec_"):
        errors["webhook_secret"] = ERROR_WEBHOOK_SECRET
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        current, _created = PaymentSettings.objects.select_for_update().get_or_create(
            commune=commune)
        if secret_key:
            current.secret_key_encrypted = secret_encrypt(secret_key)
        if webhook_secret:
            current.webhook_secret_encrypted = secret_encrypt(webhook_secret)
        current.publishable_key = publishable_key
        current.enabled = enabled
        if publishable_key and current.secret_key_encrypted and (
                _key_mode(publishable_key) != _key_mode(current.secret_key)):
            raise ValidationError({"secret_key": ERROR_MODES_DIFFER})
        if enabled and not current.is_ready:
            raise ValidationError({"enabled": ERROR_PAYMENT_INCOMPLETE})
        current.save()
        changes = {"enabled": enabled, "publishable_key": publishable_key,
                   "secret_key_changed": bool(secret_key),
                   "webhook_secret_changed": bool(webhook_secret)}
        summary = _("Online payment settings of %(name)s updated") % {"name": commune.name}
        # An agent's account exists only in its commune's schema: the public entry
        # names the agent without linking the account.
        public_actor = replace(actor, user=None) if connection.schema_name != PUBLIC_SCHEMA \
            else actor
        for schema, target, who in ((PUBLIC_SCHEMA, commune, public_actor),
                                    (commune.schema_name, None, actor)):
            with schema_context(schema):
                journal_record(actor=who, action="commune.payment_settings", target=target,
                               summary=summary, changes=changes)
    return current


def payment_settings_of(commune: Commune) -> PaymentSettings | None:
    return PaymentSettings.objects.filter(commune=commune).first()
