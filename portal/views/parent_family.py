"""Parent pages about the household: supporting documents and authorised pick-up persons.

Same rules as ``portal.views.parent``: parent accounts only, every id fetched through a
scoped getter (a household of the parent, a child or pick-up person of that household).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import actor_from_request
from portal.access import access_family, access_family_child, access_family_pickup
from portal.forms_agent import service_errors
from portal.forms_parent import FamilyDocumentForm, PickupForm
from portal.selectors_parent import parent_document_households
from portal.services.guardians import family_document_submit
from portal.services.pickups import pickup_add, pickup_remove
from portal.views.parent import parent_required


def _pickups_url(child_id: int) -> str:
    return f"{reverse('portal:parent_home')}#pickups-{child_id}"


# -- documents ------------------------------------------------------------------------------

@parent_required
def documents_page(request):
    households = [(family, FamilyDocumentForm(family=family))
                  for family in parent_document_households(request.user)]
    return render(request, "portal/parent/documents.html",
                  {"households": households, "today": timezone.localdate()})


@parent_required
@require_http_methods(["GET", "POST"])
def document_upload(request, family_id):
    family = access_family(request, family_id)
    form = FamilyDocumentForm(request.POST or None, request.FILES or None, family=family)
    if request.method == "POST" and form.is_valid():
        try:
            family_document_submit(family=family, actor=actor_from_request(request),
                                   uploaded=form.cleaned_data["file"],
                                   kind=form.cleaned_data["kind"],
                                   child=form.cleaned_data["child"],
                                   valid_until=form.cleaned_data["valid_until"])
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("Document received: the town hall will check it."))
            return redirect("portal:parent_documents")
    return render(request, "portal/parent/document_upload.html",
                  {"family": family, "form": form})


# -- authorised pick-up persons -------------------------------------------------------------

@parent_required
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
            return redirect(_pickups_url(child.pk))
    return render(request, "portal/parent/pickup_form.html",
                  {"family": family, "child": child, "form": form})


@parent_required
@require_POST
def pickup_delete(request, family_id, pickup_id):
    family = access_family(request, family_id)
    pickup = access_family_pickup(family, pickup_id)
    pickup_remove(pickup=pickup, actor=actor_from_request(request))
    messages.success(request, _("%(name)s may no longer pick up %(child)s.")
                     % {"name": pickup.name, "child": pickup.child.first_name})
    return redirect(_pickups_url(pickup.child_id))
