from django.urls import path

from portal.views import agent

urlpatterns = [
    path("agents/tableau-de-bord/", agent.agent_dashboard, name="agent_dashboard"),
]
