"""Error reports carry the commune tag and no personal data."""

import json

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from config.sentry import init_sentry
from tests.conftest import login


class MemoryTransport(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.events = []

    def capture_envelope(self, envelope: Envelope):
        for item in envelope.items:
            if item.type == "event":
                self.events.append(item.payload.json)


@pytest.fixture
def transport():
    memory = MemoryTransport()
    init_sentry(dsn="https://cle@sentry.invalid/1", environment="test", transport=memory)
    yield memory
    sentry_sdk.init()  # back to a disabled client


def test_an_error_report_has_the_commune_and_no_personal_data(transport, client_a, commune_a,
                                                              parent_a, settings):
    settings.ROOT_URLCONF = "tests.urls_error"
    client_a.raise_request_exception = False
    login(client_a, commune_a, parent_a)
    response = client_a.post("/erreur/?email=parent@alpha.test",
                             {"nom": "Lefèvre", "enfant": "Léa Dupont-Moreau"})
    assert response.status_code == 500
    sentry_sdk.flush()
    assert len(transport.events) == 1
    event = transport.events[0]
    assert event["tags"]["commune"] == "alpha"
    dumped = json.dumps(event, ensure_ascii=False)
    for secret in ("parent@alpha.test", "Camille", "Lefèvre", "Léa Dupont", "parvis_session"):
        assert secret not in dumped
    assert "ValueError" in dumped and "calcul impossible" in dumped
