"""Onboarding a commune: by clone, atomic, validated, from the command line."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation
from django_tenants.utils import schema_exists

from accounts.models import User
from accounts.roles import Role
from core import defaults
from core.journal import Actor
from core.models import ActionLog
from tenants import models as tenant_models
from tenants.models import Commune, CommuneKind, Domain
from tenants.services import commune_onboard

ACTOR = Actor.system("tests")


def onboard(**overrides):
    values = {"slug": "gamma", "name": "Gamma", "domain": "gamma.parvis.test", "actor": ACTOR}
    values.update(overrides)
    return commune_onboard(**values)


def test_onboarding_clones_the_template_and_sets_everything_up(db, mailoutbox, monkeypatch,
                                                               django_capture_on_commit_callbacks):
    clones = []
    original = tenant_models.schema_clone
    monkeypatch.setattr(tenant_models, "schema_clone",
                        lambda base, new: clones.append((base, new)) or original(base, new))
    with django_capture_on_commit_callbacks(execute=True):
        result = onboard(admin_email="Maire@Gamma.fr", insee="2A004", siret="21380474600013")
    assert clones == [("modele", "gamma")]
    commune = result.commune
    assert schema_exists("gamma")
    assert commune.kind == CommuneKind.COMMUNE and commune.insee_code == "2A004"
    assert Domain.objects.get(tenant=commune).domain == "gamma.parvis.test"
    assert ActionLog.objects.filter(action="commune.onboarded", target_id=str(commune.pk)).exists()
    with commune:
        assert set(Group.objects.values_list("name", flat=True)) == set(Role.values)
        admin = User.objects.get(email="maire@gamma.fr")
        assert admin.is_agent and not admin.has_usable_password()
        assert admin.groups.get().name == Role.ADMINISTRATOR
        assert ActionLog.objects.filter(action="agent.created").exists()
    assert result.activation_url.startswith("http://gamma.parvis.test")
    assert len(mailoutbox) == 1 and result.activation_url in mailoutbox[0].body
    assert mailoutbox[0].to == ["maire@gamma.fr"]


def test_the_cloned_schema_keeps_the_journal_append_only_triggers(db):
    onboard()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'gamma' AND c.relname = 'core_actionlog' ORDER BY tgname")
        assert [row[0] for row in cursor.fetchall()] == [
            "core_actionlog_no_truncate", "core_actionlog_no_update_delete"]


def test_the_template_is_a_real_tenant_without_domain_or_town_data(db):
    template = Commune.objects.get(schema_name="modele")
    assert template.kind == CommuneKind.TEMPLATE
    assert not template.domains.exists()
    with template:
        assert not User.objects.exists() and not Group.objects.exists()


def test_a_failure_half_way_leaves_nothing_behind(db, monkeypatch):
    def broken_hook(*, commune, template):
        raise RuntimeError("défaut volontaire")

    monkeypatch.setattr(defaults, "_hooks", [*defaults._hooks, (999, "broken", broken_hook)])
    before = (Commune.objects.count(), Domain.objects.count(), ActionLog.objects.count())
    with pytest.raises(RuntimeError):
        onboard(admin_email="maire@gamma.fr")
    assert not schema_exists("gamma")
    assert (Commune.objects.count(), Domain.objects.count(), ActionLog.objects.count()) == before


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"slug": "alpha"}, "slug", "Une commune utilise déjà cet identifiant."),
        ({"domain": "alpha.parvis.test"}, "domain", "Ce nom d'hôte est déjà utilisé."),
        ({"domain": "ALPHA.parvis.test"}, "domain", "Ce nom d'hôte est déjà utilisé."),
        ({"slug": "public"}, "slug", "Cet identifiant est réservé par la plateforme."),
        ({"slug": "modele"}, "slug", "Cet identifiant est réservé par la plateforme."),
        ({"slug": "Saint Égrève"}, "slug", "lettres minuscules"),
        ({"slug": "ab"}, "slug", "lettres minuscules"),
        ({"slug": "a--b"}, "slug", "lettres minuscules"),
        ({"domain": "pas un hôte"}, "domain", "nom d'hôte valide"),
        ({"insee": "3847"}, "insee", "Un code INSEE comporte 5 caractères"),
        ({"insee": "2C004"}, "insee", "Un code INSEE comporte 5 caractères"),
        ({"siret": "21380474600014"}, "siret", "clé de contrôle incorrecte"),
        ({"siret": "2138047460001"}, "siret", "exactement 14 chiffres"),
        ({"template": "inexistant"}, "template", "Modèle inconnu"),
        ({"name": "  "}, "name", "nom de la commune"),
    ],
)
def test_bad_input_is_refused_in_french_and_creates_nothing(db, overrides, field, message):
    before = (Commune.objects.count(), Domain.objects.count())
    with translation.override("fr"), pytest.raises(ValidationError) as excinfo:
        onboard(**overrides)
        raise AssertionError("accepted")
    with translation.override("fr"):
        messages = " ".join(excinfo.value.message_dict[field])
    assert message in messages
    assert (Commune.objects.count(), Domain.objects.count()) == before
    assert not schema_exists(overrides.get("slug", "gamma")) or overrides.get("slug") in (
        "alpha", "public", "modele")


def test_corsican_insee_and_a_la_poste_siret_are_accepted(db):
    commune = onboard(insee="2B033", siret="35600000000010").commune
    assert commune.insee_code == "2B033"


def test_an_admin_email_already_used_rolls_back_everything(db, monkeypatch):
    from accounts import services

    def duplicate(**kwargs):
        raise ValidationError({"email": [services.ERROR_EMAIL_TAKEN]})

    monkeypatch.setattr("tenants.services.agent_create", duplicate)
    with pytest.raises(ValidationError) as excinfo:
        onboard(admin_email="maire@gamma.fr")
    assert "admin_email" in excinfo.value.message_dict
    assert not schema_exists("gamma") and not Commune.objects.filter(schema_name="gamma").exists()


def test_the_command_onboards_and_prints_the_activation_link(db, capsys):
    call_command("onboard_commune", "--slug", "delta", "--name", "Delta", "--domain",
                 "delta.parvis.test", "--insee", "38474", "--admin-email", "dgs@delta.fr")
    out = capsys.readouterr().out
    assert "Delta (delta)" in out
    assert "http://delta.parvis.test" in out and "/activation/" in out
    assert Commune.objects.filter(schema_name="delta").exists()


def test_the_command_reports_bad_input_and_creates_nothing(db):
    with translation.override("fr"), pytest.raises(CommandError) as excinfo:
        call_command("onboard_commune", "--slug", "beta", "--name", "Doublon", "--domain",
                     "beta.parvis.test")
    assert "slug: Une commune utilise déjà cet identifiant." in str(excinfo.value)
    assert Commune.objects.filter(name="Doublon").count() == 0
