"""URLs of a commune's site (the host names a commune)."""

from django.urls import include, path

from accounts.urls import commune_urlpatterns
from accounts.urls import urlpatterns as account_urls
from portal.api import api
from portal.views.home import home

urlpatterns = [
    path("", home, name="home"),
    path("", include((account_urls + commune_urlpatterns, "accounts"))),
    path("", include("portal.urls")),
    path("", include("treasury.urls")),
    path("", include("payments.urls")),
    path("api/v1/", api.urls),
]
