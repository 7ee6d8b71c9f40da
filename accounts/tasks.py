"""Per-commune account housekeeping (run for each commune by the beat fan-out)."""

from celery import shared_task
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone


@shared_task
def clear_expired_sessions_task() -> dict:
    """Delete this commune's expired sessions (sessions live in each schema)."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return {"schema": connection.schema_name, "deleted": deleted}
