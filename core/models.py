"""The action journal (journal des actions), one table per schema.

Every state change made through a service writes one row here: who acted (and in
which role), when, from which address, on what, and what changed. The table is
append-only: a database trigger (migration 0002) rejects UPDATE and DELETE, so
not even a bug or a manual ``UPDATE`` can rewrite history.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ActorKind(models.TextChoices):
    PARENT = "parent", _("parent")
    AGENT = "agent", _("agent")
    VENDOR = "vendor", _("vendor operator")
    SYSTEM = "system", _("system")


class ActionLog(models.Model):
    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,  # a vendor operator lives in the public schema
        related_name="+",
    )
    actor_label = models.CharField(_("actor"), max_length=254)
    actor_kind = models.CharField(_("actor type"), max_length=16, choices=ActorKind.choices)
    actor_role = models.CharField(_("role"), max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.CharField(_("object type"), max_length=64, blank=True)
    target_id = models.CharField(_("object id"), max_length=64, blank=True)
    summary = models.CharField(_("summary"), max_length=255)
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="actionlog_target_idx")]
        verbose_name = _("journal entry")
        verbose_name_plural = _("action journal")

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label}: {self.summary}"
