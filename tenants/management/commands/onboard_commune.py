from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.defaults import DEFAULT_TEMPLATE
from core.journal import Actor
from tenants.services import commune_onboard


def format_errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "\n".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return "\n".join(exc.messages)


class Command(BaseCommand):
    help = "Onboard a commune: schema (cloned from the template), domain, defaults, first admin."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--domain", required=True)
        parser.add_argument("--insee", default="")
        parser.add_argument("--siret", default="")
        parser.add_argument("--admin-email", default="")
        parser.add_argument("--template", default=DEFAULT_TEMPLATE)

    def handle(self, *args, **options):
        try:
            result = commune_onboard(
                slug=options["slug"], name=options["name"], domain=options["domain"],
                insee=options["insee"], siret=options["siret"],
                admin_email=options["admin_email"], template=options["template"],
                actor=Actor.system("onboard_commune"),
            )
        except ValidationError as exc:
            raise CommandError(format_errors(exc)) from None
        self.stdout.write(self.style.SUCCESS(
            f"Commune {result.commune.name} ({result.commune.schema_name}) created."))
        if result.activation_url:
            self.stdout.write(f"Activation link for {result.admin_email}: {result.activation_url}")
