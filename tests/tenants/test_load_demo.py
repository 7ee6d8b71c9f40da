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


def test_a_demo_loader_failing_half_way_leaves_nothing_and_runs_again(commune_a, monkeypatch):
    """A demo month left half-invoiced (the broker was missing) once made every later
    ``load_demo`` fail; each loader now runs in a transaction of its own."""
    import pytest
    import time_machine

    from core import demo
    from core.journal import Actor
    from portal.demo import portal_demo_load
    from treasury.demo import treasury_demo_load
    from treasury.models import Invoice, InvoicingRun
    from treasury.services import runs

    actor = Actor.system("demo")
    with commune_a, time_machine.travel("2026-12-04 09:00 +01:00", tick=False):
        portal_demo_load(commune=commune_a, size="tiny", actor=actor)
        monkeypatch.setattr(demo, "_loaders", [(1, "treasury", treasury_demo_load)])

        def broken_compute(*, run_id):
            raise ConnectionError("broker unreachable")

        with monkeypatch.context() as patch:
            patch.setattr(runs, "invoicing_run_compute", broken_compute)
            patch.setattr("treasury.demo.invoicing_run_compute", broken_compute)
            with pytest.raises(ConnectionError):
                demo.run_demo_loaders(commune=commune_a, size="tiny", actor=actor)
        assert not InvoicingRun.objects.exists()
        (report,) = demo.run_demo_loaders(commune=commune_a, size="tiny", actor=actor)
        assert report and Invoice.objects.filter(period__month=9).exists()
