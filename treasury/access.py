"""Scoped getters of the treasury: parents reach their households' documents only,
finance agents every family's. Ids from URLs are never looked up outside the scope."""

from django.http import Http404

from accounts.roles import Capability, perm
from portal.access import parent_families
from treasury.models import Invoice, InvoiceStatus, InvoicingRun, Payment


def is_finance_agent(user) -> bool:
    return user.is_authenticated and user.is_agent and user.has_perm(
        perm(Capability.MANAGE_FINANCE))


def _families(user):
    return None if is_finance_agent(user) else parent_families(user)


def access_invoice(request, invoice_id: int) -> Invoice:
    """An issued (or cancelled) document of the user's scope; drafts are agents' only."""
    scope = Invoice.objects.select_related("family", "credited_invoice")
    families = _families(request.user)
    if families is not None:
        scope = scope.filter(family__in=families).exclude(status=InvoiceStatus.DRAFT)
    try:
        return scope.get(pk=invoice_id)
    except Invoice.DoesNotExist:
        raise Http404 from None


def access_payment(request, payment_id: int) -> Payment:
    scope = Payment.objects.select_related("family")
    families = _families(request.user)
    if families is not None:
        scope = scope.filter(family__in=families)
    try:
        return scope.get(pk=payment_id)
    except Payment.DoesNotExist:
        raise Http404 from None


def access_run(request, run_id: int) -> InvoicingRun:
    if not is_finance_agent(request.user):
        raise Http404
    try:
        return InvoicingRun.objects.get(pk=run_id)
    except InvoicingRun.DoesNotExist:
        raise Http404 from None


def access_bordereau(request, bordereau_id: int):
    """A Hélios bordereau of the current commune, for finance agents only."""
    from treasury.models import HeliosBordereau

    if not is_finance_agent(request.user):
        raise Http404
    try:
        return HeliosBordereau.objects.select_related("created_by").get(pk=bordereau_id)
    except HeliosBordereau.DoesNotExist:
        raise Http404 from None
