from django.http import JsonResponse

from core.health import health_status


class HealthCheckMiddleware:
    """Answer ``/healthz`` on any host, before tenant routing and host checks.

    Load balancers probe by IP or internal name; the answer says nothing about any
    commune, only whether the database and the broker respond (503 if not).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path in ("/healthz", "/healthz/"):
            healthy, body = health_status()
            response = JsonResponse(body, status=200 if healthy else 503)
            response["Cache-Control"] = "no-store"
            return response
        return self.get_response(request)


class SentryTagMiddleware:
    """Tag error reports with the commune's schema name (never a person's data)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            import sentry_sdk

            sentry_sdk.set_tag("commune", tenant.schema_name)
        return self.get_response(request)
