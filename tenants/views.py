"""The vendor console (public schema, vendor operators only)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import actor_from_request, vendor_required
from tenants.forms import OnboardingForm, StatusChangeForm
from tenants.models import Commune, CommuneKind
from tenants.selectors import communes_for_console
from tenants.services import commune_onboard, commune_reactivate, commune_suspend


@vendor_required
def console(request):
    return render(request, "tenants/console.html", {"communes": communes_for_console()})


@vendor_required
@require_http_methods(["GET", "POST"])
def onboard(request):
    form = OnboardingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = commune_onboard(**form.cleaned_data, actor=actor_from_request(request))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request,
                             _("Commune %(name)s created.") % {"name": result.commune.name})
            if result.activation_url:
                messages.info(request, _("Activation link sent to %(email)s.")
                              % {"email": result.admin_email})
            return redirect("console")
    return render(request, "tenants/onboard.html", {"form": form})


def _status_change(request, commune_id, service, success_message):
    commune = get_object_or_404(Commune, pk=commune_id, kind=CommuneKind.COMMUNE)
    form = StatusChangeForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        service(commune=commune, actor=actor_from_request(request), reason=reason)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success_message % {"name": commune.name})
    return redirect("console")


@vendor_required
@require_POST
def suspend(request, commune_id):
    return _status_change(request, commune_id, commune_suspend, _("Commune %(name)s suspended."))


@vendor_required
@require_POST
def reactivate(request, commune_id):
    return _status_change(request, commune_id, commune_reactivate,
                          _("Commune %(name)s reactivated."))


@vendor_required
@require_http_methods(["GET", "POST"])
def payment_settings(request, commune_id):
    from core.crypto import secret_mask
    from tenants.forms import PaymentSettingsForm
    from tenants.services import payment_settings_of, payment_settings_update

    commune = get_object_or_404(Commune, pk=commune_id, kind=CommuneKind.COMMUNE)
    current = payment_settings_of(commune)
    form = PaymentSettingsForm(request.POST or None, initial={
        "enabled": current.enabled if current else False,
        "publishable_key": current.publishable_key if current else ""})
    if request.method == "POST" and form.is_valid():
        try:
            payment_settings_update(commune=commune, actor=actor_from_request(request),
                                    **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Online payment settings of %(name)s saved.")
                             % {"name": commune.name})
            return redirect("console")
    return render(request, "tenants/payment_settings.html", {
        "commune": commune, "form": form, "current": current,
        "secret_key_mask": secret_mask(current.secret_key) if current else "",
        "webhook_secret_mask": secret_mask(current.webhook_secret) if current else ""})
