"""The QF grid and tariff pages: finance only, French errors, nothing half-written."""

from datetime import date

import pytest

from accounts.roles import Role
from core.models import ActionLog
from tests.conftest import login, make_user
from tests.portal.factories import make_unit
from treasury.models import QuotientGrid, Tariff


@pytest.fixture
def finance_client(client_a, commune_a):
    login(client_a, commune_a, make_user(commune_a, "regie@alpha.test", role=Role.FINANCE))
    return client_a


@pytest.fixture
def unit(commune_a):
    with commune_a:
        return make_unit()


@pytest.mark.parametrize("role", [Role.SCHOOL_LIFE, Role.READ_ONLY, None])
def test_only_finance_agents_reach_the_tariffs(client_a, commune_a, role):
    login(client_a, commune_a, make_user(commune_a, "x@alpha.test", role=role))
    assert client_a.get("/agents/finances/tarifs/").status_code == 403
    assert client_a.post("/agents/finances/tarifs/grille/", {}).status_code == 403


def test_a_tariff_is_set_in_euros_per_bracket(finance_client, commune_a, unit):
    page = finance_client.get("/agents/finances/tarifs/")
    assert page.status_code == 200 and unit in page.context["units"]
    response = finance_client.post("/agents/finances/tarifs/unite/", {
        "unite": unit.pk, "valide_du": "2026-09-01",
        "prix": "1,00 ; 1,50 ; 3,20 ; 4,00 ; 4,50 ; 5,00 ; 5,50", "reduction_2e": "10",
        "reduction_3e": "20", "majoration_tardive": "1", "facturer_absences": "on"})
    assert response.status_code == 302
    with commune_a:
        tariff = Tariff.objects.get(unit=unit)
        assert tariff.resident_cents == [100, 150, 320, 400, 450, 500, 550]
        assert tariff.non_resident_cents == tariff.resident_cents
        assert tariff.late_booking_surcharge_cents == 100 and not tariff.bill_late_cancellation
        assert ActionLog.objects.filter(action="treasury.tariff_set").exists()


@pytest.mark.parametrize("prices", ["1,00 ; 2,00", "5,00 ; 4,00 ; 3,00 ; 2,00 ; 1,00 ; 1,00 ; 1,00",
                                    "un euro"])
def test_a_bad_tariff_is_refused_and_nothing_is_saved(finance_client, commune_a, unit, prices):
    response = finance_client.post("/agents/finances/tarifs/unite/", {
        "unite": unit.pk, "valide_du": "2026-09-01", "prix": prices, "reduction_2e": "0",
        "reduction_3e": "0"})
    assert response.status_code == 400 and response.context["tariff_form"].errors
    with commune_a:
        assert not Tariff.objects.exists()


def test_a_grid_is_saved_and_a_bad_one_refused(finance_client, commune_a):
    response = finance_client.post("/agents/finances/tarifs/grille/",
                                   {"valide_du": "2026-09-01", "bornes": "0 ; 500 ; 1000"})
    assert response.status_code == 302
    for bad in ("100 ; 500", "0 ; 500 ; 400", "0 ; cinq"):
        response = finance_client.post("/agents/finances/tarifs/grille/",
                                       {"valide_du": "2027-01-01", "bornes": bad})
        assert response.status_code == 400
    with commune_a:
        assert QuotientGrid.objects.get(valid_from=date(2026, 9, 1)).lower_bounds == [0, 500, 1000]
        assert not QuotientGrid.objects.filter(valid_from=date(2027, 1, 1)).exists()
