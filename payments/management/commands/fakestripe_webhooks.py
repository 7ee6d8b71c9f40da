"""Point the local fake Stripe's webhooks at each commune's own endpoint (``make run``).

Only for a local fake (``STRIPE_API_BASE`` on the loopback) and communes in test mode;
each commune's endpoint gets its own signing secret, as on the real Stripe.
"""

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.sites import site_url
from tenants.models import Commune, CommuneKind, PaymentSettings


class Command(BaseCommand):
    help = "Register each commune's webhook endpoint with the local fake Stripe."

    def handle(self, *args, **options):
        base = settings.STRIPE_API_BASE or ""
        if not base.startswith(("http://127.0.0.1", "http://localhost")):
            raise CommandError("STRIPE_API_BASE is not a local fake Stripe: nothing to do.")
        rows = PaymentSettings.objects.select_related("commune").filter(
            enabled=True, commune__kind=CommuneKind.COMMUNE, publishable_key__startswith="pk_test_")
        for row in rows:
            commune: Commune = row.commune
            url = site_url(commune.get_primary_domain().domain) + "/paiement/stripe/webhook/"
            events = ["payment_intent.succeeded", "payment_intent.payment_failed",
                      "payment_intent.canceled", "payout.paid"]
            response = requests.post(f"{base}/_config/webhooks/{commune.schema_name}", data={
                "url": url, "secret": row.webhook_secret,
                **{f"events[{index}]": name for index, name in enumerate(events)}},
                timeout=10)
            response.raise_for_status()
            self.stdout.write(f"  {commune.name}: {url}")
