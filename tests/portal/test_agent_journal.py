"""Agent pages: the journal and its filters.

Assertions are on data, status codes and ``data-*`` attributes, never on translated text.
"""

from datetime import timedelta

from accounts.roles import Role
from core.models import ActionLog
from portal.services.families import family_create
from tests.portal.agent_world import SYSTEM, tap

# -- journal --------------------------------------------------------------------------------

def test_the_journal_filters_by_family_child_author_and_days(world, commune_a, as_actor,
                                                             client_a):
    agent = as_actor(Role.SCHOOL_LIFE)
    tap(client_a, world, world["child"], True)  # journalled with the child's id, by the agent
    with commune_a:
        other = family_create(name="Autre", actor=SYSTEM)
        family_entries = set(ActionLog.objects.filter(
            target_type="portal.family", target_id=str(world["family"].pk))
            .values_list("pk", flat=True))
        tapped = ActionLog.objects.get(action="attendance.recorded")
        other_entry = ActionLog.objects.get(action="family.created",
                                            target_id=str(other.pk))

    def pks(query):
        response = client_a.get("/agents/journal/?" + query)
        assert response.status_code == 200
        return {entry.pk for entry in response.context["page"]}

    by_family = pks(f"famille={world['family'].pk}")
    assert family_entries <= by_family and other_entry.pk not in by_family
    by_child = pks(f"enfant={world['child'].pk}")
    assert tapped.pk in by_child and other_entry.pk not in by_child
    assert pks(f"auteur={agent.email.upper()[:8]}") == {tapped.pk}
    today = world["today"]
    assert tapped.pk in pks(f"du={today:%Y-%m-%d}&au={today:%Y-%m-%d}")
    assert pks(f"du={today + timedelta(days=1):%Y-%m-%d}") == set()
    assert pks(f"au={today - timedelta(days=1):%Y-%m-%d}") == set()


def test_the_journal_is_paginated(commune_a, as_actor, client_a):
    from core.journal import journal_record

    as_actor(Role.READ_ONLY)
    with commune_a:
        for number in range(60):
            journal_record(actor=SYSTEM, action="test.entry", summary=f"entrée {number}",
                           changes={"family_ids": [4242]})
    first = client_a.get("/agents/journal/?famille=4242")
    second = client_a.get("/agents/journal/?famille=4242&page=2")
    assert len(first.context["page"]) == 50 and len(second.context["page"]) == 10
    assert "famille=4242&amp;page=2" in first.content.decode()


def test_an_invalid_journal_filter_shows_no_entry(as_actor, client_a):
    as_actor(Role.READ_ONLY)
    response = client_a.get("/agents/journal/?famille=abc")
    assert response.status_code == 200 and list(response.context["page"]) == []
