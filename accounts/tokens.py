"""API tokens: created once (the plain key is shown once), stored as a SHA-256 hash."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiToken, User
from core.journal import Actor, journal_record


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, user: User, name: str, actor: Actor) -> tuple[ApiToken, str]:
    key = "pv_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name[:100], prefix=key[3:11],
                                        key_hash=_hash(key))
        journal_record(actor=actor, action="api_token.created", target=token,
                       summary=_("API token %(name)s created for %(email)s")
                       % {"name": token.name, "email": user.email})
    return token, key


def api_token_revoke(*, token: ApiToken, actor: Actor) -> None:
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        journal_record(actor=actor, action="api_token.revoked", target=token,
                       summary=_("API token %(name)s revoked") % {"name": token.name})


def user_for_api_key(key: str) -> User | None:
    """The active user owning ``key`` in the current schema, or None."""
    if not key.startswith("pv_"):
        return None
    token = (ApiToken.objects.select_related("user")
             .filter(key_hash=_hash(key), revoked_at__isnull=True, user__is_active=True).first())
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user
