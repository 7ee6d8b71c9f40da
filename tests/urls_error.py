"""Tenant URLs plus a page that fails, for the error-reporting test."""

from django.urls import path

from config.urls_tenant import urlpatterns as tenant_urlpatterns


def failing_view(request):
    child_name = request.POST["enfant"]  # a local variable that must not be sent
    raise ValueError(f"calcul impossible pour {request.user.email} ({len(child_name)})")


urlpatterns = [path("erreur/", failing_view), *tenant_urlpatterns]
