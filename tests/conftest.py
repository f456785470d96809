"""Session set-up shared by every suite: emulator, Django, and a table created for this run."""
import io
import os

import pytest

from tests import harness


def pytest_configure(config: pytest.Config) -> None:
    config._taskapi_emulator = harness.configure_environment()
    import django
    from django.core.management import call_command

    django.setup()
    call_command("create_table", wait=15, stdout=io.StringIO())


def pytest_unconfigure(config: pytest.Config) -> None:
    from ops import aws

    aws.table_delete(os.environ["TASKS_TABLE"])
    aws.table_delete(os.environ["IDEMPOTENCY_TABLE"])
    emulator = getattr(config, "_taskapi_emulator", None)
    if emulator is not None:
        emulator.stop()


@pytest.fixture
def table() -> str:
    """The test table, emptied: for tests that need to know every task in it."""
    name = os.environ["TASKS_TABLE"]
    harness.table_clear(name)
    return name
