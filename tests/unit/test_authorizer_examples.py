"""The stage examples of deploy/zappa-examples.json, each fed to the real handler as API Gateway sends its events.

After each authorizer API Gateway puts the caller in requestContext; the handler reads it without any change
(tasks.authentication). Identities come from the authorizer only; a client cannot set them with headers.
"""
import json

import pytest
from django.test import override_settings

from ops.stages import stage_load
from tests import harness, lambda_events
from tests.lambda_events import ACCOUNT, REGION

EXAMPLES = harness.ROOT / "deploy" / "zappa-examples.json"
POOL = f"https://cognito-idp.{REGION}.amazonaws.com/us-east-1_EXAMPLE"


@pytest.fixture(scope="module")
def handler():
    from taskapi.lambda_function import handler

    return handler


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> dict:
    """zappa_settings.json with the examples merged in, the way an operator adds them."""
    merged = {**json.loads((harness.ROOT / "zappa_settings.json").read_text()), **json.loads(EXAMPLES.read_text())}
    path = tmp_path_factory.mktemp("zappa") / "zappa_settings.json"
    path.write_text(json.dumps(merged))
    return {"path": path, "stages": merged}


def cognito_rest(sub: str) -> dict:
    # REST API + COGNITO_USER_POOLS authorizer: the ID token's claims, as strings, under authorizer.claims.
    return {"authorizer": {"claims": {"sub": sub, "iss": POOL, "cognito:username": sub[:5], "token_use": "id",
                                      "aud": "3abc4defexampleclient", "email": f"{sub[:5]}@example.com",
                                      "auth_time": "1795939100", "exp": "Wed Nov 25 09:00:00 UTC 2026"}},
            "identity": {"apiKeyId": None, "userArn": None, "caller": None, "sourceIp": "203.0.113.7"}}


def iam_rest(user: str) -> dict:
    # REST API + AWS_IAM: the SigV4 signer's identity.
    arn = f"arn:aws:iam::{ACCOUNT}:user/{user}"
    return {"identity": {"userArn": arn, "user": f"AIDA{user.upper()}EXAMPLE", "caller": f"AIDA{user.upper()}EXAMPLE",
                         "accountId": ACCOUNT, "accessKey": "AKIAEXAMPLE", "apiKeyId": None, "sourceIp": "203.0.113.7",
                         "cognitoIdentityId": None, "cognitoAuthenticationType": None}}


def api_key_rest(key_id: str) -> dict:
    # REST API + api_key_required: the id of the key the client sent in x-api-key (the value never reaches the app).
    return {"identity": {"apiKeyId": key_id, "apiKey": f"value-of-{key_id}", "userArn": None, "caller": None,
                         "sourceIp": "203.0.113.7"}}


def jwt_http(sub: str) -> dict:
    # HTTP API + JWT authorizer (attached outside Zappa, see the README): claims and scopes under authorizer.jwt.
    return {"authorizer": {"jwt": {"claims": {"sub": sub, "iss": POOL, "client_id": "3abc4defexampleclient",
                                              "token_use": "access", "scope": "tasks/read tasks/write"},
                                   "scopes": ["tasks/read", "tasks/write"]}}}


def iam_http(user: str) -> dict:
    # HTTP API + AWS_IAM (Zappa's v2 authorization): the signer under authorizer.iam.
    return {"authorizer": {"iam": {"accessKey": "AKIAEXAMPLE", "accountId": ACCOUNT, "callerId": f"AIDA{user.upper()}",
                                   "principalOrgId": None, "userArn": f"arn:aws:iam::{ACCOUNT}:user/{user}",
                                   "userId": f"AIDA{user.upper()}", "cognitoIdentity": None}}}


CASES = {  # example stage -> payload version, how a caller looks, and the owner the app stores
    "prod-cognito": ("v1", cognito_rest, "cognito:{}"),
    "prod-iam": ("v1", iam_rest, f"iam:arn:aws:iam::{ACCOUNT}:user/{{}}"),
    "prod-keys": ("v1", api_key_rest, "apikey:{}"),
    "prod-http": ("v2", jwt_http, "cognito:{}"),
    "prod-http-iam": ("v2", iam_http, f"iam:arn:aws:iam::{ACCOUNT}:user/{{}}"),
}


def invoke(handler, version: str, method: str, path: str, *, context: dict, body=None, headers=None):
    if version == "v1":
        event = lambda_events.rest_v1(method, path, stage="prod", body=body, headers=headers)
        event["requestContext"]["identity"] = {**event["requestContext"]["identity"], **context.get("identity", {})}
        event["requestContext"].update({k: v for k, v in context.items() if k != "identity"})
    else:
        event = lambda_events.http_v2(method, path, body=body, headers=headers)
        event["requestContext"].update(context)
    response = handler(event, None)
    text = lambda_events.response_body(response)
    return response["statusCode"], json.loads(text) if text else None


def test_every_example_stage_resolves_on_top_of_prod(examples):
    stages = examples["stages"]
    assert sorted(json.loads(EXAMPLES.read_text())) == sorted(CASES)  # every example has its handler test
    for name in CASES:
        stage = stage_load(name, path=examples["path"])
        assert (stage.function_name, stage.tasks_table) == (f"taskapi-{name}", "taskapi-prod-tasks")
    assert stages["prod-cognito"]["authorizer"]["type"] == "COGNITO_USER_POOLS"
    assert stages["prod-iam"]["iam_authorization"] is True
    assert stages["prod-keys"]["api_key_required"] is True
    assert stages["prod-http"]["apigateway_version"] == "v2"
    assert stages["prod-http-iam"]["iam_authorization"] is True


@pytest.mark.parametrize("example", sorted(CASES))
def test_each_authorizers_callers_own_their_tasks(handler, table, example):
    version, caller, owner = CASES[example]
    alice, bob = caller("alice-1234"), caller("bob-5678")
    hosts = [lambda_events.REST_API_HOST, lambda_events.HTTP_API_HOST]
    with override_settings(TASKS_REQUIRE_IDENTITY=True, ALLOWED_HOSTS=hosts):  # as prod runs
        status, created = invoke(handler, version, "POST", "/tasks", context=alice, body={"title": "Alice's"})
        assert status == 201
        url = f"/tasks/{created['taskId']}"
        assert invoke(handler, version, "GET", url, context=alice) == (200, created)
        status, problem = invoke(handler, version, "GET", url, context=bob)
        assert (status, problem["title"]) == (404, "Task not found")
        assert invoke(handler, version, "DELETE", url, context=bob)[0] == 404
        assert [task["taskId"] for task in invoke(handler, version, "GET", "/tasks", context=bob)[1]["results"]] == []
        listed = invoke(handler, version, "GET", "/tasks", context=alice)[1]["results"]
        assert [task["taskId"] for task in listed] == [created["taskId"]]
        # A client cannot claim an identity with headers: without the authorizer's context it has none.
        forged = {"X-Amzn-Oidc-Identity": "alice-1234", "X-Api-Key": "value-of-alice-1234"}
        assert invoke(handler, version, "GET", "/tasks", context={}, headers=forged)[0] == 401
    (item,) = harness.table_items(table)
    assert item["owner"] == {"S": owner.format("alice-1234")}

