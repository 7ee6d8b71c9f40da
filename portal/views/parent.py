"""Parent pages (phone first). Every view starts with a scoped getter from portal.access."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from portal.access import parent_families


@login_required
def parent_home(request):
    families = parent_families(request.user).prefetch_related("children")
    return render(request, "portal/parent/home.html", {"families": families})
