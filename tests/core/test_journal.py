"""The action journal is append-only, enforced by the database in every schema."""

import pytest
from django.db import DatabaseError, connection, transaction

from core.journal import Actor, journal_record
from core.models import ActionLog


@pytest.mark.parametrize("schema", ["alpha", "public"])
@pytest.mark.parametrize("statement", [
    "UPDATE core_actionlog SET summary = 'réécrit'",
    "DELETE FROM core_actionlog",
    "TRUNCATE core_actionlog",
])
def test_the_journal_refuses_updates_and_deletes(db, schema, statement):
    connection.set_schema(schema)
    entry = journal_record(actor=Actor.system(), action="test.entry", summary="original")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)
    assert ActionLog.objects.get(pk=entry.pk).summary == "original"


def test_the_orm_cannot_delete_an_entry_either(commune_a):
    with commune_a:
        entry = journal_record(actor=Actor.system(), action="test.entry", summary="original")
        with pytest.raises(DatabaseError), transaction.atomic():
            entry.delete()
        assert ActionLog.objects.filter(pk=entry.pk).exists()


def test_an_entry_records_who_what_and_changes(commune_a, parent_a):
    actor = Actor(kind="parent", label=parent_a.email, user=parent_a, ip_address="192.0.2.7")
    with commune_a:
        entry = journal_record(actor=actor, action="test.change", target=parent_a,
                               summary="Téléphone modifié", changes={"phone": ["06", "07"]})
        entry.refresh_from_db()
    assert entry.actor_id == parent_a.pk and entry.ip_address == "192.0.2.7"
    assert entry.target_type == "accounts.user" and entry.target_id == str(parent_a.pk)
    assert entry.changes == {"phone": ["06", "07"]}
