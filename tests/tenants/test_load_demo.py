from django.core.management import call_command

from accounts.models import User
from tenants.models import Commune


def test_load_demo_is_idempotent_and_prints_the_logins(db, capsys):
    call_command("load_demo")
    first = capsys.readouterr().out
    call_command("load_demo")
    second = capsys.readouterr().out
    assert first == second
    assert "http://sassenage.localhost:8000" in first and "parent@fontaine.demo" in first
    for slug in ("sassenage", "fontaine"):
        commune = Commune.objects.get(schema_name=slug)
        assert commune.domains.get().domain == f"{slug}.localhost"
        with commune:
            assert User.objects.count() == 7
            assert User.objects.get(email=f"admin@{slug}.demo").check_password("demo-parvis-2026")
