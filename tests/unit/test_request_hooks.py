"""No SQL database, so no per-request connection bookkeeping: django.db's request hooks are off in the
processes that serve HTTP (taskapi.wsgi, hence the Lambda handler), and requests still run their other hooks."""
import json
import os
import subprocess
import sys

from django.core.signals import request_finished, request_started
from django.db import close_old_connections, reset_queries
from django.test import override_settings

from taskapi.lambda_function import handler
from taskapi.requesthooks import drop_sql_request_hooks
from tests import lambda_events as events
from tests.harness import ROOT


def receivers(signal) -> list:
    return [reference() for _, reference, _ in signal.receivers]


def test_a_fresh_handler_process_has_no_django_db_request_hooks():
    code = ("from django.core.signals import request_finished as f, request_started as s; "
            "import taskapi.lambda_function; "
            "print(sorted({r().__name__ for signal in (s, f) for _, r, _ in signal.receivers}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=os.environ, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    names = done.stdout.strip().splitlines()[-1]
    assert "reset_queries" not in names and "close_old_connections" not in names
    assert "close_caches" in names  # other hooks stay


def test_the_handler_serves_requests_without_django_db_hooks_and_keeps_the_others(table):
    # Django's test client reconnects close_old_connections after each of its requests: start from that.
    request_started.connect(reset_queries)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
    assert drop_sql_request_hooks() is True
    finished = []

    def on_finished(**kwargs):
        finished.append(kwargs["sender"])

    request_finished.connect(on_finished)
    try:
        with override_settings(ALLOWED_HOSTS=["*"]):
            created = handler(events.rest_v1("POST", "/tasks", body={"title": "hooks"}), None)
            task_id = json.loads(created["body"])["taskId"]
            fetched = handler(events.rest_v1("GET", f"/tasks/{task_id}"), None)
    finally:
        request_finished.disconnect(on_finished)
    assert (created["statusCode"], fetched["statusCode"]) == (201, 200)
    assert json.loads(fetched["body"])["title"] == "hooks"
    assert len(finished) == 2  # request_finished still fires for every request
    assert reset_queries not in receivers(request_started)
    assert close_old_connections not in receivers(request_started) + receivers(request_finished)


def test_hooks_stay_when_a_database_is_configured():
    request_started.connect(reset_queries)
    try:
        sqlite = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
        assert drop_sql_request_hooks(sqlite) is False
        assert reset_queries in receivers(request_started)
        assert drop_sql_request_hooks() is True
        assert reset_queries not in receivers(request_started)
    finally:
        request_started.disconnect(reset_queries)
