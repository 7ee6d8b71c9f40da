from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from accounts.views import home as account_home


@login_required
def home(request):
    """Parents land on their family space, agents on their dashboard."""
    if request.user.is_agent:
        return redirect("portal:agent_dashboard")
    return redirect("portal:parent_home")


__all__ = ["home", "account_home"]
