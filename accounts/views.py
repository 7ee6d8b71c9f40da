"""Account pages shared by every commune site (and login on the vendor console)."""

from axes.helpers import get_client_ip_address
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.access import actor_from_request, capability_required
from accounts.forms import AgentInviteForm, FileUploadForm, LoginForm
from accounts.models import AccountType, StoredFile, User
from accounts.roles import Capability, perm
from accounts.selectors import agents_list, journal_recent
from accounts.services import account_password_set, agent_create, stored_file_create
from core.journal import Actor
from core.models import ActorKind
from core.sites import site_url


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Choose a password from a one-time link (reset, or first activation)."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
    reason = "password_reset"

    def form_valid(self, form):
        user = form.user
        kind = ActorKind.AGENT if user.account_type == AccountType.AGENT else ActorKind.PARENT
        actor = Actor(kind=kind, label=user.email, user=user,
                      ip_address=get_client_ip_address(self.request))
        account_password_set(user=user, password=form.cleaned_data["new_password1"],
                             actor=actor, reason=self.reason)
        self.request.session.pop(INTERNAL_RESET_SESSION_TOKEN, None)
        messages.success(self.request, _("Your password has been saved. You can now log in."))
        return HttpResponseRedirect(self.get_success_url())


class ActivationView(PasswordResetConfirmView):
    template_name = "accounts/activate.html"
    success_url = reverse_lazy("accounts:login")
    post_reset_login = False
    reason = "activation"


@login_required
def home(request):
    user = request.user
    context = {
        "can_manage_agents": user.is_agent and user.has_perm(perm(Capability.MANAGE_AGENTS)),
        "can_view_journal": user.is_agent and user.has_perm(perm(Capability.VIEW_JOURNAL)),
    }
    return render(request, "accounts/home.html", context)


@capability_required(Capability.MANAGE_AGENTS)
@require_http_methods(["GET", "POST"])
def agents(request):
    form = AgentInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, _url = agent_create(
                **form.cleaned_data, actor=actor_from_request(request),
                base_url=site_url(request.get_host().split(":")[0]),
                commune_name=request.tenant.name,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": user.email})
            return redirect("accounts:agents")
    return render(request, "accounts/agents.html", {"form": form, "agents": agents_list()})


@capability_required(Capability.VIEW_JOURNAL)
def journal(request):
    return render(request, "accounts/journal.html", {"entries": journal_recent(limit=200)})


@login_required
@require_http_methods(["GET", "POST"])
def documents(request):
    form = FileUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            stored_file_create(owner=request.user, uploaded=form.cleaned_data["file"],
                               actor=actor_from_request(request))
        except ValidationError as exc:
            form.add_error("file", exc.messages)
        else:
            messages.success(request, _("Document received."))
            return redirect("accounts:documents")
    files = StoredFile.objects.filter(owner=request.user)
    return render(request, "accounts/documents.html", {"form": form, "files": files})


@login_required
def file_download(request, file_uuid):
    """Serve a stored file to its owner, or to an agent allowed to read family records.

    The lookup runs in the current commune's schema and the file is read from the
    commune's own folder: an id from another commune is simply not found (404).
    """
    try:
        stored = StoredFile.objects.select_related("owner").get(uuid=file_uuid)
    except StoredFile.DoesNotExist:
        raise Http404 from None
    user: User = request.user
    is_owner = stored.owner_id == user.pk
    may_read = user.is_agent and user.has_perm(perm(Capability.VIEW_FAMILIES))
    if not (is_owner or may_read) or connection.schema_name == "public":
        raise Http404
    response = FileResponse(stored.file.open("rb"), content_type=stored.content_type,
                            as_attachment=True, filename=stored.original_name)
    response["Cache-Control"] = "private, no-store"
    return response
