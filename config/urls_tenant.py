"""URLs of a commune's site (the host names a commune)."""

from django.urls import include, path

from accounts import views as account_views
from accounts.urls import commune_urlpatterns
from accounts.urls import urlpatterns as account_urls

urlpatterns = [
    path("", account_views.home, name="home"),
    path("", include((account_urls + commune_urlpatterns, "accounts"))),
]
