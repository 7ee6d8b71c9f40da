"""Diagnostic task: where does a task really run? (ops: ``celery -A config call``)."""

from celery import shared_task
from django.db import connection


@shared_task
def schema_probe_task() -> dict:
    """Return the schema the task ran in, as Django and as PostgreSQL see it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schemas(false)")
        search_path = cursor.fetchone()[0]
    return {"schema": connection.schema_name, "search_path": list(search_path)}
