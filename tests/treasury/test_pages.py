"""Finance and parent treasury pages: the permission matrix, then the flows.

Assertions are on data and status codes, never on translated text (the French labels
are taken from the catalogue where a page must show one).
"""

from datetime import date

import pytest
import time_machine
from django.utils import translation

from accounts.roles import ROLE_CAPABILITIES, Capability, Role
from portal.models import Guardian
from tests.conftest import login, make_user
from tests.treasury.factories import SYSTEM, book, make_household, make_priced_unit, weekdays
from treasury.models import Invoice, InvoiceKind, InvoicingRun, Payment, RunStatus
from treasury.services.payments import ERROR_CHEQUE, payment_record
from treasury.services.runs import invoicing_run_compute, invoicing_run_issue, invoicing_run_start

FINANCE = Capability.MANAGE_FINANCE
NOW = "2026-04-03 10:00 +02:00"
ACTORS = [*Role.values, None]  # None: a parent

PAGES = [
    "/agents/finances/", "/agents/finances/impayes/", "/agents/finances/facturation/{run}/",
    "/agents/finances/facturation/{run}/progression/", "/agents/finances/factures/{invoice}/",
    "/agents/finances/familles/{family}/",
]
ACTIONS = [
    ("/agents/finances/facturation/lancer/", {"mois": "2026-02"}),
    ("/agents/finances/factures/{invoice}/avoir/", {"montant": "1,00", "motif": "geste"}),
    ("/agents/finances/familles/{family}/paiement/",
     {"moyen": "cash", "montant": "2,00", "recu_le": "2026-04-02"}),
]


@pytest.fixture
def world(commune_a, parent_a):
    """Commune A with March 2026 issued for the Martin household (whose guardian is
    ``parent_a``) and for another household."""
    with commune_a, time_machine.travel(NOW, tick=False):
        unit = make_priced_unit()
        family, (lea,) = make_household("Martin")
        Guardian.objects.filter(family=family).update(user=parent_a)
        other, (tom,) = make_household("Durand")
        book(lea, unit, weekdays(date(2026, 3, 2), 5))
        book(tom, unit, weekdays(date(2026, 3, 2), 2))
        run = invoicing_run_start(period=date(2026, 3, 1), actor=SYSTEM)
        invoicing_run_compute(run_id=run.pk)
        invoicing_run_issue(run_id=run.pk, actor=SYSTEM)
        invoice = Invoice.objects.get(family=family)
        other_invoice = Invoice.objects.get(family=other)
    return {"run": run, "invoice": invoice, "family": family, "other": other,
            "other_invoice": other_invoice, "unit": unit}


def fill(template, world):
    return template.format(**{key: getattr(value, "pk", value) for key, value in world.items()})


@pytest.fixture
def as_actor(client_a, commune_a):
    def _login(role):
        user = make_user(commune_a, f"{role or 'parent2'}@finances.alpha.test", role=role)
        login(client_a, commune_a, user)
        return user
    return _login


def may(role) -> bool:
    return role is not None and FINANCE in ROLE_CAPABILITIES[role]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize("role", ACTORS)
@pytest.mark.parametrize("url", PAGES)
def test_each_finance_page_requires_the_finance_capability(world, as_actor, client_a, url,
                                                           role):
    as_actor(role)
    assert client_a.get(fill(url, world)).status_code == (200 if may(role) else 403)


@pytest.mark.parametrize("role", ACTORS)
@pytest.mark.parametrize("url, body", ACTIONS)
def test_each_finance_action_requires_the_finance_capability(world, as_actor, client_a, url,
                                                             body, role):
    as_actor(role)
    response = client_a.post(fill(url, world), body)
    assert response.status_code == (302 if may(role) else 403)


@pytest.mark.parametrize("url", PAGES + [url for url, _body in ACTIONS]
                         + ["/factures/", "/factures/compte/"])
def test_it_requires_login(world, client_a, url):
    response = client_a.get(fill(url, world))
    assert response.status_code == 302 and response.url.startswith("/connexion/")


@pytest.mark.parametrize("url", [url for url, _body in ACTIONS])
def test_actions_reject_get(world, as_actor, client_a, url):
    as_actor(Role.FINANCE)
    assert client_a.get(fill(url, world)).status_code == 405


def test_a_finance_agent_runs_a_month_follows_the_progress_and_issues(world, as_actor,
                                                                      client_a, commune_a):
    as_actor(Role.FINANCE)
    with commune_a:
        book(world["invoice"].lines.first().child, world["unit"], weekdays(date(2026, 4, 1), 2))
    response = client_a.post("/agents/finances/facturation/lancer/", {"mois": "2026-04"})
    assert response.status_code == 302
    with commune_a:
        run = InvoicingRun.objects.get(period=date(2026, 4, 1))
    assert response.url == f"/agents/finances/facturation/{run.pk}/"
    page = client_a.get(response.url)
    assert b"hx-get" in page.content and b"<progress" in page.content
    assert b"htmx" in page.content  # the script that polls
    with commune_a:
        invoicing_run_compute(run_id=run.pk)
    partial = client_a.get(f"/agents/finances/facturation/{run.pk}/progression/?was=running")
    assert partial["HX-Refresh"] == "true" and b"hx-get" not in partial.content
    review = client_a.get(response.url)
    assert review.context["summary"]["invoices"] == 1
    assert review.context["drafts"].paginator.count == 1
    assert client_a.post(f"/agents/finances/facturation/{run.pk}/emettre/").status_code == 302
    with commune_a:
        run.refresh_from_db()
        assert run.status == RunStatus.ISSUING
        invoicing_run_issue(run_id=run.pk, actor=SYSTEM)
        assert Invoice.objects.get(run=run).number == "F2026-00003"


def test_starting_a_month_twice_shows_the_error_and_creates_nothing(world, as_actor, client_a,
                                                                    commune_a):
    as_actor(Role.FINANCE)
    client_a.post("/agents/finances/facturation/lancer/", {"mois": "2026-02"})
    response = client_a.post("/agents/finances/facturation/lancer/", {"mois": "2026-02"})
    assert response.status_code == 400 and response.context["form"].non_field_errors()
    with commune_a:
        assert InvoicingRun.objects.filter(period=date(2026, 2, 1)).count() == 1


def test_a_desk_payment_with_a_cheque_needs_its_number_and_bank(world, as_actor, client_a,
                                                                commune_a):
    as_actor(Role.FINANCE)
    url = fill("/agents/finances/familles/{family}/paiement/", world)
    response = client_a.post(url, {"moyen": "cheque", "montant": "16,00",
                                   "recu_le": "2026-04-02"})
    assert response.status_code == 400
    with translation.override("fr"):
        assert str(ERROR_CHEQUE) in response.context["payment_form"].non_field_errors()
    with commune_a:
        assert not Payment.objects.exists()
    response = client_a.post(url, {"moyen": "cheque", "montant": "16,00", "recu_le": "2026-04-02",
                                   "numero_cheque": "1234567", "banque": "Crédit Agricole",
                                   "factures": [str(world["invoice"].pk)]})
    assert response.status_code == 302
    with commune_a:
        payment = Payment.objects.get()
        assert (payment.amount_cents, payment.receipt_number) == (1600, "R2026-00001")
        assert payment.settlements.get().invoice_id == world["invoice"].pk


def test_an_amount_that_is_not_euros_is_refused(world, as_actor, client_a, commune_a):
    as_actor(Role.FINANCE)
    response = client_a.post(fill("/agents/finances/factures/{invoice}/avoir/", world),
                             {"montant": "douze", "motif": "geste"})
    assert response.status_code == 400 and response.context["credit_form"].errors["montant"]
    with commune_a:
        assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()


def test_a_credit_note_bigger_than_the_invoice_is_refused(world, as_actor, client_a,
                                                          commune_a):
    as_actor(Role.FINANCE)
    response = client_a.post(fill("/agents/finances/factures/{invoice}/avoir/", world),
                             {"montant": "999,00", "motif": "erreur"})
    assert response.status_code == 400 and response.context["credit_form"].non_field_errors()
    response = client_a.post(fill("/agents/finances/factures/{invoice}/annuler/", world),
                             {"motif": "famille partie"})
    assert response.status_code == 302
    with commune_a:
        world["invoice"].refresh_from_db()
        assert world["invoice"].status == "cancelled"


def test_a_parent_sees_their_invoices_and_balance_only(world, client_a, parent_a, commune_a,
                                                       max_sql_queries):
    login(client_a, commune_a, parent_a)
    with max_sql_queries(12):
        response = client_a.get("/factures/")
    [household] = response.context["households"]
    assert household["family"] == world["family"]
    assert [i.pk for i in household["invoices"]] == [world["invoice"].pk]
    assert household["balance"].outstanding == 5 * 320
    statement = client_a.get("/factures/compte/")
    assert statement.status_code == 200


def test_the_parent_pages_are_bounded_in_queries_whatever_the_history(world, client_a,
                                                                       parent_a, commune_a,
                                                                       max_sql_queries):
    with commune_a:
        for amount in (100, 200, 300, 400):
            payment_record(family=world["family"], channel="cash", amount_cents=amount,
                           received_on=date(2026, 4, 2), actor=SYSTEM)
    login(client_a, commune_a, parent_a)
    with max_sql_queries(12):
        client_a.get("/factures/")
    with max_sql_queries(14):
        client_a.get("/factures/compte/")


def test_agents_are_refused_on_parent_pages(world, as_actor, client_a):
    as_actor(Role.FINANCE)
    assert client_a.get("/factures/").status_code == 403


def test_documents_of_another_family_or_commune_are_not_reached(world, client_a, client_b,
                                                                parent_a, parent_b, commune_a,
                                                                commune_b):
    login(client_a, commune_a, parent_a)
    for url in (f"/documents/factures/{world['other_invoice'].pk}.pdf",
                f"/documents/familles/{world['other'].pk}/attestation-fiscale-2026.pdf"):
        assert client_a.get(url).status_code == 404
    login(client_b, commune_b, parent_b)
    assert client_b.get(f"/documents/factures/{world['invoice'].pk}.pdf").status_code == 404
    assert client_b.get("/factures/").context["households"] == []
