"""A finance agent invoices last month in a real browser (the progress bar moves while a
real Celery worker computes), reviews the drafts and issues them; then a parent
downloads the invoice PDF from the family portal.

Headless Chromium (Debian's ``chromium`` via Playwright) talks to a live server thread
about a committed commune of its own; the worker runs in a thread on the in-memory
broker. Every step is a click on the page; names come from the French catalogue.
"""

import io
from datetime import timedelta
from types import SimpleNamespace

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django.utils import formats, timezone, translation

from accounts.roles import Role
from config.celery import app
from portal.models import Guardian
from tests.browser import (
    DESKTOP,
    french,
    live_server,
    phone_browser,
    require_test_database,
    skip_without_browser,
)
from tests.committed import throwaway_commune
from tests.conftest import PASSWORD, make_user
from tests.treasury.factories import book, make_household, make_priced_unit, weekdays
from treasury.models import Invoice, InvoiceStatus, InvoicingRun, RunStatus

SLUG = "regie"
AGENT = "regisseur@regie.test"
PARENT = "parent@regie.test"


@pytest.fixture
def finance_site(request, django_db_blocker, monkeypatch):
    skip_without_browser()
    require_test_database(request)
    with throwaway_commune(django_db_blocker, SLUG) as commune:
        make_user(commune, AGENT, role=Role.FINANCE)
        parent = make_user(commune, PARENT)
        last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
        with commune:
            unit = make_priced_unit()
            families = []
            for name in ("Martin", "Durand", "Petit"):
                family, (child,) = make_household(name)
                book(child, unit, weekdays(last_month, 6))
                families.append(family)
            Guardian.objects.filter(family=families[0]).update(user=parent)
        connection.set_schema_to_public()
        with django_db_blocker.unblock(), start_worker(app, pool="solo",
                                                       perform_ping_check=False,
                                                       shutdown_timeout=10), \
                live_server() as server, phone_browser(monkeypatch, screen=DESKTOP) as page:
            yield SimpleNamespace(commune=commune, page=page, month=last_month,
                                  family=families[0],
                                  url=f"http://{commune.domains.get().domain}:{server.port}")


def field(label: str) -> str:
    return french(label) + french(":")


def log_in(page, url, email):
    page.goto(url + "/")
    page.get_by_label(field("E-mail address"), exact=True).fill(email)
    page.get_by_label(field("Password"), exact=True).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name=french("Log in"), exact=True).click()


def test_a_finance_agent_invoices_a_month_and_a_parent_downloads_the_pdf(finance_site):
    from pypdf import PdfReader

    site, page = finance_site, finance_site.page
    log_in(page, site.url, AGENT)
    menu = page.get_by_role("navigation", name=french("Main menu"))
    with page.expect_navigation():
        menu.get_by_role("link", name=french("Invoicing"), exact=True).click()
    # The month proposed is last month; start the run.
    assert page.get_by_label(field("Month to invoice")).input_value() == f"{site.month:%Y-%m}"
    with page.expect_navigation():
        page.get_by_role("button", name=french("Start the invoicing")).click()
    assert page.locator("progress").count() == 1
    # The worker computes; the page polls, then reloads itself on the review.
    issue = page.get_by_role("button", name=french("Issue the invoices"))
    issue.wait_for(timeout=30_000)
    assert page.locator("progress").get_attribute("value") == "100"
    with translation.override("fr"):
        month = formats.date_format(site.month, "F Y")
    assert month in page.locator("h1").inner_text()
    drafts = page.locator("#docs-title + .table-wrap tbody tr")
    assert drafts.count() == 3
    with page.expect_navigation():
        issue.click()
    # Issuing runs in the worker too; the page comes back with the numbered invoices.
    page.get_by_role("link", name=f"F{timezone.localdate().year}-00001").wait_for(timeout=30_000)
    with site.commune:
        run = InvoicingRun.objects.get()
        assert run.status == RunStatus.ISSUED
        assert set(Invoice.objects.values_list("status", flat=True)) == {InvoiceStatus.ISSUED}
        number = Invoice.objects.get(family=site.family).number
    with page.expect_navigation():
        page.get_by_role("button", name=french("Log out")).click()

    # The parent finds the invoice and downloads its PDF.
    log_in(page, site.url, PARENT)
    with page.expect_navigation():
        page.get_by_role("navigation", name=french("Main menu")).get_by_role(
            "link", name=french("Invoices"), exact=True).click()
    link = page.get_by_role("link", name=french("Download %(number)s (PDF)") % {
        "number": number})
    with page.expect_download() as download_info:
        link.click()
    data = open(download_info.value.path(), "rb").read()
    assert data.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert number in text and "Martin" in text
