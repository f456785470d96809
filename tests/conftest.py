"""Session set-up shared by every suite: emulator, Django, and a table created for this run.

This runs at import, before any other conftest, because those import Django modules.
"""
import io
import json
import logging
import os

import django
import pytest
from django.core.management import call_command

from tests import harness

_EMULATORS = harness.configure_environment()
django.setup()
call_command("create_table", wait=15, stdout=io.StringIO())


def pytest_unconfigure(config: pytest.Config) -> None:
    from ops import aws

    aws.table_delete(os.environ["TASKS_TABLE"])
    aws.table_delete(os.environ["IDEMPOTENCY_TABLE"])
    aws.table_delete(f"{os.environ['TASKS_TABLE']}-changes")  # the changes feed's log
    aws.table_delete(f"{os.environ['TASKS_TABLE']}-connections")  # WebSocket connections (issue 14)
    aws.table_delete(f"{os.environ['TASKS_TABLE']}-tags")  # tag listings by index (issue 18)
    for emulator in _EMULATORS:
        emulator.stop()


@pytest.fixture
def table() -> str:
    """The test table, emptied: for tests that need to know every task in it."""
    name = os.environ["TASKS_TABLE"]
    harness.table_clear(name)
    harness.table_clear(f"{name}-tags", keys=("taskId", "slot"))  # their tag slots (issue 18)
    return name


@pytest.fixture
def log_lines():
    """Captures log records as the app formats them (JSON, with request ids); call it to read and reset."""
    from taskapi.logs import JsonFormatter, RequestContextFilter

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    logging.getLogger().addHandler(handler)

    def read() -> list[dict]:
        lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
        buffer.seek(0)
        buffer.truncate()
        return lines

    yield read
    logging.getLogger().removeHandler(handler)


@pytest.fixture(autouse=True)
def _script_prefix_reset():
    """Requests under a stage set Django's per-thread script prefix; Django's test client never resets it."""
    yield
    from django.urls import set_script_prefix

    set_script_prefix("/")
