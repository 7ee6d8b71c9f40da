"""The Celery application.

``tenant-schemas-celery``'s ``CeleryApp`` puts the current schema name in every
task's headers when the task is sent, and the worker switches to that schema
before running it. ``ParvisTask`` adds two guards so that nothing ever silently
runs in the wrong schema:

* a task declared ``scope = "commune"`` (the default) refuses to be sent from, or
  to run in, the public schema;
* ``delay_on_commit`` / ``apply_async_on_commit`` capture the schema *when called*,
  not when the transaction commits (the connection may have moved on by then).
"""

import os

from django.db import connection
from tenant_schemas_celery.app import CeleryApp
from tenant_schemas_celery.task import TenantTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

PUBLIC_SCHEMA = "public"


class WrongSchemaError(RuntimeError):
    """A task was sent or run outside the schema it belongs to."""


class ParvisTask(TenantTask):
    abstract = True
    # "commune": runs in the schema of the commune that queued it (required).
    # "public": platform-wide work (e.g. fanning out periodic tasks).
    scope = "commune"

    def _check_schema(self, schema_name: str, when: str) -> None:
        if self.scope == "commune" and schema_name == PUBLIC_SCHEMA:
            raise WrongSchemaError(
                f"Task {self.name} belongs to a commune but was {when} in the public schema."
            )
        if self.scope == "public" and schema_name != PUBLIC_SCHEMA:
            raise WrongSchemaError(
                f"Task {self.name} is platform-wide but was {when} in schema {schema_name}."
            )

    def apply_async(self, args=None, kwargs=None, task_id=None, producer=None, link=None,
                    link_error=None, shadow=None, **options):
        headers = options.get("headers") or {}
        schema_name = headers.get("_schema_name", connection.schema_name)
        self._check_schema(schema_name, "queued")
        options["headers"] = {**headers, "_schema_name": schema_name}
        return super().apply_async(args, kwargs, task_id, producer, link, link_error, shadow,
                                   **options)

    def apply_async_on_commit(self, args=None, kwargs=None, **options):
        headers = options.get("headers") or {}
        options["headers"] = {**headers, "_schema_name": connection.schema_name}
        self._check_schema(options["headers"]["_schema_name"], "queued")
        return super().apply_async_on_commit(args, kwargs, **options)

    def delay_on_commit(self, *args, **kwargs):
        return self.apply_async_on_commit(args, kwargs)

    def __call__(self, *args, **kwargs):
        self._check_schema(connection.schema_name, "run")
        return super().__call__(*args, **kwargs)


app = CeleryApp("parvis", task_cls="config.celery:ParvisTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
