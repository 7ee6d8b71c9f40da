"""Scoped getters: every portal view fetches through these (404 outside the scope).

A parent reaches only the households they are a guardian of, and the children of
those households; an agent reaches every family if their role may read family
records. Ids from the URL are never looked up without this scope.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.roles import Capability, perm
from portal.models import AuthorisedPickup, Child, Family, Guardian, Reservation


def is_family_agent(user) -> bool:
    return user.is_authenticated and user.is_agent and user.has_perm(
        perm(Capability.VIEW_FAMILIES))


def can_view_health(user) -> bool:
    return user.is_authenticated and user.is_agent and user.has_perm(
        perm(Capability.VIEW_HEALTH))


def parent_families(user):
    """The households ``user`` is a guardian of (usually one)."""
    return Family.objects.filter(guardians__user=user).distinct()


def parent_guardian(user) -> Guardian | None:
    return Guardian.objects.filter(user=user).select_related("family").first()


def access_family(request, family_id: int) -> Family:
    scope = Family.objects.all() if is_family_agent(request.user) else parent_families(
        request.user)
    try:
        return scope.get(pk=family_id)
    except Family.DoesNotExist:
        raise Http404 from None


def children_scope(user):
    if is_family_agent(user):
        return Child.objects.all()
    return Child.objects.filter(memberships__family__guardians__user=user).distinct()


def access_child(request, child_id: int) -> Child:
    try:
        return children_scope(request.user).get(pk=child_id)
    except Child.DoesNotExist:
        raise Http404 from None


def access_family_child(family: Family, child_id: int) -> Child:
    """A child of ``family`` (a family already reached through ``access_family``)."""
    try:
        return family.children.get(pk=child_id)
    except Child.DoesNotExist:
        raise Http404 from None


def access_family_pickup(family: Family, pickup_id: int) -> AuthorisedPickup:
    """A pick-up person recorded by ``family`` (not by the child's other household)."""
    try:
        return family.pickups.select_related("child").get(pk=pickup_id)
    except AuthorisedPickup.DoesNotExist:
        raise Http404 from None


def access_reservation(request, reservation_id: int) -> Reservation:
    try:
        return Reservation.objects.select_related("unit", "child").get(
            pk=reservation_id, child__in=children_scope(request.user))
    except Reservation.DoesNotExist:
        raise Http404 from None


def ensure_may_book(user) -> None:
    """Parents book for their children; agents need the right to manage families."""
    if user.is_agent and not user.has_perm(perm(Capability.MANAGE_FAMILIES)):
        raise PermissionDenied
