"""Writing the action journal. Services call ``journal_record`` inside their transaction."""

from dataclasses import dataclass

from core.models import ActionLog, ActorKind


@dataclass(frozen=True)
class Actor:
    """Who performs an action, and from where. Built once per request or task."""

    kind: str
    label: str
    user: object | None = None
    role: str = ""
    ip_address: str | None = None

    @classmethod
    def system(cls, label: str = "Parvis") -> "Actor":
        return cls(kind=ActorKind.SYSTEM, label=label)

    @classmethod
    def vendor(cls, user, ip_address: str | None = None) -> "Actor":
        return cls(kind=ActorKind.VENDOR, label=user.email, ip_address=ip_address)


def journal_entry_build(
    *,
    actor: Actor,
    action: str,
    summary: str,
    target=None,
    changes: dict | None = None,
) -> ActionLog:
    """An unsaved entry, for writers that insert many at once (``bulk_create``)."""
    user = actor.user if actor.kind in (ActorKind.PARENT, ActorKind.AGENT) else None
    return ActionLog(
        actor=user,
        actor_label=actor.label[:254],
        actor_kind=actor.kind,
        actor_role=actor.role,
        ip_address=actor.ip_address,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        summary=summary[:255],
        changes=changes or {},
    )


def journal_record(
    *,
    actor: Actor,
    action: str,
    summary: str,
    target=None,
    changes: dict | None = None,
) -> ActionLog:
    """Append one entry to the journal of the current schema."""
    entry = journal_entry_build(actor=actor, action=action, summary=summary, target=target,
                                changes=changes)
    entry.save(force_insert=True)
    return entry
