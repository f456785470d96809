"""Ownership: API Gateway identities (through apig-wsgi, as on Lambda) own their tasks; others get 404."""
import base64
import json
import os
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings

from tests import harness

ALICE = {"authorizer": {"claims": {"sub": "alice-sub", "email": "alice@example.com"}}}  # Cognito user pool
BOB_IAM = {"identity": {"userArn": "arn:aws:iam::123456789012:user/bob", "apiKeyId": None}}
CAROL_KEY = {"identity": {"apiKeyId": "k3y-carol", "userArn": None}}
NOBODY = {"identity": {"userArn": None, "apiKeyId": None, "sourceIp": "203.0.113.9"}}


@pytest.fixture(scope="module")
def handler():
    """The real Lambda entry point: apig-wsgi hands the event's requestContext to the app."""
    from taskapi.lambda_function import handler

    return handler


def call(handler, method: str, path: str, *, context: dict, body=None, query=None, headers=None) -> tuple:
    """Invokes the WSGI app as Lambda would for a REST API (payload 1.0) event; returns (status, headers, json)."""
    all_headers = {"Host": "testserver", "Content-Type": "application/json", **(headers or {})}
    event = {
        "version": "1.0",
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "requestContext": {"stage": "test", "requestId": "r-1", "httpMethod": method, "path": path,
                           "identity": {}, **context},
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }
    response = handler(event, None)
    body = base64.b64decode(response["body"]) if response.get("isBase64Encoded") else response["body"]
    payload = json.loads(body) if body else None
    headers = {k: v[-1] for k, v in response.get("multiValueHeaders", {}).items()} or response.get("headers", {})
    return response["statusCode"], headers, payload


def test_identity_from_every_provider_shape():
    from tasks.authentication import identity_from

    assert identity_from(ALICE) == "cognito:alice-sub"
    assert identity_from({"authorizer": {"jwt": {"claims": {"sub": "s2"}, "scopes": None}}}) == "cognito:s2"
    assert identity_from(BOB_IAM) == "iam:arn:aws:iam::123456789012:user/bob"
    assert identity_from({"authorizer": {"iam": {"userArn": "arn:aws:iam::1:role/r"}}}) == "iam:arn:aws:iam::1:role/r"
    assert identity_from({"authorizer": {"principalId": "p-7"}}) == "lambda:p-7"
    assert identity_from(CAROL_KEY) == "apikey:k3y-carol"
    # A Cognito user calling with an API key is the Cognito user.
    assert identity_from({**ALICE, **CAROL_KEY}) == "cognito:alice-sub"
    assert identity_from(NOBODY) is None
    assert identity_from(None) is None


def test_owner_sees_own_task_and_others_get_404_on_every_operation(handler, table):
    status, headers, alice_task = call(handler, "POST", "/tasks", context=ALICE, body={"title": "Alice's"})
    assert status == 201
    task_url = f"/tasks/{alice_task['taskId']}"
    assert call(handler, "GET", task_url, context=ALICE)[0] == 200
    for intruder in (BOB_IAM, CAROL_KEY, NOBODY):
        for method, body in (("GET", None), ("PATCH", {"title": "mine now"}), ("PUT", {"status": "completed"}),
                             ("DELETE", None)):
            status, headers, problem = call(handler, method, task_url, context=intruder, body=body)
            assert (status, problem["title"]) == (404, "Task not found"), (intruder, method)
    # Nothing the intruders sent was written.
    status, headers, fetched = call(handler, "GET", task_url, context=ALICE)
    assert fetched == alice_task
    stored = {item["taskId"]["S"]: item for item in harness.table_items(table)}
    assert stored[alice_task["taskId"]]["owner"] == {"S": "cognito:alice-sub"}
    assert stored[alice_task["taskId"]]["ownerStatus"] == {"S": "cognito:alice-sub#pending"}


def test_listings_show_only_the_callers_tasks_from_the_owner_index(handler, table):
    mine = [call(handler, "POST", "/tasks", context=ALICE, body={"title": f"a{i}", "status": status})[2]
            for i, status in enumerate(["pending", "in_progress", "completed", "pending"])]
    bobs = [call(handler, "POST", "/tasks", context=BOB_IAM, body={"title": f"b{i}"})[2] for i in range(2)]
    demo = call(handler, "POST", "/tasks", context=NOBODY, body={"title": "open"})[2]

    def listed(context, query=None) -> list[str]:
        ids, query = [], {"limit": "2", **(query or {})}
        while True:  # follow `next` through every page
            status, _, page = call(handler, "GET", "/tasks", context=context, query=query)
            assert status == 200
            ids += [task["taskId"] for task in page["results"]]
            if page["next"] is None:
                return ids
            query = {name: values[0] for name, values in parse_qs(urlsplit(page["next"]).query).items()}

    assert listed(ALICE) == [task["taskId"] for task in reversed(mine)]
    assert listed(ALICE, {"status": "pending"}) == [mine[3]["taskId"], mine[0]["taskId"]]
    assert listed(BOB_IAM) == [task["taskId"] for task in reversed(bobs)]
    assert listed(CAROL_KEY) == []
    assert listed(NOBODY) == [demo["taskId"]]


def test_status_change_moves_the_task_in_the_owner_index(handler, table):
    task = call(handler, "POST", "/tasks", context=ALICE, body={"title": "Move me"})[2]
    status, _, changed = call(handler, "PATCH", f"/tasks/{task['taskId']}", context=ALICE,
                              body={"status": "completed"})
    assert status == 200
    ids = lambda s: [t["taskId"] for t in call(handler, "GET", "/tasks", context=ALICE, query={"status": s})[2]["results"]]  # noqa: E731
    assert ids("completed") == [task["taskId"]]
    assert ids("pending") == []
    stored = [item for item in harness.table_items(table) if item["taskId"]["S"] == task["taskId"]][0]
    assert stored["ownerStatus"] == {"S": "cognito:alice-sub#completed"}


def test_unowned_tasks_stay_out_of_the_owner_index(handler, table):
    call(handler, "POST", "/tasks", context=NOBODY, body={"title": "Demo"})
    (item,) = harness.table_items(table)
    assert "owner" not in item and "ownerStatus" not in item


def test_idempotency_keys_are_per_caller(handler, table):
    headers = {"Idempotency-Key": "shared-key"}
    first = call(handler, "POST", "/tasks", context=ALICE, body={"title": "A"}, headers=headers)
    second = call(handler, "POST", "/tasks", context=BOB_IAM, body={"title": "B"}, headers=headers)
    assert (first[0], second[0]) == (201, 201)
    assert first[2]["taskId"] != second[2]["taskId"]
    replay = call(handler, "POST", "/tasks", context=BOB_IAM, body={"title": "B"}, headers=headers)
    assert replay[2] == second[2]


def test_required_identity_answers_401_without_one(handler, table):
    with override_settings(TASKS_REQUIRE_IDENTITY=True):
        status, headers, problem = call(handler, "GET", "/tasks", context=NOBODY)
        assert status == 401
        assert headers["Content-Type"] == "application/problem+json"
        assert headers["WWW-Authenticate"] == 'Bearer realm="taskapi"'
        assert problem == {"type": "about:blank", "title": "Unauthorized", "status": 401,
                           "detail": "This API needs an identity from API Gateway (Cognito, IAM or an API key)."}
        assert call(handler, "POST", "/tasks", context=NOBODY, body={"title": "x"})[0] == 401
        assert call(handler, "POST", "/tasks", context=ALICE, body={"title": "x"})[0] == 201
        assert call(handler, "GET", "/openapi.json", context=NOBODY)[0] == 200  # the schema stays public
    assert len(harness.table_items(table)) == 1


def test_prod_requires_identity_by_default():
    import subprocess
    import sys

    env = {**os.environ, "STAGE": "prod", "DJANGO_SECRET_KEY": "k" * 50, "TASKS_REQUIRE_IDENTITY": ""}
    code = "import django; django.setup(); from django.conf import settings; print(settings.TASKS_REQUIRE_IDENTITY)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
