"""Accounts live in each commune's schema (and, for vendor operators, in public).

A parent with children in two towns has two accounts, one per schema: nothing
in one commune's database can authenticate in another's.
"""

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.roles import Capability


class AccountType(models.TextChoices):
    AGENT = "agent", _("town agent")
    PARENT = "parent", _("parent")
    VENDOR = "vendor", _("vendor operator")


class ParvisUserManager(UserManager):
    def _create_user(self, username, email, password, **extra_fields):
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(None, email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("account_type", AccountType.VENDOR)
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(None, email, password, **extra_fields)


class User(AbstractUser):
    username = None
    email = models.EmailField(_("e-mail address"), unique=True)
    account_type = models.CharField(
        _("account type"), max_length=16, choices=AccountType.choices,
        default=AccountType.PARENT,
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = ParvisUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = [(c.value, c.label) for c in Capability]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(account_type__in=["agent", "parent", "vendor"]),
                name="user_account_type_valid",
            ),
        ]

    def __str__(self):
        return self.get_full_name() or self.email

    @property
    def is_agent(self) -> bool:
        return self.account_type == AccountType.AGENT

    @property
    def is_vendor_operator(self) -> bool:
        return self.account_type == AccountType.VENDOR and self.is_staff

    @property
    def role_names(self) -> list[str]:
        return [group.name for group in self.groups.all()]


def _stored_file_path(instance, filename: str) -> str:
    # The storage prefixes the commune's folder; the name on disk is never the
    # uploaded one (no guessing, no path tricks).
    return f"documents/{instance.uuid.hex[:2]}/{instance.uuid.hex}"


class StoredFile(models.Model):
    """An uploaded file, stored in the commune's own folder and served only by
    ``accounts.views.file_download`` after checking the owner or the agent's rights."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="files", verbose_name=_("owner"))
    file = models.FileField(upload_to=_stored_file_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size_bytes = models.PositiveIntegerField(_("size"))
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("file")
        verbose_name_plural = _("files")

    def __str__(self):
        return self.original_name


class ApiToken(models.Model):
    """A bearer token for agents' tools and integrations (hash stored, shown once)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=8, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"
