from django.urls import path

from portal.views import parent, parent_family

urlpatterns = [
    path("famille/", parent.parent_home, name="parent_home"),
    path("famille/foyers/<int:family_id>/coordonnees/", parent.family_contact,
         name="parent_family_contact"),
    path("famille/enfants/<int:child_id>/calendrier/", parent.child_calendar,
         name="parent_calendar"),
    path("famille/enfants/<int:child_id>/reserver/", parent.reservation_book_day,
         name="parent_book_day"),
    path("famille/enfants/<int:child_id>/reserver-periode/", parent.reservation_pattern,
         name="parent_book_pattern"),
    path("famille/reservations/<int:reservation_id>/annuler/", parent.reservation_cancel_day,
         name="parent_cancel_booking"),
    path("famille/enfants/<int:child_id>/absences/", parent.child_absences_page,
         name="parent_absences"),
    path("famille/historique/", parent.family_history_page, name="parent_history"),
    path("famille/documents/", parent_family.documents_page, name="parent_documents"),
    path("famille/foyers/<int:family_id>/documents/envoyer/", parent_family.document_upload,
         name="parent_document_upload"),
    path("famille/foyers/<int:family_id>/enfants/<int:child_id>/personnes-autorisees/ajouter/",
         parent_family.pickup_new, name="parent_pickup_new"),
    path("famille/foyers/<int:family_id>/personnes-autorisees/<int:pickup_id>/retirer/",
         parent_family.pickup_delete, name="parent_pickup_remove"),
]
