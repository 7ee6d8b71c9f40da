"""Tasks run in the schema of the commune that queued them, with a real worker."""

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import before_task_publish
from django.db import connection, transaction

from accounts.tasks import clear_expired_sessions_task
from config.celery import WrongSchemaError, app
from core.tasks import schema_probe_task
from tenants.models import CommuneStatus
from tenants.tasks import fan_out_to_communes


@pytest.fixture(scope="module")
def worker(django_db_blocker):
    # In-process worker on the in-memory broker (test settings); the tasks open
    # their own database connections, so they see committed data only.
    with django_db_blocker.unblock(), start_worker(app, pool="solo", perform_ping_check=False,
                                                   shutdown_timeout=10):
        yield


def test_a_task_runs_in_the_schema_of_the_commune_that_queued_it(worker, commune_a, commune_b):
    with commune_a:
        result_a = schema_probe_task.delay()
    with commune_b:
        result_b = schema_probe_task.delay()
    assert result_a.get(timeout=20) == {"schema": "alpha", "search_path": ["alpha", "public"]}
    assert result_b.get(timeout=20)["schema"] == "beta"


def test_a_task_queued_after_commit_keeps_the_schema_it_was_queued_in(
        worker, commune_a, commune_b, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with commune_a, transaction.atomic():
            schema_probe_task.delay_on_commit()
    connection.set_tenant(commune_b)  # the connection has moved on when the commit fires
    published = []

    def on_publish(sender=None, headers=None, **kwargs):
        published.append(headers)

    before_task_publish.connect(on_publish)
    try:
        for callback in callbacks:
            callback()
    finally:
        before_task_publish.disconnect(on_publish)
    assert [h["_schema_name"] for h in published] == ["alpha"]
    assert app.AsyncResult(published[0]["id"]).get(timeout=20)["schema"] == "alpha"


def test_a_commune_task_cannot_be_queued_from_the_public_schema(db):
    connection.set_schema_to_public()
    with pytest.raises(WrongSchemaError):
        schema_probe_task.delay()


def test_a_commune_task_refuses_to_run_in_the_public_schema(db):
    connection.set_schema_to_public()
    with pytest.raises(WrongSchemaError):
        schema_probe_task()


def test_a_task_for_an_unknown_schema_fails_instead_of_falling_back(worker, db):
    result = app.send_task("core.tasks.schema_probe_task",
                           headers={"_schema_name": "disparue"})
    # The schema switch fails, and the guard stops the task from running in public.
    with pytest.raises(WrongSchemaError, match="public schema"):
        result.get(timeout=20)


def test_periodic_work_fans_out_to_each_active_commune(worker, commune_a, commune_b):
    published = []

    def on_publish(sender=None, headers=None, **kwargs):
        if sender == "core.tasks.schema_probe_task":
            published.append(headers)

    before_task_publish.connect(on_publish)
    try:
        count = fan_out_to_communes.delay("core.tasks.schema_probe_task", spread_seconds=0)
        assert count.get(timeout=20) == 2
    finally:
        before_task_publish.disconnect(on_publish)
    results = [app.AsyncResult(h["id"]).get(timeout=20)["schema"] for h in published]
    assert sorted(results) == ["alpha", "beta"]


def test_the_fan_out_skips_suspended_communes_and_the_template(commune_a, commune_b):
    from tenants.selectors import active_commune_schemas

    type(commune_b).objects.filter(pk=commune_b.pk).update(status=CommuneStatus.SUSPENDED)
    assert active_commune_schemas() == ["alpha"]


def test_the_sessions_housekeeping_task_runs_per_commune(worker, commune_a):
    with commune_a:
        result = clear_expired_sessions_task.delay()
    assert result.get(timeout=20)["schema"] == "alpha"
