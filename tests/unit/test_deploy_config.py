"""Deployment configuration: zappa_settings.json, the IAM policies it attaches, and settings in deployed stages."""
import json
import os
import re
import subprocess
import sys
import uuid

import botocore.client
import pytest
from django.test import override_settings

from ops import aws
from taskapi.lambda_function import handler
from tests import lambda_events as events
from tests.harness import ROOT

ZAPPA = json.loads((ROOT / "zappa_settings.json").read_text())
STAGES = ("dev", "prod")
# Variables of .env.example that are deliberately not Lambda environment variables, and why.
NOT_ON_LAMBDA = {
    "AWS_REGION": "reserved: Lambda sets it",
    "AWS_ENDPOINT_URL": "emulators only",
    "DJANGO_SECRET_KEY": "never committed: read from the SSM parameter DJANGO_SECRET_KEY_PARAMETER",
    "ALERT_EMAILS": "read by the ops commands, which run from a workstation, not the function",
    "ZAPPA_SETTINGS_FILE": "read by the ops commands, which run from a workstation, not the function",
    "ALERT_CRITICAL_EMAILS": "issue 16: read by setup_monitoring on a workstation, not the function",
    "ALERT_EMERGENCY_EMAILS": "issue 16: read by setup_monitoring on a workstation, not the function",
    "ALERT_PAGER_URL": "issue 16: read by setup_monitoring on a workstation, not the function",
    "LOCALSTACK_PORT": "make localstack-up and the LocalStack test tier, on a workstation or CI, not the function",
    "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI": "make run's local WebSocket gateway; deployed, each stage's own URL",
}


def stage_config(stage: str) -> dict:
    """Returns a stage's settings with `extends` applied, as Zappa merges them (one level, shallow)."""
    config = dict(ZAPPA[stage])
    parent = config.pop("extends", None)
    return {**stage_config(parent), **config} if parent else config


def policy(stage: str) -> dict:
    return json.loads((ROOT / stage_config(stage)["attach_policy"]).read_text())


def env_example_names() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z_][A-Z0-9_]*=", line)}


def settings_in(stage: str, code: str, **env: str) -> subprocess.CompletedProcess:
    """Imports taskapi.settings in a fresh process with only `env` on top of a clean environment."""
    clean = {key: value for key, value in os.environ.items()
             if not key.startswith(("DJANGO_", "CUSTOM_", "CORS_", "TASKS_", "STAGE"))}
    return subprocess.run([sys.executable, "-c", f"from taskapi import settings\n{code}"], cwd=ROOT,
                          env={**clean, "STAGE": stage, **env}, capture_output=True, text=True)


# -- zappa_settings.json ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", STAGES)
def test_stage_runs_the_custom_handler_on_python_3_11_with_the_issue_limits(stage):
    config = stage_config(stage)
    assert {key: config[key] for key in (
        "runtime", "memory_size", "timeout_seconds", "xray_tracing", "keep_warm", "lambda_handler",
        "django_settings", "debug")} == {
        "runtime": "python3.11", "memory_size": 512, "timeout_seconds": 30, "xray_tracing": True,
        "keep_warm": True, "lambda_handler": "taskapi.lambda_function.handler",
        "django_settings": "taskapi.settings", "debug": False}
    # slim_handler would replace the custom handler with Zappa's; CORS is the app's (see README).
    assert "slim_handler" not in config
    assert config["cors"] is False
    # Zappa GETs this after deploys and fails on a 5xx; the schema needs Django but not yet the table.
    assert config["touch_path"] == "/openapi.json"


@pytest.mark.parametrize("stage", STAGES)
def test_every_setting_the_app_reads_is_a_lambda_environment_variable(stage):
    variables = stage_config(stage)["aws_environment_variables"]
    assert env_example_names() - set(variables) == set(NOT_ON_LAMBDA)
    assert set(NOT_ON_LAMBDA).isdisjoint(variables)
    assert variables["STAGE"] == stage
    assert variables["DJANGO_DEBUG"] == "false"
    assert variables["TASKS_TABLE"] == f"taskapi-{stage}-tasks"
    assert variables["DJANGO_SECRET_KEY_PARAMETER"] == f"/taskapi/{stage}/django-secret-key"
    assert all(isinstance(value, str) for value in variables.values())


def runtime_modules() -> set[str]:
    """Top-level modules of requirements.txt and their dependencies, less the SDK the Lambda runtime provides."""
    import importlib.metadata

    from packaging.requirements import Requirement

    provided = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
    wanted = [line.split("==")[0] for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    seen: set[str] = set()
    while wanted:
        name = wanted.pop().lower().replace("_", "-")
        if name in seen or name in provided:
            continue
        seen.add(name)
        for requirement in map(Requirement, importlib.metadata.requires(name) or []):
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                wanted.append(requirement.name)
    return {file.parts[0].removesuffix(".py") for name in seen for file in importlib.metadata.files(name)
            if not file.parts[0].endswith(".dist-info") and file.parts[0] not in {"..", "__pycache__"}}


def test_package_excludes_never_drop_a_runtime_dependency():
    # Whole top-level entries only: patterns with a slash trim unused parts inside a package.
    excluded = {pattern.removesuffix(".py") for pattern in stage_config("dev")["exclude_glob"] if "/" not in pattern}
    modules = runtime_modules()
    assert {"django", "rest_framework", "pynamodb", "yaml", "apig_wsgi"} <= modules
    assert modules & excluded == set()


def test_prod_is_regional_with_explicit_cors_origins():
    config = stage_config("prod")
    assert config["endpoint_configuration"] == ["REGIONAL"]
    origins = config["aws_environment_variables"]["CORS_ALLOWED_ORIGINS"].split(",")
    assert origins and all(re.match(r"^https://[a-z0-9.-]+$", origin) for origin in origins)


# -- IAM policies ----------------------------------------------------------------------------------------------

def statements(stage: str) -> list[dict]:
    document = policy(stage)
    assert document["Version"] == "2012-10-17"
    return document["Statement"]


def as_list(value) -> list[str]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("stage", STAGES)
def test_policy_is_least_privilege(stage):
    table = f"arn:aws:dynamodb:*:*:table/taskapi-{stage}-tasks"
    function = f"taskapi-{stage}"
    allowed_resources = {
        "dynamodb": {table, f"{table}/index/status-index", f"{table}/index/owner-status-index",
                     f"{table}/index/list-shard-index", f"{table}/index/priority-shard-index",  # issue 18
                     f"{table}-idempotency",  # issue 6: owners' listings, Idempotency-Key records
                     f"{table}/stream/*", f"{table}-changes",  # issue 13: the feed's stream and change log
                     f"{table}-connections", f"{table}-connections/index/owner-index",  # issue 14: WebSockets
                     # issue 18: the tag slots and their two listing indexes
                     f"{table}-tags", f"{table}-tags/index/tag-shard-index", f"{table}-tags/index/tag-priority-shard-index"},
        # issue 14: PostToConnection on this stage's WebSocket API (its id is known only once deployed)
        "execute-api": {f"arn:aws:execute-api:*:*:*/{stage}/POST/@connections/*"},
        "sqs": {f"arn:aws:sqs:*:*:taskapi-{stage}-stream-failures",  # issue 13: the consumer's on-failure queue
                f"arn:aws:sqs:*:*:taskapi-{stage}-async-failures"},  # issue 16: async invocations' on-failure queue
        "logs": {f"arn:aws:logs:*:*:log-group:/aws/lambda/{function}",
                 f"arn:aws:logs:*:*:log-group:/aws/lambda/{function}:*"},
        "lambda": {f"arn:aws:lambda:*:*:function:{function}", f"arn:aws:lambda:*:*:function:{function}:*"},
        "ssm": {f"arn:aws:ssm:*:*:parameter{stage_config(stage)['aws_environment_variables']['DJANGO_SECRET_KEY_PARAMETER']}"},
    }
    # Actions that authorize on no resource, for which IAM accepts only "*" (X-Ray's writes; ListStreams,
    # which Lambda's event source mapping calls for the stream consumer).
    resourceless = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams"}
    # Issue 14: Zappa 0.63 (manage_roles) adds ManageConnections on every API of the account; the one Deny takes
    # back everything but this stage's PostToConnection, so the role can push to no other API's clients.
    document = statements(stage)
    [deny] = [statement for statement in document if statement["Effect"] == "Deny"]
    assert (deny["Action"], deny["NotResource"], set(deny) - {"Sid", "Effect", "Action", "NotResource"}) == (
        ["execute-api:ManageConnections"], sorted(allowed_resources["execute-api"]), set())
    for statement in document:
        if statement is deny:
            continue
        assert statement["Effect"] == "Allow"
        if as_list(statement["Resource"]) == ["*"]:
            assert set(as_list(statement["Action"])) <= resourceless, statement
            continue
        assert "NotAction" not in statement and "NotResource" not in statement
        actions = as_list(statement["Action"])
        services = {action.split(":", 1)[0] for action in actions}
        assert all("*" not in action for action in actions), actions
        assert len(services) == 1, actions
        assert set(as_list(statement["Resource"])) <= allowed_resources[services.pop()], statement
    actions = {action for statement in statements(stage) for action in as_list(statement["Action"])}
    assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "logs:PutLogEvents",
            "lambda:InvokeFunction", "ssm:GetParameter"} <= actions


@pytest.fixture
def dynamodb_calls(monkeypatch) -> list[str]:
    """Records the DynamoDB operations made through botocore (PynamoDB included); calls go through."""
    calls: list[str] = []
    real = botocore.client.BaseClient._make_api_call

    def recording(client, operation_name, api_params):
        if client.meta.service_model.service_name == "dynamodb":
            calls.append(f"dynamodb:{operation_name}")
        return real(client, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return calls


def test_every_dynamodb_call_the_function_makes_is_in_the_policy(table, dynamodb_calls):
    """CRUD, a listing and `zappa manage dev create_table` through the handler use only allowed actions."""
    with override_settings(ALLOWED_HOSTS=[events.REST_API_HOST]):
        created = handler(events.rest_v1("POST", "/tasks", body={"title": "policy"}), None)
        task_id = json.loads(created["body"])["taskId"]
        for event in (events.rest_v1("GET", f"/tasks/{task_id}"), events.rest_v1("GET", "/tasks?status=pending"),
                      events.rest_v1("PATCH", f"/tasks/{task_id}", body={"title": "x"}, headers={"If-Match": '"1"'}),
                      events.rest_v1("DELETE", f"/tasks/{task_id}")):
            assert handler(event, None)["statusCode"] == 200
    new_table = f"taskapi-test-{uuid.uuid4().hex[:10]}"
    try:
        assert handler({"manage": f"create_table --table {new_table}"}, None)["status"] == 0
    finally:
        aws.table_delete(new_table)
    dynamodb_calls.remove("dynamodb:DeleteTable")  # the test's own clean-up, not the function's
    allowed = {action for statement in statements("dev") for action in as_list(statement["Action"])}
    # CreateTable with Tags is also authorised as TagResource, which the policy grants alongside it.
    assert {"dynamodb:CreateTable", "dynamodb:Query", "dynamodb:UpdateItem"} <= set(dynamodb_calls)
    assert set(dynamodb_calls) - allowed == set()


# -- settings in deployed stages -------------------------------------------------------------------------------

def test_deployed_stage_without_a_secret_key_fails_at_start_naming_it():
    done = settings_in("prod", "")
    assert done.returncode != 0
    assert ("django.core.exceptions.ImproperlyConfigured: The DJANGO_SECRET_KEY environment variable is required "
            "in stage 'prod'.") in done.stderr


def test_deployed_stage_never_debugs():
    done = settings_in("prod", "print(settings.DEBUG)", DJANGO_SECRET_KEY="k" * 50, DJANGO_DEBUG="true")
    assert (done.returncode, done.stdout) == (0, "False\n"), done.stderr


HOSTS = {
    events.REST_API_HOST: True,
    "a1b2c3d4e5-vpce-0123456789abcdef0.execute-api.us-east-1.amazonaws.com": True,
    events.FUNCTION_URL_HOST: True,
    events.ALB_HOST: True,
    "internal-taskapi-alb-1234567890.us-east-1.elb.amazonaws.com": True,
    "tasks.example.org": True,
    "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com": False,
    "execute-api.us-east-1.amazonaws.com.evil.example": False,
    "evil.example": False,
    "localhost": False,
}


@pytest.fixture(scope="module")
def deployed_host_checks() -> dict[str, bool]:
    """validate_host() against ALLOWED_HOSTS as a dev stage in us-east-1 with one custom domain computes them."""
    code = ("import json; from django.http.request import validate_host\n"
            f"print(json.dumps({{host: validate_host(host, settings.ALLOWED_HOSTS) for host in {list(HOSTS)!r}}}))")
    done = settings_in("dev", code, DJANGO_SECRET_KEY="k" * 50, AWS_REGION="us-east-1",
                       CUSTOM_DOMAINS="tasks.example.org")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize(("host", "allowed"), HOSTS.items())
def test_deployed_allowed_hosts_cover_real_aws_host_shapes(deployed_host_checks, host, allowed):
    assert deployed_host_checks[host] is allowed


# Issue 16: reserved concurrency per stage. Zappa 0.63 reads it as `lambda_concurrency` (PutFunctionConcurrency);
# an unknown key such as `reserved_concurrency` would be ignored silently.
@pytest.mark.parametrize(("stage", "reserved"), [("dev", 10), ("prod", 100)])
def test_each_stage_reserves_its_own_concurrency(stage, reserved):
    config = stage_config(stage)
    assert config["lambda_concurrency"] == reserved
    assert "reserved_concurrency" not in config and "concurrency" not in config
    assert config.get("provisioned_concurrency") is None or config["provisioned_concurrency"] <= reserved
