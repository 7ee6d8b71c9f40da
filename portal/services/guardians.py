"""Writes about a household's guardians: corrections of their details, parent-account
invitations, the supporting documents guardians send (certificates, QF proof) and their
review by an agent. Each writes one journal entry."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import AccountType, User
from accounts.services import ERROR_EMAIL_TAKEN, activation_url, stored_file_create
from core.journal import Actor, journal_record
from portal.models import Child, Family, FamilyDocument, Guardian, Membership
from portal.normalize import normalize_phone
from portal.services.families import (
    clean_civility,
    clean_phone,
    collect,
    guardian_identity_errors,
    guardian_search_name,
)

ERROR_GUARDIAN_NO_EMAIL = gettext_lazy(
    "This guardian has no e-mail address: add one before sending an invitation.")
ERROR_GUARDIAN_HAS_ACCOUNT = gettext_lazy("This guardian has already activated a parent account.")
ERROR_DOCUMENT_REVIEWED = gettext_lazy("This document has already been reviewed.")
ERROR_DOCUMENT_KIND = gettext_lazy("Choose the kind of document.")
ERROR_DOCUMENT_CHILD = gettext_lazy("This child does not belong to this household.")
ERROR_DOCUMENT_FILE_REQUIRED = gettext_lazy("Choose the file to send.")
ERROR_DOCUMENT_VALIDITY_REQUIRED = gettext_lazy(
    "Enter the date until which the document is valid.")
ERROR_DOCUMENT_EXPIRED = gettext_lazy(
    "This document is no longer valid: send a document valid until today or later.")


def guardian_update(*, guardian: Guardian, actor: Actor, civility: str, first_name: str,
                    last_name: str, phone: str, is_payer: bool) -> Guardian:
    """Correct a guardian's civility, names, phone or payer flag. The e-mail address
    (a parent's login, the commune-wide identity of a guardian) is not changed here.
    Journals each field that changed, before and after; nothing changed, nothing
    written."""
    first_name, last_name = first_name.strip(), last_name.strip()
    errors = guardian_identity_errors(first_name=first_name, last_name=last_name)
    values = {"first_name": first_name, "last_name": last_name, "is_payer": bool(is_payer),
              "civility": collect(errors, "civility", clean_civility, civility),
              "phone": collect(errors, "phone", clean_phone, phone)}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = Guardian.objects.select_for_update().select_related("family").get(
            pk=guardian.pk)
        changes = {field: [getattr(locked, field), value] for field, value in values.items()
                   if getattr(locked, field) != value}
        if not changes:
            return locked
        for field, value in values.items():
            setattr(locked, field, value)
        locked.search_name = guardian_search_name(first_name=first_name, last_name=last_name)
        locked.search_phone = normalize_phone(locked.phone)
        locked.save()
        journal_record(actor=actor, action="guardian.updated", target=locked.family,
                       summary=_("Guardian %(name)s updated (family %(family)s)") % {
                           "name": locked, "family": locked.family.reference},
                       changes={"guardian_id": locked.pk, **changes})
    return locked


def _send_invitation_email(*, email: str, url: str, commune_name: str) -> None:
    body = render_to_string("accounts/email/activation.txt",
                            {"url": url, "commune_name": commune_name})
    subject = _("Your family space on the portal of %(commune)s") % {"commune": commune_name}
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])


def guardian_invite(*, guardian: Guardian, actor: Actor, base_url: str,
                    commune_name: str) -> tuple[User, str]:
    """Give a guardian a parent account and e-mail them a one-time activation link.

    The account has no usable password until the link is followed. Inviting again a
    guardian who has not activated yet sends a fresh link to the same account.
    Returns the account and the link.
    """
    with transaction.atomic():
        locked = (Guardian.objects.select_for_update(of=("self",)).select_related("family", "user")
                  .get(pk=guardian.pk))
        user = locked.user
        if user is not None and user.has_usable_password():
            raise ValidationError(ERROR_GUARDIAN_HAS_ACCOUNT)
        email = (user.email if user is not None else locked.email).strip().lower()
        if not email:
            raise ValidationError(ERROR_GUARDIAN_NO_EMAIL)
        resent = user is not None
        if not resent:
            if User.objects.filter(email__iexact=email).exists():
                raise ValidationError(ERROR_EMAIL_TAKEN)
            user = User(email=email, first_name=locked.first_name, last_name=locked.last_name,
                        account_type=AccountType.PARENT)
            user.set_unusable_password()
            user.save()
            locked.user = user
            locked.save(update_fields=["user"])
        url = activation_url(user=user, base_url=base_url)
        journal_record(
            actor=actor, action="guardian.invitation_resent" if resent else "guardian.invited",
            target=locked,
            summary=(_("Invitation sent again to %(name)s (%(email)s), family %(family)s")
                     if resent else
                     _("Parent account created for %(name)s (%(email)s), family %(family)s"))
            % {"name": locked, "email": email, "family": locked.family.reference},
            changes={"email": email, "user_id": user.pk, "guardian_id": locked.pk,
                     "family_ids": [locked.family_id]},
        )
        transaction.on_commit(
            lambda: _send_invitation_email(email=email, url=url, commune_name=commune_name))
    return user, url


def family_document_review(*, document: FamilyDocument, validated: bool,
                           actor: Actor) -> FamilyDocument:
    """Validate or reject a document sent by a family (once: a reviewed one stays so)."""
    with transaction.atomic():
        locked = (FamilyDocument.objects.select_for_update(of=("self",))
                  .select_related("family", "file").get(pk=document.pk))
        if locked.status != FamilyDocument.Status.PENDING:
            raise ValidationError(ERROR_DOCUMENT_REVIEWED)
        before = locked.status
        locked.status = (FamilyDocument.Status.VALIDATED if validated
                         else FamilyDocument.Status.REJECTED)
        locked.reviewed_by = actor.user
        locked.reviewed_at = timezone.now()
        locked.save(update_fields=["status", "reviewed_by", "reviewed_at"])
        journal_record(
            actor=actor,
            action="family_document.validated" if validated else "family_document.rejected",
            target=locked,
            summary=(_("Document %(name)s (%(kind)s) of family %(family)s validated")
                     if validated else
                     _("Document %(name)s (%(kind)s) of family %(family)s rejected"))
            % {"name": locked.file.original_name, "kind": locked.get_kind_display(),
               "family": locked.family.reference},
            changes={"status": [before, locked.status], "kind": locked.kind,
                     "family_ids": [locked.family_id], "child_id": locked.child_id},
        )
    return locked


def family_document_submit(*, family: Family, kind: str, valid_until: datetime.date | None,
                           uploaded, actor: Actor, child: Child | None = None) -> FamilyDocument:
    """A guardian sends a supporting document for their household (or one of its children).

    The input is checked before anything is stored; the file is stored and sniffed by
    ``stored_file_create`` (type, size), then the document waits for an agent's review.
    Nothing stays behind (row or file on disk) when any step fails.
    """
    errors: dict[str, list] = {}
    if kind not in FamilyDocument.Kind.values:
        errors["kind"] = [ERROR_DOCUMENT_KIND]
    if valid_until is None:
        errors["valid_until"] = [ERROR_DOCUMENT_VALIDITY_REQUIRED]
    elif valid_until < timezone.localdate():
        errors["valid_until"] = [ERROR_DOCUMENT_EXPIRED]
    if uploaded is None:
        errors["file"] = [ERROR_DOCUMENT_FILE_REQUIRED]
    if child is not None and not Membership.objects.filter(family=family, child=child).exists():
        errors["child"] = [ERROR_DOCUMENT_CHILD]
    if errors:
        raise ValidationError(errors)
    stored = None
    try:
        with transaction.atomic():
            try:
                stored = stored_file_create(owner=actor.user, uploaded=uploaded, actor=actor)
            except ValidationError as exc:
                raise ValidationError({"file": exc.messages}) from None
            document = FamilyDocument.objects.create(family=family, child=child, file=stored,
                                                     kind=kind, valid_until=valid_until)
            journal_record(
                actor=actor, action="family_document.submitted", target=document,
                summary=_("Document %(name)s (%(kind)s) sent for family %(family)s")
                % {"name": stored.original_name, "kind": document.get_kind_display(),
                   "family": family.reference},
                changes={"status": [None, document.status], "kind": kind,
                         "valid_until": valid_until.isoformat(), "file_id": stored.pk,
                         "family_ids": [family.pk],
                         "child_id": child.pk if child is not None else None},
            )
    except Exception:
        if stored is not None:
            stored.file.delete(save=False)
        raise
    return document
