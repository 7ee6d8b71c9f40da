from django.core.management import call_command

from accounts.models import User
from tenants.models import Commune


def test_load_demo_is_idempotent_and_prints_the_logins(db, capsys):
    call_command("load_demo", "--without-data")
    first = capsys.readouterr().out
    call_command("load_demo", "--without-data")
    second = capsys.readouterr().out
    assert first == second
    assert "http://sassenage.localhost:8000" in first and "parent@fontaine.demo" in first
    for slug in ("sassenage", "fontaine"):
        commune = Commune.objects.get(schema_name=slug)
        assert commune.domains.get().domain == f"{slug}.localhost"
        with commune:
            assert User.objects.count() == 7
            assert User.objects.get(email=f"admin@{slug}.demo").check_password("demo-parvis-2026")


def test_the_portal_demo_loader_builds_a_town_once(commune_a):
    from django.db.models import Count

    from core.journal import Actor
    from portal.demo import portal_demo_load
    from portal.models import Family, Guardian, Reservation, Unit

    with commune_a:
        report = portal_demo_load(commune=commune_a, size="tiny", actor=Actor.system("demo"))
        assert Family.objects.count() == 12
        assert Guardian.objects.filter(user__isnull=False).count() == 6
        assert Reservation.objects.exists()
        for unit in Unit.objects.all():
            busiest = (Reservation.objects.filter(unit=unit).values("date")
                       .order_by().annotate(n=Count("id"))
                       .order_by("-n").first())
            assert busiest is None or busiest["n"] <= unit.capacity
        assert portal_demo_load(commune=commune_a, size="tiny", actor=Actor.system("demo")) is None
    assert "12" in report
