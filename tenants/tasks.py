"""Platform-wide tasks (public schema)."""

from celery import shared_task

from tenants.selectors import active_commune_schemas


@shared_task(scope="public")
def fan_out_to_communes(task_name: str, spread_seconds: int = 600) -> int:
    """Queue ``task_name`` once per active commune, each in its own schema.

    Periodic tasks are scheduled once (in public) and fanned out here, spread
    over ``spread_seconds`` so that a thousand communes do not hit the database
    at the same instant. Suspended communes and the template are skipped.
    """
    from config.celery import app

    schemas = active_commune_schemas()
    step = spread_seconds / max(len(schemas), 1)
    for index, schema_name in enumerate(schemas):
        app.send_task(
            task_name,
            countdown=round(index * step, 1),
            headers={"_schema_name": schema_name},
        )
    return len(schemas)
