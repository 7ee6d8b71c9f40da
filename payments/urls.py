"""Card-payment URLs on a commune's host (namespace ``payments``)."""

from django.urls import path

from payments import views, views_agent, views_reconcile

app_name = "payments"
FIN = "agents/finances/"
REC = f"{FIN}rapprochement/"

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
    path(REC, views_reconcile.reconciliation, name="reconciliation"),
    path(f"{REC}detecter/", views_reconcile.anomalies_detect_view, name="anomalies_detect"),
    path(f"{REC}versements/<int:payout_id>/", views_reconcile.payout_detail, name="payout"),
    path(f"{REC}versements/<int:payout_id>/rapprocher/", views_reconcile.payout_reconcile_view,
         name="payout_reconcile"),
    path(f"{REC}anomalies/<int:anomaly_id>/resoudre/", views_reconcile.anomaly_resolve_view,
         name="anomaly_resolve"),
    path(f"{REC}cloture/<int:year>/<int:month>/", views_reconcile.month_close_view,
         name="month_close"),
    path(f"{REC}cloture/<int:year>/<int:month>/rapport.csv", views_reconcile.month_report_csv,
         name="month_report_csv"),
    path(f"{REC}cloture/<int:year>/<int:month>/rapport.pdf", views_reconcile.month_report_pdf,
         name="month_report_pdf"),
    path("agents/parametres/paiement-en-ligne/", views_agent.online_settings,
         name="online_settings"),
]
