"""Card-payment URLs on a commune's host (namespace ``payments``)."""

from django.urls import path

from payments import views, views_agent

app_name = "payments"
FIN = "agents/finances/"

urlpatterns = [
    path("paiement/familles/<int:family_id>/", views.pay, name="pay"),
    path("paiement/familles/<int:family_id>/preparer/", views.prepare, name="prepare"),
    path("paiement/<int:attempt_id>/confirmer/", views.confirm, name="confirm"),
    path("paiement/<int:attempt_id>/", views.result, name="result"),
    path("paiement/stripe/webhook/", views.webhook, name="webhook"),
    path(f"{FIN}paiements-en-ligne/", views_agent.card_payments, name="card_payments"),
    path(f"{FIN}paiements-en-ligne/<int:attempt_id>/vu/", views_agent.attempt_reviewed,
         name="attempt_reviewed"),
    path(f"{FIN}paiements/<int:payment_id>/rembourser-carte/", views_agent.card_refund_view,
         name="card_refund"),
    path("agents/parametres/paiement-en-ligne/", views_agent.online_settings,
         name="online_settings"),
]
