"""The Lambda handler with real-shaped events: every HTTP event kind, stage prefixes, and Zappa's invocations."""
import json
import logging
import os
import re
import subprocess
import sys
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings

from taskapi.lambda_function import event_kind, handler
from tests import lambda_events as events
from tests.harness import ROOT

CUSTOM_DOMAIN = "api.tasks.example.com"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def deployed_hosts() -> list[str]:
    """ALLOWED_HOSTS exactly as settings compute them in the dev stage on Lambda (with one custom domain)."""
    env = {**os.environ, "STAGE": "dev", "DJANGO_SECRET_KEY": "x" * 50, "CUSTOM_DOMAINS": CUSTOM_DOMAIN,
           "AWS_REGION": events.REGION}
    env.pop("DJANGO_ALLOWED_HOSTS", None)
    output = subprocess.run([sys.executable, "-c", "from taskapi import settings; print(settings.ALLOWED_HOSTS)"],
                            cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    return eval(output, {})  # noqa: S307 - the repr of a list of strings from our own settings


@pytest.fixture(autouse=True)
def on_lambda_hosts(deployed_hosts):
    with override_settings(ALLOWED_HOSTS=deployed_hosts):
        yield


def call(event: dict) -> tuple[int, dict[str, str], bytes]:
    response = handler(event, None)
    return response["statusCode"], events.response_headers(response), events.response_body(response)


def json_of(body: bytes) -> dict:
    return json.loads(body)


def create(make_event, *prefix_args, **kwargs) -> tuple[int, dict[str, str], dict]:
    status, headers, body = call(make_event("POST", *prefix_args, body={"title": "Ship it", "tags": ["lambda"]},
                                            **kwargs))
    return status, headers, json_of(body)


# -- HTTP events: routes match and absolute URLs carry the prefix the client used ------------------------------

@pytest.mark.parametrize(
    ("make_event", "kwargs", "base_url"),
    [
        (events.rest_v1, {"stage": "dev"}, f"https://{events.REST_API_HOST}/dev"),
        (events.rest_v1, {"stage": "", "host": CUSTOM_DOMAIN}, f"https://{CUSTOM_DOMAIN}"),
        (events.rest_v1, {"stage": "", "host": CUSTOM_DOMAIN, "base_path": "/v1"}, f"https://{CUSTOM_DOMAIN}/v1"),
        (events.http_v2, {"stage": "dev"}, f"https://{events.HTTP_API_HOST}/dev"),
        (events.http_v2, {"stage": "$default"}, f"https://{events.HTTP_API_HOST}"),
        (events.function_url, {}, f"https://{events.FUNCTION_URL_HOST}"),
        (events.alb, {}, f"https://{events.ALB_HOST}"),
        (events.alb, {"multi_value": True}, f"https://{events.ALB_HOST}"),
    ],
    ids=["rest-stage", "rest-custom-domain", "rest-base-path", "http-stage", "http-default", "function-url",
         "alb", "alb-multi-value"],
)
def test_create_get_update_delete_through_every_event_kind(table, make_event, kwargs, base_url):
    status, headers, task = create(make_event, "/tasks", **kwargs)
    assert status == 201, task
    task_id = task["taskId"]
    assert headers["location"] == f"{base_url}/tasks/{task_id}"
    assert headers["etag"] == '"1"'
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"]
    assert task == {
        "taskId": task_id, "title": "Ship it", "description": None, "status": "pending", "priority": "medium",
        "dueDate": None, "tags": ["lambda"], "createdAt": task["createdAt"], "updatedAt": task["createdAt"],
        "version": 1,
    }

    status, headers, body = call(make_event("GET", f"/tasks/{task_id}", **kwargs))
    assert (status, headers["etag"], json_of(body)) == (200, '"1"', task)

    status, headers, body = call(make_event("PATCH", f"/tasks/{task_id}", body={"status": "completed"},
                                            headers={"If-Match": '"1"'}, **kwargs))
    updated = json_of(body)
    assert (status, headers["etag"]) == (200, '"2"')
    assert updated == {**task, "status": "completed", "version": 2, "updatedAt": updated["updatedAt"]}

    status, _, body = call(make_event("DELETE", f"/tasks/{task_id}", headers={"If-Match": '"1"'}, **kwargs))
    assert status == 412
    assert json_of(body)["status"] == 412
    status, _, body = call(make_event("DELETE", f"/tasks/{task_id}", **kwargs))
    assert (status, json_of(body)) == (200, {"taskId": task_id, "deleted": True})

    status, headers, body = call(make_event("GET", f"/tasks/{task_id}", **kwargs))
    assert status == 404
    assert headers["content-type"] == "application/problem+json"
    assert json_of(body) == {"type": "about:blank", "title": "Task not found", "status": 404,
                             "detail": f"No task has the id {task_id}."}


@pytest.mark.parametrize(
    ("make_event", "kwargs", "base_url"),
    [
        (events.rest_v1, {"stage": "dev"}, f"https://{events.REST_API_HOST}/dev"),
        (events.http_v2, {"stage": "prod"}, f"https://{events.HTTP_API_HOST}/prod"),
        (events.function_url, {}, f"https://{events.FUNCTION_URL_HOST}"),
        (events.alb, {}, f"https://{events.ALB_HOST}"),
    ],
    ids=["rest-stage", "http-stage", "function-url", "alb"],
)
def test_next_link_carries_the_prefix_and_pages_through(table, make_event, kwargs, base_url):
    created = [create(make_event, "/tasks", **kwargs)[2]["taskId"] for _ in range(3)]
    status, _, body = call(make_event("GET", "/tasks?limit=2&priority=medium", **kwargs))
    page = json_of(body)
    assert status == 200
    assert [task["taskId"] for task in page["results"]] == created[::-1][:2]
    next_url = urlsplit(page["next"])
    assert f"{next_url.scheme}://{next_url.netloc}{next_url.path}" == f"{base_url}/tasks"
    assert {name: values for name, values in parse_qs(next_url.query).items() if name != "cursor"} == {
        "priority": ["medium"], "order": ["desc"], "limit": ["2"]}

    assert parse_qs(next_url.query)["cursor"]


# Core bug (issue 2): the repository (then tasks/repository.py) read `TaskModel.status_index.created_at` (an
# attribute of the index *instance*), which raises AttributeError whenever a cursor bounds the range: every second
# page is a 500.
def test_following_next_under_a_stage_returns_the_rest(table):
    created = [create(events.rest_v1, "/tasks")[2]["taskId"] for _ in range(3)]
    next_url = urlsplit(json_of(call(events.rest_v1("GET", "/tasks?limit=2"))[2])["next"])
    # The client follows `next` as given; the event builder adds the stage back to the path.
    status, _, body = call(events.rest_v1("GET", f"{next_url.path.removeprefix('/dev')}?{next_url.query}"))
    last = json_of(body)
    assert status == 200
    assert [task["taskId"] for task in last["results"]] == created[:1]
    assert last["next"] is None


def test_base64_body_from_a_rest_api_with_binary_media_types(table):
    # Zappa sets binaryMediaTypes */*, so API Gateway hands every body over base64-encoded.
    status, headers, task = create(events.rest_v1, "/tasks", base64_encoded=True)
    assert status == 201
    assert headers["location"] == f"https://{events.REST_API_HOST}/dev/tasks/{task['taskId']}"


def test_browsable_api_links_and_static_files_carry_the_stage(table):
    status, headers, body = call(events.rest_v1("GET", "/tasks", headers={"Accept": "text/html"}))
    html = body.decode()
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    links = set(re.findall(r'(?:href|src|action)="([^"]*)"', html))
    assert {"/dev/static/rest_framework/css/bootstrap.min.css", "/dev/static/rest_framework/js/default.js",
            "/dev/tasks", "/dev/tasks?format=json"} <= links
    # In-page anchors (the form tabs) and the inline favicon are the only links without the stage.
    assert [link for link in links if not link.startswith(("/dev/", "#", "data:"))] == []

    status, headers, body = call(events.rest_v1("GET", "/static/rest_framework/css/bootstrap.min.css"))
    assert status == 200
    assert headers["content-type"].startswith("text/css")
    assert body.startswith(b"/*!")

    # Binary files go back base64-encoded, as API Gateway requires.
    font = "/static/rest_framework/fonts/glyphicons-halflings-regular.woff2"
    response = handler(events.rest_v1("GET", font), None)
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is True
    assert events.response_body(response)[:4] == b"wOF2"


def test_static_files_without_prefix_on_a_function_url(table):
    status, _, body = call(events.function_url("GET", "/tasks", headers={"Accept": "text/html"}))
    assert status == 200
    assert 'href="/static/rest_framework/css/bootstrap.min.css"' in body.decode()
    status, _, _ = call(events.function_url("GET", "/static/rest_framework/css/bootstrap.min.css"))
    assert status == 200


def test_schema_under_a_stage(table):
    status, headers, body = call(events.http_v2("GET", "/openapi.json", stage="dev"))
    assert status == 200
    assert "/tasks" in json_of(body)["paths"]


def test_unknown_path_under_a_stage_is_a_problem(table):
    status, headers, body = call(events.rest_v1("GET", "/nope"))
    assert (status, headers["content-type"]) == (404, "application/problem+json")
    assert json_of(body) == {"type": "about:blank", "title": "Not Found", "status": 404,
                             "detail": "No resource at this URL."}


def test_http_api_stage_path_without_the_stage_segment_is_not_stripped(table):
    # Stage "prod" must not eat the start of "/products": the prefix only matches a whole segment.
    event = events.http_v2("GET", "/products", stage="$default")
    event["requestContext"]["stage"] = "prod"
    status, _, _ = call(event)
    assert status == 404


# Core bug (issue 2): taskapi.problems.exception_handler answers DRF-raised SuspiciousOperation (DisallowedHost)
# with a logged 500 instead of Django's 400.
def test_host_outside_the_allowed_hosts_is_refused(table):
    status, headers, body = call(events.rest_v1("POST", "/tasks", host="evil.example.net", body={"title": "x"}))
    assert (status, headers["content-type"]) == (400, "application/problem+json")
    assert json_of(body)["status"] == 400


def test_cors_preflight_is_answered_by_the_app(table):
    status, headers, body = call(events.rest_v1("OPTIONS", "/tasks", headers={
        "Origin": "https://app.example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,if-match"}))
    assert status == 200
    assert headers["access-control-allow-origin"] in {"*", "https://app.example.org"}
    assert "if-match" in headers["access-control-allow-headers"]


# -- Zappa's invocations --------------------------------------------------------------------------------------

def test_keep_warm_answers_without_a_django_request(caplog):
    caplog.set_level(logging.INFO)
    assert handler(events.keep_warm(), None) == {"warm": True}
    assert [record for record in caplog.records if record.name == "taskapi.requests"] == []


def test_manage_runs_the_command_and_returns_its_output(table, capsys):
    result = handler({"manage": "create_table --dry-run"}, None)
    assert result == {
        "command": "create_table --dry-run",
        "status": 0,
        "output": f"table {table}: unchanged\npoint-in-time recovery on {table}: unchanged\n"
                  f"table {table}-idempotency: unchanged\n"  # issue 6: Idempotency-Key records, with TTL
                  f"time to live on {table}-idempotency.expiresAt: unchanged\n"
                  f"table {table}-changes: unchanged\n"  # issue 13: the changes feed's log, with TTL
                  f"time to live on {table}-changes.expiresAt: unchanged\n"
                  f"table {table}-connections: unchanged\n"  # issue 14: WebSocket connections, with TTL
                  f"time to live on {table}-connections.expiresAt: unchanged\n"
                  f"table {table}-tags: unchanged\n"  # issue 18: tag listings by index
                  "index backfill: unchanged (complete)\n"  # issue 18: the sharded listing keys
                  "tag backfill: unchanged (complete)\n",  # and the tag slots
    }
    # `zappa manage` shows the log tail, so the output is printed too.
    assert capsys.readouterr().out.startswith(f"table {table}: unchanged\n")


def test_manage_with_an_unknown_command_reports_failure(caplog):
    result = handler({"manage": "no_such_command --x"}, None)
    assert result == {"command": "no_such_command --x", "status": 1,
                      "output": "CommandError: Unknown command: 'no_such_command'\n"}
    assert any(record.levelno == logging.ERROR and "no_such_command" in record.getMessage()
               for record in caplog.records)


def test_command_runs_a_project_function(table):
    result = handler({"command": "taskapi.lambda_function.status"}, None)
    assert result == {"command": "taskapi.lambda_function.status",
                      "result": {"stage": "test", "table": table, "table_status": "ACTIVE"}}


@pytest.mark.parametrize("name", ["os.getcwd", "tasks.services.no_such_function", "nodots", 42])
def test_command_outside_the_project_or_unknown_is_refused(name, caplog):
    result = handler({"command": name}, None)
    assert set(result) == {"error"}
    assert repr(name) in result["error"]
    assert [record.levelno for record in caplog.records if record.name == "taskapi.lambda"] == [logging.ERROR]


def test_raw_command_is_refused_and_not_run(tmp_path, caplog):
    marker = tmp_path / "ran"
    result = handler({"raw_command": f"open({str(marker)!r}, 'w').close()"}, None)
    assert result == {"error": "raw_command invocations are disabled: they would run arbitrary Python in the "
                               "function."}
    assert not marker.exists()
    assert any(record.levelno == logging.ERROR for record in caplog.records if record.name == "taskapi.lambda")


@pytest.mark.parametrize("event", [{}, {"hello": "world"}, {"Records": [{"eventSource": "aws:sqs"}]}, [1, 2], "x"])
def test_unknown_events_are_refused_with_a_logged_error(event, caplog):
    result = handler(event, None)
    assert set(result) == {"error"}
    assert result["error"].startswith("Unknown event")
    assert any(record.levelno == logging.ERROR for record in caplog.records if record.name == "taskapi.lambda")


def test_scheduled_event_of_another_rule_runs_only_project_functions(caplog):
    assert handler(events.scheduled("taskapi-dev-os.getcwd"), None) == {
        "error": "command 'os.getcwd' is not a function of this project (taskapi., tasks., ops.)."}


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        (events.rest_v1("GET", "/tasks"), "http"),
        (events.http_v2("GET", "/tasks"), "http"),
        (events.function_url("GET", "/tasks"), "http"),
        (events.alb("GET", "/tasks"), "http"),
        (events.keep_warm(), "keep_warm"),
        (events.scheduled("taskapi-dev-tasks.jobs.cleanup"), "scheduled"),
        ({"manage": "check"}, "manage"),
        ({"command": "a.b"}, "command"),
        ({"raw_command": "1"}, "raw_command"),
        ({"Records": []}, "unknown"),
    ],
)
def test_event_kind(event, kind):
    assert event_kind(event) == kind


def test_django_is_set_up_once_at_import_and_never_per_invocation():
    """A fresh process: importing the handler sets Django up; invocations then work with django.setup() broken."""
    script = """
import json, django
from django.apps import apps
from taskapi.lambda_function import handler
from tests import lambda_events as events
ready = apps.ready
def again(*args, **kwargs):
    raise AssertionError("django.setup() called again")
django.setup = again
warm = handler(events.keep_warm(), None)
schema = handler(events.rest_v1("GET", "/openapi.json", host="127.0.0.1"), None)["statusCode"]
print(json.dumps([ready, warm, schema]))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "taskapi.settings"})
    assert (done.returncode, done.stdout.splitlines()[-1:]) == (0, ['[true, {"warm": true}, 200]']), done.stderr


def test_alb_response_has_a_status_description(table):
    response = handler(events.alb("GET", "/nope"), None)
    assert (response["statusCode"], response["statusDescription"]) == (404, "404 Not Found")


def test_scheduled_event_runs_a_project_function(table):
    assert handler(events.scheduled("taskapi-dev-taskapi.lambda_function.status"), None) == {
        "command": "taskapi.lambda_function.status",
        "result": {"stage": "test", "table": table, "table_status": "ACTIVE"}}


def test_secret_key_comes_from_the_ssm_parameter_at_import(tmp_path):
    """A fresh process: the handler module reads DJANGO_SECRET_KEY_PARAMETER from SSM before settings load."""
    import boto3

    name = f"/taskapi/test/{uuid.uuid4().hex}"
    ssm = boto3.client("ssm", region_name=os.environ["AWS_REGION"])
    ssm.put_parameter(Name=name, Value="from-ssm-" + "k" * 40, Type="SecureString")
    env = {**os.environ, "STAGE": "dev", "DJANGO_SECRET_KEY_PARAMETER": name}
    env.pop("DJANGO_SECRET_KEY", None)
    script = "from taskapi import lambda_function; from django.conf import settings; print(settings.SECRET_KEY)"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (0, "from-ssm-" + "k" * 40), done.stderr
    ssm.delete_parameter(Name=name)

    missing = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                             env={**env, "DJANGO_SECRET_KEY_PARAMETER": name})
    assert missing.returncode != 0
    assert (f"ImproperlyConfigured: The SSM parameter {name} (DJANGO_SECRET_KEY_PARAMETER) does not exist"
            in missing.stderr)


# -- the prefix itself -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("event", "prefix"),
    [
        (events.rest_v1("GET", "/tasks"), "/dev"),
        (events.rest_v1("GET", "/"), "/dev"),
        (events.rest_v1("GET", "/tasks/"), "/dev"),
        (events.rest_v1("GET", "/tasks", stage="", host=CUSTOM_DOMAIN), ""),
        (events.rest_v1("GET", "/tasks", stage="", host=CUSTOM_DOMAIN, base_path="/api/v1"), "/api/v1"),
        ({**events.rest_v1("GET", "/tasks"), "requestContext": {"path": "/other/path", "stage": "dev"}}, ""),
        ({**events.rest_v1("GET", "/tasks"), "requestContext": {"path": "/d?v/tasks", "stage": "dev"}}, ""),
        ({"httpMethod": "GET", "path": "/tasks", "headers": {}}, ""),  # a Lambda console test event
        (events.http_v2("GET", "/tasks", stage="dev"), "/dev"),
        (events.http_v2("GET", "/", stage="dev"), "/dev"),
        (events.http_v2("GET", "/tasks"), ""),
        (events.function_url("GET", "/tasks"), ""),
        (events.alb("GET", "/dev/tasks"), ""),
    ],
)
def test_event_prefix(event, prefix):
    from taskapi.stage import event_prefix

    assert event_prefix(event) == prefix
