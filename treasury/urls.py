"""Treasury URLs on a commune's host (namespace ``treasury``)."""

from django.urls import path

from treasury.views import agent, documents, helios, parent

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
    path(f"{FIN}helios/", helios.helios_home, name="helios"),
    path(f"{FIN}helios/parametres/", helios.helios_settings, name="helios_settings"),
    path(f"{FIN}helios/bordereaux/creer/", helios.bordereau_build, name="helios_build"),
    path(f"{FIN}helios/bordereaux/<int:bordereau_id>/", helios.bordereau_detail,
         name="helios_bordereau"),
    path(f"{FIN}helios/bordereaux/<int:bordereau_id>/fichier/", helios.bordereau_download,
         name="helios_download"),
    path(f"{FIN}helios/bordereaux/<int:bordereau_id>/liberer/", helios.bordereau_release,
         name="helios_release"),
    path(f"{FIN}helios/bordereaux/<int:bordereau_id>/abandonner/", helios.bordereau_discard,
         name="helios_discard"),
    path(f"{FIN}helios/import/", helios.helios_import, name="helios_import"),
    path(f"{FIN}helios/regie/", helios.regie_statement, name="helios_regie"),
    path("factures/", parent.parent_invoices, name="parent_invoices"),
    path("factures/compte/", parent.parent_statement, name="parent_statement"),
    path("documents/factures/<int:invoice_id>.pdf", documents.invoice_pdf_view,
         name="invoice_pdf"),
    path("documents/recus/<int:payment_id>.pdf", documents.receipt_pdf_view, name="receipt_pdf"),
    path("documents/familles/<int:family_id>/attestation-fiscale-<int:year>.pdf",
         documents.tax_certificate_view, name="tax_certificate"),
]
