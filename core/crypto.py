"""Secrets at rest (payment keys, webhook secrets): Fernet (AES-128-CBC + HMAC-SHA256).

The key is ``FIELD_ENCRYPTION_KEY`` (a Fernet key, required in production; rotate by
listing the new key first, comma-separated: every listed key decrypts, the first one
encrypts). Outside production it is derived from ``SECRET_KEY``.
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@cache
def _fernet() -> MultiFernet:
    keys = [key.strip() for key in settings.FIELD_ENCRYPTION_KEY.split(",") if key.strip()]
    return MultiFernet([Fernet(key.encode()) for key in keys])


def derived_key(secret: str) -> str:
    """A Fernet key derived from another secret (development and tests only)."""
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()).decode()


def secret_encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def secret_decrypt(token: str) -> str:
    """The clear value, or ``""`` when there is none. A token that no key opens raises
    ``InvalidToken`` (a wrong or lost key must not pass silently)."""
    return _fernet().decrypt(token.encode()).decode() if token else ""


def secret_mask(value: str) -> str:
    """What may be shown of a secret: its prefix and its last four characters."""
    if not value:
        return ""
    prefix = value.split("_", 2)
    head = "_".join(prefix[:2]) + "_" if len(prefix) == 3 else ""
    return f"{head}…{value[-4:]}"


__all__ = ["InvalidToken", "derived_key", "secret_decrypt", "secret_encrypt", "secret_mask"]
