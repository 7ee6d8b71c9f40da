"""Writes on accounts: roles, invitations, activation, files. Each writes the journal."""

import mimetypes

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import AccountType, StoredFile, User
from accounts.roles import ROLE_CAPABILITIES, Role
from core.journal import Actor, journal_record

ERROR_EMAIL_TAKEN = gettext_lazy("An account already exists with this e-mail address.")
ERROR_FILE_TOO_LARGE = gettext_lazy("The file is too large (maximum %(max)s MB).")
ERROR_FILE_TYPE = gettext_lazy("Only PDF, JPEG and PNG files are accepted.")
ALLOWED_FILE_TYPES = {"application/pdf", "image/jpeg", "image/png"}


def role_groups_ensure() -> None:
    """Create or update one group per role with its capabilities (idempotent)."""
    perms = {p.codename: p for p in Permission.objects.filter(content_type__app_label="accounts")}
    for role, capabilities in ROLE_CAPABILITIES.items():
        group, _created = Group.objects.get_or_create(name=role.value)
        group.permissions.set([perms[c] for c in capabilities])


def activation_url(*, user: User, base_url: str) -> str:
    """A one-time link: the token is bound to the password hash and last login,
    so it stops working as soon as the password has been chosen."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("accounts:activate", kwargs={"uidb64": uid, "token": token})
    return f"{base_url.rstrip('/')}{path}"


def _send_activation_email(*, user: User, url: str, commune_name: str) -> None:
    body = render_to_string(
        "accounts/email/activation.txt", {"user": user, "url": url, "commune_name": commune_name}
    )
    subject = _("Your Parvis account for %(commune)s") % {"commune": commune_name}
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


def agent_create(
    *, email: str, first_name: str, last_name: str, role: str, actor: Actor,
    base_url: str, commune_name: str,
) -> tuple[User, str]:
    """Create an agent account without a password and e-mail an activation link.

    Returns the user and the link (the onboarding command prints it in dev).
    """
    email = User.objects.normalize_email(email).strip().lower()
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    with transaction.atomic():
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError({"email": ERROR_EMAIL_TAKEN})
        user = User(email=email, first_name=first_name, last_name=last_name,
                    account_type=AccountType.AGENT)
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name=role))
        url = activation_url(user=user, base_url=base_url)
        journal_record(
            actor=actor, action="agent.created", target=user,
            summary=_("Agent account %(email)s created with role %(role)s")
            % {"email": email, "role": Role(role).label},
            changes={"email": email, "role": role},
        )
        transaction.on_commit(
            lambda: _send_activation_email(user=user, url=url, commune_name=commune_name)
        )
    return user, url


def account_password_set(*, user: User, password: str, actor: Actor, reason: str) -> None:
    """Set a password chosen through an activation or reset link."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.set_password(password)
        locked.save(update_fields=["password"])
        summary = (_("Account activated") if reason == "activation"
                   else _("Password reset by e-mail link"))
        journal_record(actor=actor, action=f"account.{reason}", target=locked, summary=summary)


def stored_file_create(*, owner: User, uploaded, actor: Actor) -> StoredFile:
    """Store an uploaded file in the current commune's folder."""
    max_bytes = settings.FILE_UPLOAD_MAX_BYTES
    if uploaded.size > max_bytes:
        raise ValidationError(ERROR_FILE_TOO_LARGE % {"max": max_bytes // (1024 * 1024)})
    guessed, _encoding = mimetypes.guess_type(uploaded.name)
    head = uploaded.read(8)
    uploaded.seek(0)
    sniffed = _sniff_type(head)
    if sniffed is None or sniffed not in ALLOWED_FILE_TYPES or guessed != sniffed:
        raise ValidationError(ERROR_FILE_TYPE)
    stored = StoredFile(owner=owner, original_name=uploaded.name[:200],
                        content_type=sniffed, size_bytes=uploaded.size)
    stored.file.save(stored.uuid.hex, uploaded, save=False)
    try:
        with transaction.atomic():
            stored.save()
            journal_record(actor=actor, action="file.uploaded", target=stored,
                           summary=_("File %(name)s uploaded") % {"name": stored.original_name})
    except Exception:
        stored.file.delete(save=False)  # nothing half-written: no orphan on disk
        raise
    return stored


def _sniff_type(head: bytes) -> str | None:
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def demo_account_upsert(*, email: str, password: str, account_type: str, role: str | None,
                        first_name: str, last_name: str, actor: Actor) -> User:
    """Create or refresh a demo account with a known password (``load_demo`` only)."""
    with transaction.atomic():
        user, created = User.objects.get_or_create(
            email=email,
            defaults={"account_type": account_type, "first_name": first_name,
                      "last_name": last_name},
        )
        user.set_password(password)
        user.is_active = True
        user.save()
        if role:
            user.groups.set([Group.objects.get(name=role)])
        if created:
            journal_record(actor=actor, action="account.demo_created", target=user,
                           summary=_("Demo account %(email)s created") % {"email": email})
    return user


def vendor_operator_upsert(*, email: str, password: str, actor: Actor) -> User:
    """Create or refresh a vendor operator (public schema)."""
    with transaction.atomic():
        user, created = User.objects.get_or_create(
            email=email, defaults={"account_type": AccountType.VENDOR, "is_staff": True},
        )
        user.account_type = AccountType.VENDOR
        user.is_staff = True
        user.set_password(password)
        user.save()
        if created:
            journal_record(actor=actor, action="vendor.operator_created", target=user,
                           summary=_("Vendor operator %(email)s created") % {"email": email})
    return user
