import pytest

from tests.conftest import HOST_A, VENDOR_HOST


@pytest.mark.parametrize("host", [HOST_A, VENDOR_HOST, "10.0.0.8", "inconnue.parvis.test"])
def test_healthz_answers_on_every_host(client, db, host):
    response = client.get("/healthz", HTTP_HOST=host)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_healthz_reports_a_broker_that_does_not_answer(client, db, settings):
    from config.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz", HTTP_HOST=HOST_A)
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 503
    assert response.json()["broker"] == "error" and response.json()["database"] == "ok"
