"""Absolute URLs of a host (activation links, e-mails sent from tasks)."""

from django.conf import settings


def site_url(host: str) -> str:
    port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
    return f"{settings.SITE_SCHEME}://{host}{port}"
