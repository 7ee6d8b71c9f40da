"""Load or refresh the demo communes (idempotent). ``make run`` calls it."""

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import AccountType
from accounts.roles import Role
from accounts.services import demo_account_upsert, vendor_operator_upsert
from core.demo import run_demo_loaders
from core.journal import Actor
from core.sites import site_url
from tenants.models import Commune
from tenants.services import commune_onboard, payment_settings_update, platform_setup

DEMO_PASSWORD = "demo-parvis-2026"
DEMO_COMMUNES = [
    # slug, name, INSEE code, a SIRET with a valid check digit (demo values), data size
    ("sassenage", "Sassenage", "38474", "21380474600013", "large"),
    ("fontaine", "Fontaine", "38169", "21380169200012", "small"),
]
DEMO_ACCOUNTS = [
    # local part, role (None: parent), first name, last name
    ("admin", Role.ADMINISTRATOR, "Alice", "Martin"),
    ("scolaire", Role.SCHOOL_LIFE, "Bruno", "Garcia"),
    ("loisirs", Role.LEISURE, "Chloé", "Bernard"),
    ("petite-enfance", Role.EARLY_CHILDHOOD, "Djamila", "Petit"),
    ("regie", Role.FINANCE, "Étienne", "Roux"),
    ("lecture", Role.READ_ONLY, "Fanny", "Moreau"),
    ("parent", None, "Gaëlle", "Durand"),
]


def demo_host(slug: str) -> str:
    return f"{slug}{settings.COMMUNE_HOST_SUFFIX}"


class Command(BaseCommand):
    help = "Create or refresh the demo communes, their demo accounts and their demo data."

    def add_arguments(self, parser):
        parser.add_argument("--without-data", dest="with_data", action="store_false",
                            help="Accounts only, no families or bookings (fast).")

    def handle(self, *args, **options):
        actor = Actor.system("load_demo")
        platform_setup(vendor_hosts=settings.VENDOR_HOSTS)
        vendor_email = "vendeur@parvis.localhost"
        vendor_operator_upsert(email=vendor_email, password=DEMO_PASSWORD, actor=actor)
        rows = [("console", site_url(settings.VENDOR_HOSTS[0]), vendor_email)]
        for slug, name, insee, siret, size in DEMO_COMMUNES:
            commune = Commune.objects.filter(schema_name=slug).first()
            if commune is None:
                commune = commune_onboard(slug=slug, name=name, domain=demo_host(slug),
                                          insee=insee, siret=siret, actor=actor).commune
            with commune:
                for local, role, first, last in DEMO_ACCOUNTS:
                    email = f"{local}@{slug}.demo"
                    demo_account_upsert(
                        email=email, password=DEMO_PASSWORD,
                        account_type=AccountType.PARENT if role is None else AccountType.AGENT,
                        role=role, first_name=first, last_name=last, actor=actor,
                    )
                    rows.append((name, site_url(demo_host(slug)), email))
                if slug == "sassenage" and not settings.PRODUCTION:
                    # Card payments into the demo town's own (fake, local) Stripe account.
                    payment_settings_update(
                        commune=commune, actor=actor, enabled=True,
                        publishable_key=f"pk_test_demo_{slug}",
                        secret_key=f"sk_test_demo_{slug}", webhook_secret=f"whsec_demo_{slug}")
                if options["with_data"]:
                    for report in run_demo_loaders(commune=commune, size=size, actor=actor):
                        self.stdout.write(f"  {name}: {report}")
        self.stdout.write(self.style.SUCCESS("Demo ready. Password for every account: "
                                             f"{DEMO_PASSWORD}"))
        for where, url, email in rows:
            self.stdout.write(f"  {where:<10} {url:<38} {email}")
        if not settings.PRODUCTION:
            self.stdout.write("Card payments (Sassenage, local fake Stripe): test card "
                              "4242 4242 4242 4242, any future date, any CVC.")
