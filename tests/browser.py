"""Browser tests: a live server thread and Debian's Chromium driven by Playwright.

The server is Django's ``LiveServerThread`` (not pytest-django's ``live_server``, whose
``transactional_db`` would flush the public schema, and the session's test communes with
it): use it with committed data (``tests.committed.throwaway_commune``) and with database
access unblocked. Chromium resolves every ``*.parvis.test`` host to 127.0.0.1, so a
commune's own domain reaches the server (``http://<slug>.parvis.test:<port>/``).
"""

import os
from contextlib import contextmanager

import pytest
from django.utils import translation

CHROMIUM = os.environ.get("PARVIS_CHROMIUM", "/usr/bin/chromium")

# An iPhone 12-15 sized screen.
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3,
         "is_mobile": True, "has_touch": True, "locale": "fr-FR",
         "timezone_id": "Europe/Paris"}
# An office screen (finance agents work at a desk).
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "fr-FR",
           "timezone_id": "Europe/Paris", "accept_downloads": True}


def skip_without_browser():
    """Skip (with the reason) when Debian's chromium or the playwright package is absent."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (Debian's browser)")
    pytest.importorskip("playwright.sync_api",
                        reason="the playwright package is missing: pip install -r "
                               "requirements-dev.txt (no `playwright install` needed)")


def require_test_database(request):
    """Set up the session's test database for a test that works outside of any transaction.

    pytest-django creates it only if a collected test asks for it (``db``, a ``django_db``
    mark), and ``tests/conftest.py`` then writes its communes to whatever database is
    configured: run alone, a committed-data test would reach the development database.
    The mark is added after pytest-django's autouse fixtures have run, so it wraps nothing
    in a transaction; it only tells ``django_db_setup`` which database to create."""
    request.node.add_marker(pytest.mark.django_db)
    request.getfixturevalue("django_db_setup")


@contextmanager
def live_server():
    """A live server thread on 127.0.0.1 and a free port (static files served too)."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    thread = LiveServerThread("127.0.0.1", StaticFilesHandler, connections_override={},
                              port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait(timeout=30)
    if thread.error:
        raise thread.error
    try:
        yield thread
    finally:
        thread.terminate()


@contextmanager
def phone_browser(monkeypatch, screen=PHONE):
    """A headless Chromium page on a phone-sized, touch screen (or ``screen``), in French."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Playwright's sync API marks an event loop as running in this thread between its
    # calls. Django then refuses ORM calls (unless allowed) and keeps the database
    # connections opened meanwhile apart from the thread's own: they are closed here,
    # before the loop stops, or they would outlive the test database.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--no-proxy-server", "--lang=fr-FR",
                  "--host-resolver-rules=MAP *.parvis.test 127.0.0.1"])
        try:
            context = browser.new_context(**screen)
            context.set_default_timeout(10_000)
            yield context.new_page()
        finally:
            connections.close_all()
            browser.close()


def french(message: str) -> str:
    """What the French site shows for ``message`` (the catalogue in use, whatever its
    wording): find elements the way a user reads them without hard-coding translations."""
    with translation.override("fr"):
        return translation.gettext(message)


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than the screen (0: no horizontal scroll)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
