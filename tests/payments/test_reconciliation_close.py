"""Month close (refused with an open anomaly, a difference or a payout not tying out;
accepted when everything ties), its CSV and PDF report, and the pages' permissions."""

from datetime import date

import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts.roles import ROLE_CAPABILITIES, Capability, Role
from core.models import ActionLog
from payments.models import Anomaly, MonthClose, Payout
from payments.services.month_close import (
    ERROR_ANOMALIES,
    ERROR_CLOSED,
    ERROR_NOT_OVER,
    month_close,
)
from payments.services.reconcile import anomaly_resolve
from tests.conftest import login, make_user
from tests.treasury.factories import SYSTEM
from treasury.models import Channel, Settlement
from treasury.selectors_close import month_figures
from treasury.services.payments import payment_record

APRIL = date(2026, 4, 1)


@pytest.fixture
def april(household, commune_a):
    """March's invoice (16,00 €, issued on 3 April) paid at the desk on 10 April;
    February's (issued in March) left due."""
    family, february, march = household
    with commune_a, time_machine.travel("2026-04-10 10:00 +02:00", tick=False):
        payment = payment_record(family=family, channel=Channel.CASH, amount_cents=1600,
                                 received_on=date(2026, 4, 10), actor=SYSTEM,
                                 invoices=[march]).payment
    return family, february, march, payment


def close(commune, when="2026-05-04 09:00 +02:00"):
    with commune, time_machine.travel(when, tick=False):
        return month_close(period=APRIL, actor=SYSTEM)


def refusals(commune, when="2026-05-04 09:00 +02:00") -> list[str]:
    with pytest.raises(ValidationError) as refused:
        close(commune, when)
    return refused.value.messages


def test_a_month_that_ties_out_is_closed_once_and_journalled(april, commune_a):
    with commune_a:
        figures = month_figures(APRIL)
        assert (figures.total.invoiced, figures.total.paid, figures.total.outstanding) == (
            1600, 1600, 0)
        assert figures.receipts_by_channel == {"cash": 1600} and figures.ties_out
        assert dict(figures.outstanding_by_age)["0-30"] == 960  # February, due on 2 April
    closed = close(commune_a)
    assert closed.figures["invoiced"] == 1600 and closed.figures["receipts"] == {"cash": 1600}
    with commune_a:
        assert ActionLog.objects.filter(action="payments.month_close").count() == 1
    assert refusals(commune_a) == [str(ERROR_CLOSED % {"month": "04/2026"})]


def test_a_month_is_not_closed_before_it_is_over(april, commune_a):
    assert refusals(commune_a, "2026-04-30 18:00 +02:00") == [str(ERROR_NOT_OVER)]


def test_an_open_anomaly_refuses_the_close_until_resolved(april, commune_a):
    with commune_a:
        anomaly = Anomaly.objects.create(kind="no_invoice", key="pi:pi_x", period=APRIL,
                                         amount_cents=500)
    assert refusals(commune_a) == [str(ERROR_ANOMALIES % {"count": 1})]
    with commune_a:
        anomaly_resolve(anomaly=anomaly, note="Remboursé", actor=SYSTEM)
    assert close(commune_a).period == APRIL


def test_a_difference_refuses_the_close(april, commune_a):
    _family, _february, march, payment = april
    with commune_a:  # a corrupt ledger: the invoice settled beyond its total
        Settlement.objects.create(invoice=march, payment=payment, amount_cents=100)
        figures = month_figures(APRIL)
        [line] = figures.differences
        assert line.difference == -100 and not figures.ties_out
    [message] = refusals(commune_a)
    assert "1,00" in message
    with commune_a:
        assert not MonthClose.objects.exists()


def test_a_payout_that_does_not_tie_out_refuses_the_close(april, commune_a):
    with commune_a:
        Payout.objects.create(payout_id="po_x", amount_cents=100, status="paid",
                              arrival_date=date(2026, 4, 20), ties_out=False)
    messages = refusals(commune_a)
    assert len(messages) == 1 and "po_x" not in messages[0]


def test_the_report_downloads_as_csv_and_pdf(april, commune_a, client_a):
    close(commune_a)
    agent = make_user(commune_a, "regie@alpha.test", role=Role.FINANCE)
    login(client_a, commune_a, agent)
    csv_response = client_a.get("/agents/finances/rapprochement/cloture/2026/4/rapport.csv")
    assert csv_response.status_code == 200
    assert csv_response["Content-Type"].startswith("text/csv")
    text = csv_response.content.decode("utf-8-sig")
    rows = [row.split(";") for row in text.splitlines()]
    total = next(row for row in rows if row[0] in ("Total", "Total général"))
    assert total[2:8] == ["16,00", "16,00", "0,00", "0,00", "0,00", "0,00"]
    assert any(row[1:] == ["16,00"] for row in rows)  # receipts: cash
    pdf = client_a.get("/agents/finances/rapprochement/cloture/2026/4/rapport.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    page = client_a.get("/agents/finances/rapprochement/cloture/2026/4/")
    assert page.status_code == 200 and b"<svg" in page.content


FINANCE = Capability.MANAGE_FINANCE
ACTORS = [*Role.values, None]  # None: a parent
PAGES = ["/agents/finances/rapprochement/", "/agents/finances/rapprochement/?mois=2026-04",
         "/agents/finances/rapprochement/versements/{payout}/",
         "/agents/finances/rapprochement/cloture/2026/4/",
         "/agents/finances/rapprochement/cloture/2026/4/rapport.csv"]
ACTIONS = [("/agents/finances/rapprochement/detecter/", {"mois": "2026-04"}),
           ("/agents/finances/rapprochement/versements/{payout}/rapprocher/", {}),
           ("/agents/finances/rapprochement/anomalies/{anomaly}/resoudre/", {"note": "vu"})]


@pytest.fixture
def objects(commune_a, stripe_a):
    with commune_a:
        payout = Payout.objects.create(payout_id="po_matrix", amount_cents=100, status="paid",
                                       arrival_date=date(2026, 4, 20))
        anomaly = Anomaly.objects.create(kind="payout_difference", key="payout:po_matrix",
                                         period=APRIL, payout=payout, amount_cents=100)
    return {"payout": payout.pk, "anomaly": anomaly.pk}


def may(role) -> bool:
    return role is not None and FINANCE in ROLE_CAPABILITIES[role]


def as_role(client, commune, role):
    login(client, commune, make_user(commune, f"{role or 'parent2'}@rec.alpha.test",
                                     role=role))


@pytest.mark.parametrize("role", ACTORS)
@pytest.mark.parametrize("url", PAGES)
def test_each_page_requires_the_finance_capability(objects, client_a, commune_a, url, role):
    as_role(client_a, commune_a, role)
    assert client_a.get(url.format(**objects)).status_code == (200 if may(role) else 403)


@pytest.mark.parametrize("role", ACTORS)
@pytest.mark.parametrize("url, body", ACTIONS)
def test_each_action_requires_the_finance_capability(objects, client_a, commune_a, url, body,
                                                     role):
    as_role(client_a, commune_a, role)
    response = client_a.post(url.format(**objects), body)
    assert response.status_code == (302 if may(role) else 403)


@pytest.mark.parametrize("url", PAGES + [url for url, _body in ACTIONS])
def test_it_requires_login(objects, client_a, url):
    response = client_a.get(url.format(**objects))
    assert response.status_code == 302 and response.url.startswith("/connexion/")


@pytest.mark.parametrize("url", [url for url, _body in ACTIONS])
def test_actions_reject_get(objects, client_a, commune_a, url):
    as_role(client_a, commune_a, Role.FINANCE)
    assert client_a.get(url.format(**objects)).status_code == 405


def test_the_pdf_requires_the_finance_capability(objects, client_a, commune_a):
    as_role(client_a, commune_a, Role.SCHOOL_LIFE)
    assert client_a.get("/agents/finances/rapprochement/cloture/2026/4/rapport.pdf"
                        ).status_code == 403


def test_another_communes_finance_agent_sees_nothing_of_this_commune(objects, client_b,
                                                                     commune_b):
    as_role(client_b, commune_b, Role.FINANCE)
    assert client_b.get(PAGES[2].format(**objects)).status_code == 404
    assert client_b.post(ACTIONS[2][0].format(**objects), {"note": "x"}).status_code == 404
    page = client_b.get("/agents/finances/rapprochement/?mois=2026-04")
    assert page.status_code == 200 and b"po_matrix" not in page.content
    assert not page.context["open_anomalies"]
    with commune_b:
        assert not Anomaly.objects.exists()
