"""Helpers shared by the agent-page tests (their fixtures are in ``conftest.py``)."""

from accounts.models import StoredFile
from core.journal import Actor

SYSTEM = Actor.system("tests")


def stored_file(owner, name="attestation.pdf") -> StoredFile:
    return StoredFile.objects.create(owner=owner, file=f"documents/test/{name}",
                                     original_name=name, content_type="application/pdf",
                                     size_bytes=10)


def fill(template: str, world) -> str:
    return template.format(**{key: getattr(value, "pk", value) for key, value in world.items()})


def tap(client, world, child, present):
    return client.post("/agents/pointage/enregistrer/", {
        "unite": world["unit"].pk, "jour": world["today"].isoformat(), "enfant": child.pk,
        "present": "1" if present else "0"})
