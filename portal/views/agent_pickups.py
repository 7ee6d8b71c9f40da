"""Agent pages for the people a household authorises to pick up its children.

Reached from the family record; the household and the child or pick-up person are fetched
through scoped getters (404 outside the household), writes go through
``portal.services.pickups``.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import actor_from_request, capability_required
from accounts.roles import Capability
from portal.access import access_family, access_family_child, access_family_pickup
from portal.forms_agent import service_errors
from portal.forms_parent import PickupForm
from portal.services.pickups import pickup_add, pickup_remove, pickup_update

MANAGE = Capability.MANAGE_FAMILIES


def _pickups_url(family) -> str:
    return f"{reverse('portal:agent_family', args=[family.pk])}#personnes-autorisees"


@capability_required(MANAGE)
@require_http_methods(["GET", "POST"])
def pickup_new(request, family_id, child_id):
    family = access_family(request, family_id)
    child = access_family_child(family, child_id)
    form = PickupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pickup = pickup_add(family=family, child=child, actor=actor_from_request(request),
                                **form.cleaned_data)
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("%(name)s may now pick up %(child)s.")
                             % {"name": pickup.name, "child": child.first_name})
            return redirect(_pickups_url(family))
    return render(request, "portal/agent/form.html", {
        "form": form, "family": family, "back_url": _pickups_url(family),
        "title": _("Authorise a person to pick up %(child)s") % {"child": child},
    })


@capability_required(MANAGE)
@require_http_methods(["GET", "POST"])
def pickup_edit(request, family_id, pickup_id):
    family = access_family(request, family_id)
    pickup = access_family_pickup(family, pickup_id)
    form = PickupForm.for_pickup(pickup, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pickup_update(pickup=pickup, actor=actor_from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("Pick-up person saved."))
            return redirect(_pickups_url(family))
    return render(request, "portal/agent/form.html", {
        "form": form, "family": family, "back_url": _pickups_url(family),
        "title": _("%(name)s, authorised to pick up %(child)s")
        % {"name": pickup.name, "child": pickup.child},
    })


@capability_required(MANAGE)
@require_POST
def pickup_delete(request, family_id, pickup_id):
    family = access_family(request, family_id)
    pickup = access_family_pickup(family, pickup_id)
    pickup_remove(pickup=pickup, actor=actor_from_request(request))
    messages.success(request, _("%(name)s may no longer pick up %(child)s.")
                     % {"name": pickup.name, "child": pickup.child.first_name})
    return redirect(_pickups_url(family))
