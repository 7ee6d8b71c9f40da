"""Scoped getters: a parent reaches only the households they are a guardian of."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from payments.models import PaymentAttempt
from portal.access import parent_families
from portal.models import Family


def access_paying_family(request, family_id: int) -> Family:
    if request.user.is_agent:
        raise PermissionDenied
    try:
        return parent_families(request.user).get(pk=family_id)
    except Family.DoesNotExist:
        raise Http404 from None


def access_attempt(request, attempt_id: int) -> PaymentAttempt:
    if request.user.is_agent:
        raise PermissionDenied
    try:
        return PaymentAttempt.objects.select_related("family").get(
            pk=attempt_id, family__in=parent_families(request.user))
    except PaymentAttempt.DoesNotExist:
        raise Http404 from None
