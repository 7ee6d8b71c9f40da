from django.shortcuts import render

from tenants.models import CommuneKind


class CommuneStatusMiddleware:
    """A suspended commune's site shows a maintenance page for every URL (HTTP 503):
    no page, no login, no API, whatever session cookie the browser holds."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if tenant is not None and tenant.kind == CommuneKind.COMMUNE and tenant.is_suspended:
            response = render(request, "tenants/suspended.html", {"commune": tenant}, status=503)
            response["Retry-After"] = "3600"
            response["Cache-Control"] = "no-store"
            return response
        return self.get_response(request)
