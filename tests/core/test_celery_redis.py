"""A real Celery worker process against a real Redis server (Debian's redis-server)."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from tenant_schemas_celery.app import CeleryApp

from config.env import database_url

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(
    REDIS is None, reason="redis-server is not installed (.ci/run installs Debian's package)")
BASE_DIR = Path(settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)], stdout=subprocess.DEVNULL)
    try:
        _wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def redis_worker(redis_url, db):
    db_settings = connection.settings_dict  # the test database, password included
    env = {
        **os.environ,
        "PARVIS_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "DATABASE_URL": database_url(db_settings),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
         "--loglevel=WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=BASE_DIR, env=env)
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_real_worker_on_redis_runs_each_task_in_its_communes_schema(redis_url, redis_worker,
                                                                     commune_a, commune_b):
    producer = CeleryApp("producer", broker=redis_url, backend=redis_url, set_as_current=False)
    try:
        with commune_a:
            result_a = producer.send_task("core.tasks.schema_probe_task")
        with commune_b:
            result_b = producer.send_task("core.tasks.schema_probe_task")
        assert result_a.get(timeout=60) == {"schema": "alpha", "search_path": ["alpha", "public"]}
        assert result_b.get(timeout=60)["schema"] == "beta"
    finally:
        producer.close()
