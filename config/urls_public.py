"""URLs of the vendor console (public schema hosts)."""

from django.urls import include, path

from accounts.urls import urlpatterns as account_urls
from tenants import views

urlpatterns = [
    path("", views.console, name="home"),
    path("", views.console, name="console"),
    path("communes/nouvelle/", views.onboard, name="onboard"),
    path("communes/<int:commune_id>/suspendre/", views.suspend, name="commune_suspend"),
    path("communes/<int:commune_id>/reactiver/", views.reactivate, name="commune_reactivate"),
    path("communes/<int:commune_id>/paiement-en-ligne/", views.payment_settings,
         name="commune_payment_settings"),
    path("", include((account_urls, "accounts"))),
]
