"""Parents pay by card (their own households' invoices only); the webhook endpoint."""

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.access import actor_from_request
from payments.access import access_attempt, access_paying_family
from payments.csp import with_stripe_csp
from payments.models import AttemptStatus
from payments.provider import PaymentsNotConfigured, commune_payment_settings
from payments.services.attempts import (
    ForeignObject,
    attempt_confirm,
    attempt_prepare,
    card_payable,
    payment_intent_sync,
)
from payments.services.events import BadWebhook, webhook_receive
from treasury.selectors import invoices_at_treasury

NOT_AVAILABLE = gettext_lazy(
    "Online payment is not available in this commune: pay at the régie's desk.")
ERROR_CHOOSE = gettext_lazy("Choose the invoices to pay.")


def _json_body(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _error(message, status=400) -> JsonResponse:
    return JsonResponse({"error": str(message)}, status=status)


@login_required
@require_GET
def pay(request, family_id):
    family = access_paying_family(request, family_id)
    current = commune_payment_settings()
    at_treasury = invoices_at_treasury(family.pk)
    invoices = card_payable(family.pk)
    response = render(request, "payments/pay.html", {
        "family": family, "invoices": invoices, "at_treasury": at_treasury,
        "total_cents": sum(invoice.remaining_cents for invoice in invoices),
        "ready": bool(current and current.is_ready),
        "publishable_key": current.publishable_key if current else "",
        "prepare_url": reverse("payments:prepare", args=[family.pk]),
        "stripe_js_url": settings.STRIPE_JS_URL})
    return with_stripe_csp(response)


@login_required
@require_POST
def prepare(request, family_id):
    family = access_paying_family(request, family_id)
    data = _json_body(request)
    raw_ids = data.get("invoices")
    if raw_ids is not None and not (isinstance(raw_ids, list) and all(
            str(pk).isdigit() for pk in raw_ids)):
        return _error(ERROR_CHOOSE)
    ids = [int(pk) for pk in raw_ids] if raw_ids is not None else None
    try:
        attempt, client_secret = attempt_prepare(family=family, invoice_ids=ids,
                                                 actor=actor_from_request(request))
    except ValidationError as error:
        return _error(error.messages[0])
    except PaymentsNotConfigured:
        return _error(NOT_AVAILABLE, status=409)
    return JsonResponse({"attempt": attempt.pk, "amount_cents": attempt.amount_cents,
                         "client_secret": client_secret,
                         "confirm_url": reverse("payments:confirm", args=[attempt.pk]),
                         "result_url": reverse("payments:result", args=[attempt.pk])})


@login_required
@require_POST
def confirm(request, attempt_id):
    attempt = access_attempt(request, attempt_id)
    setup_intent = str(_json_body(request).get("setup_intent", ""))
    try:
        attempt, action_secret = attempt_confirm(attempt=attempt, setup_intent_id=setup_intent,
                                                 actor=actor_from_request(request))
    except ValidationError as error:
        return _error(error.messages[0])
    body = {"status": attempt.status, "client_secret": action_secret,
            "result_url": reverse("payments:result", args=[attempt.pk])}
    if attempt.status == AttemptStatus.FAILED:
        body["error"] = attempt.error
    return JsonResponse(body)


@login_required
@require_GET
def result(request, attempt_id):
    attempt = access_attempt(request, attempt_id)
    if attempt.is_open and attempt.payment_intent_id:
        try:  # back from the bank's page: ask the provider, not the browser
            attempt = payment_intent_sync(payment_intent_id=attempt.payment_intent_id)
        except (ForeignObject, PaymentsNotConfigured):
            pass
    return render(request, "payments/result.html", {"attempt": attempt})


@csrf_exempt
@require_POST
def webhook(request):
    """Signed provider events. Exempt from CSRF, never from the signature check."""
    try:
        event, created = webhook_receive(payload=request.body,
                                         signature=request.headers.get("Stripe-Signature"))
    except BadWebhook:
        return HttpResponseBadRequest("invalid signature")
    return HttpResponse("ok" if created else "duplicate")
