"""e2e fixtures: a live API server process on the session's emulator endpoint and table."""
import pytest

from tests.harness import LiveServer


@pytest.fixture(scope="session")
def api_server():
    server = LiveServer()
    yield server
    server.stop()
