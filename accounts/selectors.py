from accounts.models import AccountType, User
from core.models import ActionLog


def agents_list():
    return (
        User.objects.filter(account_type=AccountType.AGENT)
        .prefetch_related("groups")
        .order_by("last_name", "first_name", "email")
    )


def journal_recent(*, limit: int = 200):
    return ActionLog.objects.all()[:limit]
