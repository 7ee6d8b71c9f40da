"""Agent pages under /agents/… (``/agents/`` itself is the accounts' list of agents)."""

from django.urls import path

from portal.views import agent, agent_pickups

FAMILY = "agents/familles/<int:family_id>/"

urlpatterns = [
    path("agents/tableau-de-bord/", agent.agent_dashboard, name="agent_dashboard"),
    path("agents/documents-a-valider/", agent.documents_pending, name="agent_documents_pending"),
    path("agents/absences-a-examiner/", agent.absences_pending, name="agent_absences_pending"),
    path("agents/familles/", agent.family_search, name="agent_families"),
    path("agents/familles/nouvelle/", agent.family_new, name="agent_family_new"),
    path(FAMILY, agent.family_detail, name="agent_family"),
    path(f"{FAMILY}modifier/", agent.family_edit, name="agent_family_edit"),
    path(f"{FAMILY}responsables/ajouter/", agent.guardian_new, name="agent_guardian_new"),
    path(f"{FAMILY}responsables/fusion/", agent.guardian_merge_page,
         name="agent_guardian_merge"),
    path(f"{FAMILY}responsables/<int:guardian_id>/inviter/", agent.guardian_invite_send,
         name="agent_guardian_invite"),
    path(f"{FAMILY}responsables/<int:guardian_id>/modifier/", agent.guardian_edit,
         name="agent_guardian_edit"),
    path(f"{FAMILY}enfants/ajouter/", agent.child_new, name="agent_child_new"),
    path(f"{FAMILY}enfants/<int:child_id>/personnes-autorisees/ajouter/",
         agent_pickups.pickup_new, name="agent_pickup_new"),
    path(f"{FAMILY}personnes-autorisees/<int:pickup_id>/modifier/", agent_pickups.pickup_edit,
         name="agent_pickup_edit"),
    path(f"{FAMILY}personnes-autorisees/<int:pickup_id>/retirer/", agent_pickups.pickup_delete,
         name="agent_pickup_remove"),
    path(f"{FAMILY}documents/<int:document_id>/examen/", agent.document_review,
         name="agent_document_review"),
    path(f"{FAMILY}absences/<int:absence_id>/examen/", agent.absence_decide,
         name="agent_absence_review"),
    path("agents/fusion/enfants/", agent.child_merge_page, name="agent_child_merge"),
    path("agents/pointage/", agent.attendance, name="agent_attendance"),
    path("agents/pointage/enregistrer/", agent.attendance_tap, name="agent_attendance_tap"),
    path("agents/journal/", agent.journal, name="agent_journal"),
]
