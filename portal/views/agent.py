"""Agent pages (desktop and tablet)."""

from django.shortcuts import render

from accounts.access import capability_required
from accounts.roles import Capability


@capability_required(Capability.VIEW_FAMILIES)
def agent_dashboard(request):
    return render(request, "portal/agent/dashboard.html", {})
