"""Treasury URLs on a commune's host (namespace ``treasury``)."""

from django.urls import path

from treasury.views import agent, documents, parent

app_name = "treasury"
FIN = "agents/finances/"

urlpatterns = [
    path(FIN, agent.finance_home, name="home"),
    path(f"{FIN}facturation/lancer/", agent.run_start, name="run_start"),
    path(f"{FIN}facturation/<int:run_id>/", agent.run_detail, name="run"),
    path(f"{FIN}facturation/<int:run_id>/progression/", agent.run_progress, name="run_progress"),
    path(f"{FIN}facturation/<int:run_id>/emettre/", agent.run_issue, name="run_issue"),
    path(f"{FIN}facturation/<int:run_id>/abandonner/", agent.run_discard, name="run_discard"),
    path(f"{FIN}factures/<int:invoice_id>/", agent.invoice_detail, name="invoice"),
    path(f"{FIN}factures/<int:invoice_id>/avoir/", agent.invoice_credit_view,
         name="invoice_credit"),
    path(f"{FIN}factures/<int:invoice_id>/annuler/", agent.invoice_cancel_view,
         name="invoice_cancel"),
    path(f"{FIN}familles/<int:family_id>/", agent.family_account, name="account"),
    path(f"{FIN}familles/<int:family_id>/paiement/", agent.payment_new, name="payment_new"),
    path(f"{FIN}familles/<int:family_id>/remboursement/", agent.refund_new, name="refund_new"),
    path(f"{FIN}impayes/", agent.unpaid, name="unpaid"),
    path(f"{FIN}tarifs/", agent.tariffs, name="tariffs"),
    path(f"{FIN}tarifs/grille/", agent.grid_new, name="grid_new"),
    path(f"{FIN}tarifs/unite/", agent.tariff_new, name="tariff_new"),
    path("factures/", parent.parent_invoices, name="parent_invoices"),
    path("factures/compte/", parent.parent_statement, name="parent_statement"),
    path("documents/factures/<int:invoice_id>.pdf", documents.invoice_pdf_view,
         name="invoice_pdf"),
    path("documents/recus/<int:payment_id>.pdf", documents.receipt_pdf_view, name="receipt_pdf"),
    path("documents/familles/<int:family_id>/attestation-fiscale-<int:year>.pdf",
         documents.tax_certificate_view, name="tax_certificate"),
]
