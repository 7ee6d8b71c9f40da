"""Agent pages (desktop and tablet). Each view: scoped getter, check, one service, respond.

Reads come from ``portal.selectors_agent``; writes from ``portal.services``. Capabilities
are checked by ``capability_required`` (login first, then 403).
"""

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import actor_from_request, capability_required
from accounts.roles import Capability, perm
from core.sites import site_url
from portal import selectors_agent as selectors
from portal.access import access_child, access_family, can_view_health
from portal.forms_agent import (
    AttendanceFilterForm,
    AttendanceTapForm,
    ChildAddForm,
    ChildMergeForm,
    DecisionForm,
    FamilyCreateForm,
    FamilyForm,
    FamilySearchForm,
    GuardianAddForm,
    GuardianEditForm,
    GuardianMergeForm,
    JournalFilterForm,
    parse_month,
    service_errors,
)
from portal.services.attendance import absence_review, attendance_record
from portal.services.families import (
    child_add,
    family_create,
    family_update,
    guardian_add,
)
from portal.services.guardians import family_document_review, guardian_invite, guardian_update
from portal.services.merge import child_merge, guardian_merge

JOURNAL_PAGE_SIZE = 50

VIEW = Capability.VIEW_FAMILIES
MANAGE = Capability.MANAGE_FAMILIES


def _can(user, capability) -> bool:
    return user.has_perm(perm(capability))


def _family_url(family, anchor: str = "") -> str:
    url = reverse("portal:agent_family", args=[family.pk])
    return f"{url}#{anchor}" if anchor else url


# -- dashboard and work lists ---------------------------------------------------------------

@capability_required(VIEW)
def agent_dashboard(request):
    return render(request, "portal/agent/dashboard.html",
                  {"counts": selectors.dashboard_counts()})


@capability_required(VIEW)
def documents_pending(request):
    return render(request, "portal/agent/documents_pending.html",
                  {"documents": selectors.documents_pending()})


@capability_required(VIEW)
def absences_pending(request):
    return render(request, "portal/agent/absences_pending.html",
                  {"absences": selectors.absences_declared()})


# -- families -------------------------------------------------------------------------------

@capability_required(VIEW)
def family_search(request):
    form = FamilySearchForm(request.GET)
    families, truncated = [], False
    if form.is_valid() and form.cleaned_data["q"]:
        families, truncated = selectors.family_search(form.cleaned_data["q"])
    return render(request, "portal/agent/family_search.html", {
        "form": form, "families": families, "truncated": truncated,
        "limit": selectors.SEARCH_LIMIT, "searched": bool(form.data.get("q", "").strip()),
        "can_manage": _can(request.user, MANAGE),
    })


@capability_required(VIEW)
def family_detail(request, family_id):
    family = access_family(request, family_id)
    today = timezone.localdate()
    month = parse_month(request.GET.get("mois"), default=today)
    record = selectors.family_record(family=family, month=month)
    previous = record.month_start - datetime.timedelta(days=1)
    following = record.month_end + datetime.timedelta(days=1)
    return render(request, "portal/agent/family_detail.html", {
        "record": record, "family": family,
        "show_health": can_view_health(request.user),
        "can_manage": _can(request.user, MANAGE),
        "previous_month": previous.strftime("%Y-%m"), "next_month": following.strftime("%Y-%m"),
    })


@capability_required(MANAGE)
@require_http_methods(["GET", "POST"])
def family_new(request):
    form = FamilyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            family = family_create(**form.cleaned_data, actor=actor_from_request(request))
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("Family %(reference)s created.")
                             % {"reference": family.reference})
            return redirect(_family_url(family))
    return render(request, "portal/agent/form.html", {
        "form": form, "title": _("New family"), "back_url": reverse("portal:agent_families"),
    })


@capability_required(MANAGE)
@require_http_methods(["GET", "POST"])
def family_edit(request, family_id):
    family = access_family(request, family_id)
    form = FamilyForm.for_family(family, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            family_update(family=family, actor=actor_from_request(request),
                          **form.update_fields())
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("Family record saved."))
            return redirect(_family_url(family))
    return render(request, "portal/agent/form.html", {
        "form": form, "family": family, "back_url": _family_url(family),
        "title": _("Edit family %(name)s") % {"name": family.name},
    })


@capability_required(MANAGE)
@require_http_methods(["GET", "POST"])
def guardian_new(request, family_id):
    family = access_family(request, family_id)
    form = GuardianAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            guardian = guardian_add(family=family, actor=actor_from_request(request),
                                    **form.cleaned_data)
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("Guardian %(name)s added.") % {"name": guardian})
            return redirect(_family_url(family, "responsables"))
    return render(request, "portal/agent/form.html", {
        "form": form, "family": family, "back_url": _family_url(family),
        "title": _("Add a guardian to family %(name)s") % {"name": family.name},
    })


@capability_required(MANAGE)
@require_http_methods(["GET", "POST"])
def child_new(request, family_id):
    family = access_family(request, family_id)
    form = ChildAddForm(request.POST or None, show_health=can_view_health(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            child = child_add(family=family, actor=actor_from_request(request),
                              **form.cleaned_data)
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("Child %(name)s added.") % {"name": child})
            return redirect(_family_url(family, "enfants"))
    return render(request, "portal/agent/form.html", {
        "form": form, "family": family, "back_url": _family_url(family),
        "title": _("Add a child to family %(name)s") % {"name": family.name},
    })


@capability_required(MANAGE)
@require_http_methods(["GET", "POST"])
def guardian_edit(request, family_id, guardian_id):
    family = access_family(request, family_id)
    guardian = selectors.family_guardian(family, guardian_id)
    form = GuardianEditForm.for_guardian(guardian, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            guardian = guardian_update(guardian=guardian, actor=actor_from_request(request),
                                       **form.cleaned_data)
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("Guardian %(name)s saved.") % {"name": guardian})
            return redirect(_family_url(family, "responsables"))
    return render(request, "portal/agent/form.html", {
        "form": form, "family": family, "back_url": _family_url(family, "responsables"),
        "title": _("Guardian %(name)s") % {"name": guardian},
    })


@capability_required(MANAGE)
@require_POST
def guardian_invite_send(request, family_id, guardian_id):
    family = access_family(request, family_id)
    guardian = selectors.family_guardian(family, guardian_id)
    try:
        user, _url = guardian_invite(
            guardian=guardian, actor=actor_from_request(request),
            base_url=site_url(request.get_host().split(":")[0]),
            commune_name=request.tenant.name)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Invitation sent to %(email)s.") % {"email": user.email})
    return redirect(_family_url(family, "responsables"))


@capability_required(MANAGE)
@require_POST
def document_review(request, family_id, document_id):
    family = access_family(request, family_id)
    document = selectors.family_document(family, document_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest()
    try:
        family_document_review(document=document, validated=form.cleaned_data["decision"],
                               actor=actor_from_request(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Document validated.") if form.cleaned_data["decision"]
                         else _("Document rejected."))
    return redirect(_family_url(family, "documents"))


@capability_required(MANAGE)
@require_POST
def absence_decide(request, family_id, absence_id):
    family = access_family(request, family_id)
    absence = selectors.family_absence(family, absence_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest()
    try:
        absence_review(absence=absence, justified=form.cleaned_data["decision"],
                       actor=actor_from_request(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Absence reviewed."))
    return redirect(_family_url(family, "absences"))


# -- merges ---------------------------------------------------------------------------------

@capability_required(MANAGE)
@require_http_methods(["GET", "POST"])
def guardian_merge_page(request, family_id):
    family = access_family(request, family_id)
    form = GuardianMergeForm(request.POST or None, family=family)
    if request.method == "POST" and form.is_valid():
        try:
            kept = guardian_merge(keep=form.cleaned_data["keep"],
                                  remove=form.cleaned_data["remove"],
                                  actor=actor_from_request(request))
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("Duplicate merged into %(name)s.") % {"name": kept})
            return redirect(_family_url(family, "responsables"))
    return render(request, "portal/agent/guardian_merge.html", {"form": form, "family": family})


@capability_required(MANAGE)
@require_http_methods(["GET", "POST"])
def child_merge_page(request):
    """Find both records, compare them side by side, then merge on POST."""
    source = request.POST if request.method == "POST" else request.GET
    form = ChildMergeForm(source if "keep" in source or "remove" in source else None)
    # Any id given must name a child this agent may reach (404 otherwise), valid form or not.
    for field in ("keep", "remove"):
        if str(source.get(field, "")).isdigit():
            access_child(request, int(source[field]))
    keep = remove = None
    if form.is_valid():
        keep = access_child(request, form.cleaned_data["keep"])
        remove = access_child(request, form.cleaned_data["remove"])
    if request.method == "POST":
        if keep is None:
            return HttpResponseBadRequest()
        try:
            kept = child_merge(keep=keep, remove=remove, actor=actor_from_request(request))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Duplicate merged into %(name)s.") % {"name": kept})
            family = kept.families.order_by("pk").first()
            return redirect(_family_url(family, "enfants") if family
                            else reverse("portal:agent_child_merge"))
    query = request.GET.get("q", "").strip()
    return render(request, "portal/agent/child_merge.html", {
        "form": form, "keep": keep, "remove": remove, "query": query,
        "candidates": selectors.child_candidates(query) if query else [],
        "namesakes": [] if query or keep else selectors.children_with_namesakes(),
        "show_health": can_view_health(request.user),
        "selected_keep": request.GET.get("keep", ""),
    })


# -- attendance -----------------------------------------------------------------------------

@capability_required(Capability.TAKE_ATTENDANCE)
def attendance(request):
    form = AttendanceFilterForm(request.GET, units=selectors.attendance_units())
    context = {"form": form, "show_health": can_view_health(request.user)}
    if form.is_valid() and form.cleaned_data["unite"]:
        unit, day = form.cleaned_data["unite"], form.cleaned_data["jour"]
        query = form.cleaned_data["chercher"]
        roster, walk_ins = selectors.attendance_lists(unit=unit, day=day)
        context.update({
            "unit": unit, "day": day, "can_record": day <= timezone.localdate(),
            "roster": roster, "walk_ins": walk_ins,
            "candidates": selectors.child_candidates(query) if query else [],
            "searched": bool(query),
        })
    return render(request, "portal/agent/attendance.html", context)


def _attendance_url(unit, day, anchor: str = "") -> str:
    query = urlencode({"etablissement": unit.facility_id, "unite": unit.pk,
                       "jour": day.isoformat()})
    url = f"{reverse('portal:agent_attendance')}?{query}"
    return f"{url}#{anchor}" if anchor else url


@capability_required(Capability.TAKE_ATTENDANCE)
@require_POST
def attendance_tap(request):
    form = AttendanceTapForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(" ".join(
            str(error) for errors in form.errors.values() for error in errors))
    unit, day = form.cleaned_data["unite"], form.cleaned_data["jour"]
    child = access_child(request, form.cleaned_data["enfant"])
    record = attendance_record(unit=unit, day=day, child=child,
                               present=form.cleaned_data["present"],
                               actor=actor_from_request(request))
    if record.without_booking:
        messages.warning(request, _("%(child)s recorded present without a booking.")
                         % {"child": child})
    return redirect(_attendance_url(unit, day, f"enfant-{child.pk}"))


# -- journal --------------------------------------------------------------------------------

@capability_required(Capability.VIEW_JOURNAL)
def journal(request):
    form = JournalFilterForm(request.GET)
    entries = selectors.journal_search(**form.search_kwargs()) if form.is_valid() else []
    page = Paginator(entries, JOURNAL_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/agent/journal.html", {"form": form, "page": page})
