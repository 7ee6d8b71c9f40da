"""Request-level helpers: who is acting, and role checks for views."""

from functools import wraps

from axes.helpers import get_client_ip_address
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from accounts.models import AccountType
from accounts.roles import perm
from core.journal import Actor
from core.models import ActorKind


def actor_from_request(request) -> Actor:
    user = request.user
    ip = get_client_ip_address(request)
    if user.account_type == AccountType.VENDOR:
        return Actor.vendor(user, ip_address=ip)
    kind = ActorKind.AGENT if user.account_type == AccountType.AGENT else ActorKind.PARENT
    roles = ",".join(sorted(g.name for g in user.groups.all())) if kind == ActorKind.AGENT else ""
    return Actor(kind=kind, label=user.email, user=user, role=roles, ip_address=ip)


def capability_required(capability: str):
    """Login required, then the capability (403 otherwise)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not (request.user.is_agent and request.user.has_perm(perm(capability))):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def vendor_required(view):
    """Vendor console only: an operator account of the public schema."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_vendor_operator:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped
