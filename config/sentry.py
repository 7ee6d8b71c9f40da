"""Error reporting with sentry-sdk, only when SENTRY_DSN is set, with no personal data.

Residents' names, e-mail addresses and children's data must never leave the
platform: local variables are not captured, default PII is off, request bodies,
cookies, headers, query strings and user details are dropped, and any e-mail
address left in a message is masked. Events are tagged with the commune's schema
(by ``core.middleware.SentryTagMiddleware`` and the Celery task signal below).
"""

import re

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
MASK = "[supprimé]"


def _scrub(value):
    if isinstance(value, str):
        return EMAIL_RE.sub(MASK, value)
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def before_send(event, hint):
    request = event.get("request")
    if request:
        event["request"] = {key: request[key] for key in ("url", "method") if key in request}
        event["request"]["url"] = _scrub(event["request"].get("url", ""))
    event.pop("user", None)
    event.pop("extra", None)
    for key in ("exception", "logentry", "message", "breadcrumbs"):
        if key in event:
            event[key] = _scrub(event[key])
    return event


def _tag_task_with_commune(task=None, **kwargs):
    from django.db import connection

    sentry_sdk.set_tag("commune", getattr(connection, "schema_name", "public"))


def init_sentry(*, dsn: str, environment: str, transport=None) -> None:
    from celery.signals import task_prerun

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=before_send,
        before_breadcrumb=lambda crumb, hint: _scrub(crumb),
        traces_sample_rate=0.0,
        transport=transport,
    )
    task_prerun.connect(_tag_task_with_commune, weak=False, dispatch_uid="parvis_sentry_tag")
