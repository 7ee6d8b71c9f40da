"""Finance staff: card payments to review, refunds to the card, disputes, payouts;
the administrator: the commune's online-payment settings."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import actor_from_request, capability_required
from accounts.roles import Capability
from core.crypto import secret_mask
from payments import selectors
from payments.forms import CardRefundForm
from payments.provider import PaymentsNotConfigured, commune_payment_settings
from payments.services.refunds import card_refund
from payments.services.review import attempt_review
from tenants.forms import PaymentSettingsForm
from tenants.services import payment_settings_update
from treasury.access import access_payment
from treasury.models import Channel
from treasury.pricing import format_cents
from treasury.services.refunds import payment_refundable


@capability_required(Capability.MANAGE_FINANCE)
def card_payments(request):
    return render(request, "payments/agent/card_payments.html", selectors.card_overview())


@capability_required(Capability.MANAGE_FINANCE)
@require_POST
def attempt_reviewed(request, attempt_id):
    attempt = selectors.attempt_to_review(attempt_id)
    attempt_review(attempt=attempt, actor=actor_from_request(request))
    messages.success(request, _("Marked as reviewed."))
    return redirect("payments:card_payments")


@capability_required(Capability.MANAGE_FINANCE)
@require_http_methods(["GET", "POST"])
def card_refund_view(request, payment_id):
    payment = access_payment(request, payment_id)
    if payment.channel != Channel.ONLINE_CARD:
        messages.error(request, _("Only a card payment made online can be refunded to the "
                                  "card."))
        return redirect("treasury:account", payment.family_id)
    left = payment_refundable(payment)
    form = CardRefundForm(request.POST) if request.method == "POST" \
        else CardRefundForm.blank(amount_cents=left)
    if request.method == "POST" and form.is_valid():
        try:
            card_refund(payment=payment, amount_cents=form.cleaned_data["amount"],
                        reason=form.cleaned_data["reason"], token=form.cleaned_data["token"],
                        actor=actor_from_request(request))
        except ValidationError as error:
            form.add_error(None, error)
        except PaymentsNotConfigured:
            form.add_error(None, _("Online payment is not configured for this commune."))
        else:
            messages.success(request, _("%(amount)s refunded to the card.") % {
                "amount": format_cents(form.cleaned_data["amount"])})
            return redirect("treasury:account", payment.family_id)
    return render(request, "payments/agent/card_refund.html", {
        "payment": payment, "form": form, "left": left})


@capability_required(Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def online_settings(request):
    current = commune_payment_settings()
    form = PaymentSettingsForm(request.POST or None, initial={
        "enabled": current.enabled if current else False,
        "publishable_key": current.publishable_key if current else ""})
    if request.method == "POST" and form.is_valid():
        try:
            payment_settings_update(commune=request.tenant, actor=actor_from_request(request),
                                    **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Online payment settings saved."))
            return redirect("payments:online_settings")
    return render(request, "payments/agent/settings.html", {
        "form": form, "current": current,
        "secret_key_mask": secret_mask(current.secret_key) if current else "",
        "webhook_secret_mask": secret_mask(current.webhook_secret) if current else "",
        "webhook_url": request.build_absolute_uri("/paiement/stripe/webhook/")})
