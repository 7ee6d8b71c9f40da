"""Start-up smoke tests: the deploy step (``setup_platform``) and ``make run`` (``rundev``).

``setup_platform`` runs in-process against this session's test database (what pytest-django
points Django at), twice. ``rundev`` runs as a real subprocess tree (web, Celery worker and
beat, the local fake Stripe) on a throwaway database of the embedded server, created here
by ``manage.py setup_platform`` and dropped at the end, with its own PARVIS_DATA_DIR (broker
folders, beat schedule, media) in a temporary folder: the developer's database and queue
are never touched.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from io import StringIO
from pathlib import Path

import psutil
import psycopg
import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from psycopg import sql

from config.env import database_url
from tenants.models import Commune, Domain
from tenants.selectors import tenant_schemas_behind
from tests.browser import require_test_database

BASE_DIR = Path(settings.BASE_DIR)
TEMPLATE = settings.TENANT_BASE_SCHEMA


# --- setup_platform, in-process on the test database --------------------------------

@pytest.fixture
def autocommit_db(request, django_db_blocker):
    """Database access without the per-test transaction: ``migrate_schemas
    --executor=multiprocessing`` closes the connection and forks workers that need
    committed data. Nothing is written here (the platform is already set up), apart
    from migrations written since the session's database was created."""
    require_test_database(request)  # run alone, the test would reach the dev database
    assert connection.settings_dict["NAME"] == connection.settings_dict["TEST"]["NAME"], (
        "not the session's test database")
    with django_db_blocker.unblock():
        yield
        connection.set_schema_to_public()
    connection.close()


def unapplied_migrations(schema_name: str) -> list[str]:
    connection.set_schema(schema_name, include_public=False)
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    finally:
        connection.set_schema_to_public()
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def missing_tables(schema_name: str) -> list[str]:
    """Tables of the tenant apps' models that the schema lacks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema = %s", [schema_name])
        present = {row[0] for row in cursor.fetchall()}
    wanted = {model._meta.db_table
              for label in ("core", "accounts", "portal", "treasury", "payments")
              for model in apps.get_app_config(label).get_models(include_auto_created=True)
              if model._meta.managed and not model._meta.proxy}
    return sorted(wanted - present)


def platform_state() -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TEMPLATE}.django_migrations")
        template_migrations = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM public.django_migrations")
        public_migrations = cursor.fetchone()[0]
    return {
        "communes": sorted(Commune.objects.values_list("schema_name", "kind")),
        "domains": sorted(Domain.objects.values_list("domain", "tenant__schema_name",
                                                     "is_primary")),
        "template_migrations": template_migrations,
        "public_migrations": public_migrations,
    }


def run_setup_platform() -> str:
    out = StringIO()
    call_command("setup_platform", verbosity=0, stdout=out)
    return out.getvalue()


def test_setup_platform_is_idempotent_and_keeps_the_template_migrated(autocommit_db):
    # The first run may apply migrations written since this session's database was
    # created (the working tree is shared); the second must change nothing at all.
    assert "Platform ready." in run_setup_platform()
    before = platform_state()
    assert (TEMPLATE, "template") in before["communes"]
    assert "Platform ready." in run_setup_platform()
    assert platform_state() == before  # nothing created, duplicated or re-applied
    assert unapplied_migrations("public") == []
    assert unapplied_migrations(TEMPLATE) == []
    assert missing_tables(TEMPLATE) == []
    # The template is never served (no domain); every vendor host belongs to public.
    assert not [domain for domain in before["domains"] if domain[1] == TEMPLATE]
    assert {host for host, schema, _primary in before["domains"] if schema == "public"} >= set(
        settings.VENDOR_HOSTS)


def test_a_deploy_without_new_migrations_checks_the_schemas_instead_of_migrating(
        autocommit_db, monkeypatch):
    from tenants.management.commands import setup_platform

    run_setup_platform()
    assert tenant_schemas_behind() == []
    calls = []
    real_call_command = setup_platform.call_command
    monkeypatch.setattr(setup_platform, "call_command",
                        lambda *args, **kwargs: calls.append(kwargs) or
                        real_call_command(*args, **kwargs))
    out = StringIO()
    call_command("setup_platform", verbosity=1, stdout=out)
    assert "nothing to migrate" in out.getvalue()
    assert [kwargs for kwargs in calls if kwargs.get("tenant")] == []  # public only
    assert [kwargs.get("shared") for kwargs in calls] == [True]


def test_a_schema_missing_a_migration_is_found_and_gets_migrated(db, monkeypatch):
    from tenants.management.commands import setup_platform

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM beta.django_migrations WHERE app = 'treasury' "
                       "AND name = '0005_line_references_by_statement'")
    assert tenant_schemas_behind() == ["beta"]
    calls = []
    monkeypatch.setattr(setup_platform, "call_command",
                        lambda *args, **kwargs: calls.append((args, kwargs)))
    out = StringIO()
    call_command("setup_platform", verbosity=1, stdout=out)
    assert "1 schema(s) behind the code: beta" in out.getvalue()
    assert calls[-1][0] == ("migrate_schemas",) and calls[-1][1]["tenant"] is True


# --- rundev, as a subprocess tree on a throwaway database ---------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _maintenance_connection():
    """The server's ``postgres`` database (embedded, or the one of ``DATABASE_URL``)."""
    server = settings.DATABASES["default"]
    params = {"host": server["HOST"] or None, "port": server["PORT"] or None,
              "user": server["USER"] or "postgres", "password": server["PASSWORD"] or None}
    return psycopg.connect(**{key: value for key, value in params.items() if value},
                           dbname="postgres", autocommit=True)


@pytest.fixture(scope="module")
def throwaway_platform(tmp_path_factory):
    """A database of its own on the test server, set up by ``manage.py setup_platform``
    as ``make install`` would, and the environment that points every process at it."""
    name = f"parvis_smoke_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DJANGO", "SENTRY", "CELERY", "STRIPE", "PARVIS", "PYTEST"))
           and key not in ("DATABASE_URL", "REDIS_URL", "MEDIA_ROOT", "SITE_PORT")}
    env.update({
        "PARVIS_ENV": "dev",
        "DATABASE_URL": database_url({**settings.DATABASES["default"], "NAME": name}),
        # Broker folders, beat schedule and media: not the developer's .data.
        "PARVIS_DATA_DIR": str(tmp_path_factory.mktemp("rundev-data")),
        "LOCALSTRIPE_PORT": str(_free_port()),
        "PYTHONUNBUFFERED": "1",
    })
    with _maintenance_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        result = subprocess.run([sys.executable, "manage.py", "setup_platform", "--verbosity", "0"],
                                cwd=BASE_DIR, env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        assert "Platform ready." in result.stdout
        yield env
    finally:
        with _maintenance_connection() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))


class Rundev:
    """``manage.py rundev`` in its own session, its output in a file. Every process of the
    tree carries a token in its environment, so that late grandchildren (the runserver
    reloader's child, the worker's pool) and orphans are found too."""

    def __init__(self, env: dict, log: Path):
        self.port = _free_port()
        self.log = log
        self.token = uuid.uuid4().hex
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "rundev", "--addr", f"127.0.0.1:{self.port}"],
                cwd=BASE_DIR, env={**env, "PARVIS_SMOKE_RUN": self.token}, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def tree(self) -> list[psutil.Process]:
        """Live processes of this run, rundev itself excluded."""
        found = []
        for process in psutil.process_iter():
            if process.pid == self.process.pid:
                continue
            try:
                if process.environ().get("PARVIS_SMOKE_RUN") == self.token and _alive(process):
                    found.append(process)
            except psutil.Error:
                pass
        return found

    def wait_for_children(self, parts: dict[str, str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cmdlines = [_cmdline(p) for p in self.tree()]
            if all(any(marker in line for line in cmdlines) for marker in parts.values()):
                return
            assert self.process.poll() is None, self.output()
            time.sleep(0.1)
        raise AssertionError(f"not all of {list(parts)} started:\n{self.output()}")

    def wait_for_output(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            assert self.process.poll() is None, self.output()
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared:\n{self.output()}")

    def stop(self, timeout: float = 30) -> list[str]:
        """SIGTERM rundev alone (not its group); return what is still running after."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=timeout)
        deadline = time.monotonic() + 5
        while (left := self.tree()) and time.monotonic() < deadline:
            time.sleep(0.2)
        return [_cmdline(process) for process in left]

    def kill_leftovers(self) -> None:
        """Clean-up after a failure: only the processes this test started, by pid."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        for process in self.tree():
            try:
                process.kill()
            except psutil.Error:
                pass


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _cmdline(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


RUNDEV_PARTS = {
    "web": "runserver",
    "worker": "celery -A config worker",
    "beat": "celery -A config beat",
    "fakestripe": "-m payments.fakestripe",
}


def _healthz(port: int, timeout: float) -> tuple[int, dict]:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:  # 503: a part is not ready yet
            last = (exc.code, json.loads(exc.read() or b"{}"))
        except OSError as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"/healthz never answered 200 (last: {last})")


def _send_fan_out(data_dir: str) -> str:
    """Queue the public-schema fan-out task on rundev's filesystem broker."""
    from celery import Celery

    queue = str(Path(data_dir) / "celery" / "queue")
    producer = Celery("smoke", broker="filesystem://", set_as_current=False)
    producer.conf.broker_transport_options = {
        "data_folder_in": queue, "data_folder_out": queue,
        "control_folder": str(Path(data_dir) / "celery" / "control")}
    try:
        result = producer.send_task("tenants.tasks.fan_out_to_communes",
                                    args=["core.tasks.schema_probe_task"],
                                    headers={"_schema_name": "public"})
        return result.id
    finally:
        producer.close()


def test_commands_queue_tasks_on_a_fresh_machine_before_any_worker(throwaway_platform):
    """``make run`` loads the demo (which queues tasks) before ``rundev`` starts the
    worker: on a fresh data folder the filesystem broker's folders must already exist."""
    broker = Path(throwaway_platform["PARVIS_DATA_DIR"]) / "celery"
    shutil.rmtree(broker, ignore_errors=True)  # as on a machine where nothing ran yet

    def manage(*args):
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR,
                                env=throwaway_platform, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    manage("onboard_commune", "--slug", "neuve", "--name", "Neuve",
           "--domain", "neuve.parvis.test")
    assert "2026-11" in manage("run_invoicing", "--commune", "neuve", "--period", "2026-11")
    assert len(list((broker / "queue").iterdir())) == 1  # the compute task, for the worker


def test_rundev_serves_healthz_runs_a_task_and_stops_every_child(throwaway_platform, tmp_path):
    rundev = Rundev(throwaway_platform, tmp_path / "rundev.log")
    try:
        status, body = _healthz(rundev.port, timeout=30)
        assert status == 200
        assert body == {"status": "ok", "database": "ok", "broker": "ok"}
        rundev.wait_for_children(RUNDEV_PARTS, timeout=10)
        # A real round trip through the filesystem broker: the worker runs the task in
        # the public schema of the throwaway database (no commune there: 0 queued).
        rundev.wait_for_output("ready.", timeout=20)
        task_id = _send_fan_out(throwaway_platform["PARVIS_DATA_DIR"])
        rundev.wait_for_output(f"fan_out_to_communes[{task_id}] succeeded", timeout=20)
        assert "beat: Starting" in rundev.output()
        assert rundev.stop() == []
        assert rundev.process.returncode == 0
    finally:
        rundev.kill_leftovers()


def test_rundev_stopped_while_starting_leaves_no_child(throwaway_platform, tmp_path):
    """SIGTERM as soon as the children exist (rundev is still waiting for the fake
    Stripe then registering its webhooks): nothing may be left running."""
    rundev = Rundev(throwaway_platform, tmp_path / "rundev.log")
    try:
        rundev.wait_for_children(RUNDEV_PARTS, timeout=15)
        assert rundev.stop() == []
    finally:
        rundev.kill_leftovers()
