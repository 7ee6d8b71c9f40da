"""The commune's Stripe account, as the stripe SDK sees it.

Each commune is paid into its own Stripe account with its own keys (docs/payments.md):
the client is built for the commune of the current schema, never for another.
"""

import stripe
from django.conf import settings
from django.db import connection

from tenants.models import PaymentSettings


class PaymentsNotConfigured(Exception):
    """The commune has not enabled online payment (or its keys are missing)."""


def commune_payment_settings() -> PaymentSettings | None:
    tenant = getattr(connection, "tenant", None)
    if tenant is None or connection.schema_name == "public":
        return None
    return PaymentSettings.objects.filter(commune__schema_name=connection.schema_name).first()


def online_payment_ready() -> bool:
    current = commune_payment_settings()
    return bool(current and current.is_ready)


def stripe_client() -> stripe.StripeClient:
    current = commune_payment_settings()
    if current is None or not current.secret_key_encrypted:
        raise PaymentsNotConfigured(connection.schema_name)
    options = {}
    if settings.STRIPE_API_BASE:
        options["base_addresses"] = {"api": settings.STRIPE_API_BASE}
    return stripe.StripeClient(current.secret_key, max_network_retries=2, **options)


def as_dict(stripe_object) -> dict:
    """stripe 16 objects are not dicts."""
    return stripe_object.to_dict() if hasattr(stripe_object, "to_dict") else dict(stripe_object)


def object_id(value) -> str:
    """An expandable field's id, whether it came back expanded or not."""
    if isinstance(value, dict):
        return value.get("id", "")
    return getattr(value, "id", value) or ""
