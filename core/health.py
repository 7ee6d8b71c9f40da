"""Liveness/readiness checks used by ``/healthz``."""

from django.db import connection


def check_database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def check_broker(timeout: float = 2.0) -> bool:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            return conn.connected
    except Exception:
        return False


def health_status() -> tuple[bool, dict]:
    database = check_database()
    broker = check_broker()
    body = {
        "status": "ok" if database and broker else "error",
        "database": "ok" if database else "error",
        "broker": "ok" if broker else "error",
    }
    return database and broker, body
