"""Content-Security-Policy of the pages that load Stripe.js (and only those)."""

from urllib.parse import urlsplit

from django.conf import settings


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def stripe_csp() -> str:
    js = _origin(settings.STRIPE_JS_URL)
    api = _origin(settings.STRIPE_API_BASE) if settings.STRIPE_API_BASE \
        else "https://api.stripe.com"
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' {js}",
        f"frame-src {js} https://hooks.stripe.com",
        f"connect-src 'self' {api} {js}",
        "img-src 'self' data:",
        "style-src 'self' 'unsafe-inline'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    ])


def with_stripe_csp(response):
    response["Content-Security-Policy"] = stripe_csp()
    return response
