"""Receipts and the finance family account are reached in scope only (another family's
parent, commune B's agent and parent get nothing), and the finance actions test_pages.py
does not list (refund, discard, grid and tariff) require the finance capability."""

from datetime import date

import pytest
import time_machine

from accounts.roles import ROLE_CAPABILITIES, Capability, Role
from portal.models import Family, Guardian
from tests.conftest import HOST_B, login, make_user
from tests.treasury.factories import SYSTEM, book, make_household, make_priced_unit, weekdays
from treasury.models import Invoice, InvoicingRun, Payment, QuotientGrid, Refund, RunStatus, Tariff
from treasury.services.payments import payment_record
from treasury.services.runs import invoicing_run_compute, invoicing_run_issue, invoicing_run_start

NOW = "2026-04-03 10:00 +02:00"
ACTORS = [*Role.values, None]  # None: a parent
ACTIONS = [
    ("/agents/finances/familles/{family}/remboursement/", {"montant": "1,00",
                                                          "motif": "départ"}),
    ("/agents/finances/facturation/{draft_run}/abandonner/", {}),
    ("/agents/finances/tarifs/grille/", {"valide_du": "2026-09-01",
                                         "bornes": "0 ; 500 ; 1000"}),
    ("/agents/finances/tarifs/unite/", {
        "unite": "{unit}", "valide_du": "2026-09-01",
        "prix": "1,00 ; 1,50 ; 3,20 ; 4,00 ; 4,50 ; 5,00 ; 5,50", "reduction_2e": "0",
        "reduction_3e": "0"}),
]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(commune_a, parent_a, other_parent_a):
    """Commune A: March issued for the Martin household (``parent_a``), which paid
    20,00 € for 16,00 € (receipt R2026-00001, 4,00 € of credit); the Durand household
    (``other_parent_a``) has February drafted."""
    with commune_a:
        unit = make_priced_unit()
        family, (lea,) = make_household("Martin")
        Guardian.objects.filter(family=family).update(user=parent_a)
        other, (tom,) = make_household("Durand")
        Guardian.objects.filter(family=other).update(user=other_parent_a)
        book(lea, unit, weekdays(date(2026, 3, 2), 5))
        book(tom, unit, weekdays(date(2026, 2, 2), 2))
        run = invoicing_run_start(period=date(2026, 3, 1), actor=SYSTEM)
        invoicing_run_compute(run_id=run.pk)
        invoicing_run_issue(run_id=run.pk, actor=SYSTEM)
        payment = payment_record(family=family, channel="cash", amount_cents=2000,
                                 received_on=date(2026, 4, 2), actor=SYSTEM).payment
        draft_run = invoicing_run_start(period=date(2026, 2, 1), actor=SYSTEM)
        invoicing_run_compute(run_id=draft_run.pk)
        invoice = Invoice.objects.get(run=run)
    return {"family": family, "other": other, "payment": payment, "unit": unit,
            "draft_run": draft_run, "invoice": invoice}


def fill(template, world):
    return template.format(**{key: getattr(value, "pk", value) for key, value in world.items()})


def may(role) -> bool:
    return role is not None and Capability.MANAGE_FINANCE in ROLE_CAPABILITIES[role]


@pytest.mark.parametrize("role", ACTORS)
@pytest.mark.parametrize("url, body", ACTIONS)
def test_the_other_finance_actions_require_the_finance_capability(world, client_a, commune_a,
                                                                  url, body, role):
    login(client_a, commune_a, make_user(commune_a, f"{role or 'parent2'}@fin.alpha.test",
                                         role=role))
    response = client_a.post(fill(url, world), {key: fill(value, world)
                                                for key, value in body.items()})
    assert response.status_code == (302 if may(role) else 403)
    with commune_a:
        done = {"remboursement": Refund.objects.filter(amount_cents=100).exists(),
                "abandonner": InvoicingRun.objects.get(pk=world["draft_run"].pk).status
                == RunStatus.DISCARDED,
                "grille": QuotientGrid.objects.filter(valid_from=date(2026, 9, 1)).exists(),
                "unite": Tariff.objects.filter(valid_from=date(2026, 9, 1)).exists()}
    [key] = [key for key in done if key in url]
    assert done[key] == may(role)


@pytest.mark.parametrize("url", [url for url, _body in ACTIONS])
def test_the_other_finance_actions_reject_get(world, client_a, commune_a, url):
    login(client_a, commune_a, make_user(commune_a, "regie@fin.alpha.test", role=Role.FINANCE))
    assert client_a.get(fill(url, world)).status_code == 405


def test_a_receipt_is_served_to_its_household_and_finance_only(world, client_a, commune_a,
                                                               parent_a, other_parent_a):
    url = fill("/documents/recus/{payment}.pdf", world)
    login(client_a, commune_a, parent_a)
    response = client_a.get(url)
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert response["Cache-Control"] == "private, no-store"
    login(client_a, commune_a, other_parent_a)  # another family's parent
    assert client_a.get(url).status_code == 404
    login(client_a, commune_a, make_user(commune_a, "regie@fin.alpha.test", role=Role.FINANCE))
    assert client_a.get(url).status_code == 200


def test_the_finance_family_account_is_for_finance_agents_only(world, client_a, commune_a,
                                                               parent_a, other_parent_a):
    url = fill("/agents/finances/familles/{family}/", world)
    for parent in (parent_a, other_parent_a):  # its own parent as much as another family's
        login(client_a, commune_a, parent)
        response = client_a.get(url)
        assert response.status_code == 403 and world["family"].name.encode() not in \
            response.content
    login(client_a, commune_a, make_user(commune_a, "regie@fin.alpha.test", role=Role.FINANCE))
    assert client_a.get(url).status_code == 200
    assert client_a.get("/agents/finances/familles/999999999/").status_code == 404


def test_commune_b_reaches_nothing_of_commune_a(world, client_b, commune_b, parent_b):
    receipt = fill("/documents/recus/{payment}.pdf", world)
    account = fill("/agents/finances/familles/{family}/", world)
    with commune_b:  # the ids of commune A mean nothing in commune B
        assert not Payment.objects.filter(pk=world["payment"].pk).exists()
        assert not Family.objects.filter(pk=world["family"].pk).exists()
    login(client_b, commune_b, make_user(commune_b, "regie@beta.test", role=Role.FINANCE))
    assert client_b.get(receipt).status_code == 404
    assert client_b.get(account).status_code == 404
    assert client_b.get(fill("/documents/factures/{invoice}.pdf", world)).status_code == 404
    login(client_b, commune_b, parent_b)
    assert client_b.get(receipt).status_code == 404
    assert client_b.get(account).status_code == 403  # not a finance agent at all


def test_a_session_of_commune_a_is_not_valid_on_commune_b(world, client_a, commune_a,
                                                          parent_a):
    login(client_a, commune_a, make_user(commune_a, "regie@fin.alpha.test", role=Role.FINANCE))
    for url in ("/documents/recus/{payment}.pdf", "/agents/finances/familles/{family}/"):
        response = client_a.get(fill(url, world), HTTP_HOST=HOST_B)
        assert response.status_code == 302 and response.url.startswith("/connexion/")
