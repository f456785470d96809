"""setup_gateway and teardown_gateway against the session's emulator (moto server over HTTP).

Each test deploys its own REST API the way Zappa does (named after the function, root and {proxy+} ANY ->
AWS_PROXY, a deployment whose stage is the Zappa stage), in a zappa_settings.json of its own.
"""
import io
import json
import os
import re
import uuid

import boto3
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from ops import gateway_specs
from tests.problems import problem
from tests.rest_apis import patch_moto_stage_remove, zappa_api


def client(service: str):
    return boto3.client(service, region_name=os.environ["AWS_REGION"])


@pytest.fixture(autouse=True)
def moto_removes_method_settings(monkeypatch):
    patch_moto_stage_remove(monkeypatch)


def stage_file(tmp_path, name: str, **environment) -> None:
    path = tmp_path / "zappa_settings.json"
    path.write_text(json.dumps({name: {
        "project_name": "taskapi", "aws_region": os.environ["AWS_REGION"],
        "aws_environment_variables": {"STAGE": name, **environment},
    }}))
    return path


@pytest.fixture
def stage(tmp_path):
    """A fresh deployed stage: its REST API exists; the API is deleted afterwards."""
    name = f"t{uuid.uuid4().hex[:8]}"
    with override_settings(ZAPPA_SETTINGS_FILE=stage_file(tmp_path, name, CORS_ALLOWED_ORIGINS="https://app.example")):
        api_id = zappa_api(f"taskapi-{name}", name)
        yield name, api_id
        client("apigateway").delete_rest_api(restApiId=api_id)


def customised_responses(api_id: str) -> list[dict]:
    """The API's gateway responses other than AWS's defaults (AWS and LocalStack list those too; moto does not)."""
    items = client("apigateway").get_gateway_responses(restApiId=api_id)["items"]
    return [item for item in items if not item.get("defaultResponse")]


def run(command: str, **options) -> list[str]:
    out = io.StringIO()
    call_command(command, stdout=out, **options)
    return out.getvalue().splitlines()


RESPONSES = ["THROTTLED", "QUOTA_EXCEEDED", "INVALID_API_KEY", "MISSING_AUTHENTICATION_TOKEN", "UNAUTHORIZED",
             "ACCESS_DENIED", "EXPIRED_TOKEN", "INVALID_SIGNATURE", "AUTHORIZER_FAILURE", "REQUEST_TOO_LARGE",
             "INTEGRATION_TIMEOUT", "INTEGRATION_FAILURE", "DEFAULT_4XX", "DEFAULT_5XX"]


def setup_lines(name: str, action: str) -> list[str]:
    api = f"taskapi-{name}/{name}"
    group = f"/aws/apigateway/taskapi-{name}/{name}/access"
    statuses = {"THROTTLED": "429", "QUOTA_EXCEEDED": "429", "INVALID_API_KEY": "403",
                "MISSING_AUTHENTICATION_TOKEN": "403", "UNAUTHORIZED": "401", "ACCESS_DENIED": "403",
                "EXPIRED_TOKEN": "403", "INVALID_SIGNATURE": "403", "AUTHORIZER_FAILURE": "500",
                "REQUEST_TOO_LARGE": "413", "INTEGRATION_TIMEOUT": "504", "INTEGRATION_FAILURE": "504"}
    retention = "30 days; creates the log group" if action == "create" else "30 days"
    return [
        f"log retention {group}: {action} ({retention})",
        f"stage {api} throttling: {action} (50 rps, burst 100)",
        f"stage {api} execution logging: {action} (INFO)",
        f"stage {api} tracing: {action} (X-Ray)",
        f"stage {api} access logging: {action} ({group})",
        *[f"gateway response {kind}: {action} ({statuses.get(kind, 'as the error')}, problem+json)"
          for kind in RESPONSES],
    ]


def test_setup_gateway_sets_the_stage_and_a_second_run_changes_nothing(stage):
    name, api_id = stage
    assert run("setup_gateway", stage=name) == [*setup_lines(name, "create"), "19 create: applied"]

    described = client("apigateway").get_stage(restApiId=api_id, stageName=name)
    methods = described["methodSettings"]["*/*"]
    assert (methods["throttlingRateLimit"], methods["throttlingBurstLimit"]) == (50.0, 100)
    assert (methods["loggingLevel"], methods["dataTraceEnabled"]) == ("INFO", False)
    assert described["tracingEnabled"] is True
    group = f"/aws/apigateway/taskapi-{name}/{name}/access"
    account = client("sts").get_caller_identity()["Account"]
    assert described["accessLogSettings"]["destinationArn"] == f"arn:aws:logs:us-east-1:{account}:log-group:{group}"
    fields = json.loads(described["accessLogSettings"]["format"])
    assert {"requestId", "userArn", "cognitoSub", "apiKeyId", "status", "latencyMs", "integrationError"} <= set(fields)
    logs = client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [(log["logGroupName"], log["retentionInDays"]) for log in logs] == [(group, 30)]
    throttled = client("apigateway").get_gateway_response(restApiId=api_id, responseType="THROTTLED")
    assert throttled["statusCode"] == "429"
    assert throttled["responseParameters"] == {
        "gatewayresponse.header.Content-Type": "'application/problem+json'",
        "gatewayresponse.header.Access-Control-Allow-Origin": "'https://app.example'",
        "gatewayresponse.header.Vary": "'Origin'",
    }

    assert run("setup_gateway", stage=name) == [*setup_lines(name, "unchanged"), "19 unchanged: nothing to change"]


def test_setup_gateway_dry_run_changes_nothing(stage):
    name, api_id = stage
    lines = run("setup_gateway", stage=name, dry_run=True)
    assert lines[-1] == "19 create: dry run, nothing changed"
    described = client("apigateway").get_stage(restApiId=api_id, stageName=name)
    assert "*/*" not in described.get("methodSettings", {}) and not described.get("tracingEnabled")
    assert customised_responses(api_id) == []


def test_setup_gateway_puts_back_a_setting_changed_by_hand(stage):
    name, api_id = stage
    run("setup_gateway", stage=name)
    client("apigateway").update_stage(restApiId=api_id, stageName=name, patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "7"}])
    lines = run("setup_gateway", stage=name)
    assert f"stage taskapi-{name}/{name} throttling: update (50 rps, burst 100)" in lines
    assert lines[-1] == "18 unchanged, 1 update: applied"
    assert client("apigateway").get_stage(restApiId=api_id, stageName=name)["methodSettings"]["*/*"][
        "throttlingRateLimit"] == 50.0


def test_teardown_gateway_undoes_setup_exactly(stage):
    name, api_id = stage
    run("setup_gateway", stage=name)
    api, group = f"taskapi-{name}/{name}", f"/aws/apigateway/taskapi-{name}/{name}/access"
    assert run("teardown_gateway", stage=name) == [
        *[f"gateway response {kind}: delete" for kind in RESPONSES],
        f"stage {api} throttling and execution logging: delete",
        f"stage {api} tracing: delete",
        f"stage {api} access logging: delete",
        f"log retention {group}: delete (the log group and its logs are kept)",
        "18 delete: applied",
    ]
    described = client("apigateway").get_stage(restApiId=api_id, stageName=name)
    assert "*/*" not in described.get("methodSettings", {})
    assert described.get("tracingEnabled") is False and "accessLogSettings" not in described
    assert customised_responses(api_id) == []
    second = run("teardown_gateway", stage=name)
    assert second[-1] == "18 absent: nothing to change"


def test_setup_gateway_before_the_first_deploy_is_a_one_line_error(tmp_path):
    name = f"t{uuid.uuid4().hex[:8]}"
    with override_settings(ZAPPA_SETTINGS_FILE=stage_file(tmp_path, name)), pytest.raises(CommandError) as raised:
        run("setup_gateway", stage=name)
    assert str(raised.value) == f"no REST API named taskapi-{name}: deploy the stage first (zappa deploy {name})"


def test_setup_gateway_on_an_api_without_the_stage_is_a_one_line_error(tmp_path):
    name = f"t{uuid.uuid4().hex[:8]}"
    with override_settings(ZAPPA_SETTINGS_FILE=stage_file(tmp_path, name)):
        api_id = zappa_api(f"taskapi-{name}", "other")
        try:
            with pytest.raises(CommandError) as raised:
                run("setup_gateway", stage=name)
        finally:
            client("apigateway").delete_rest_api(restApiId=api_id)
    assert str(raised.value) == f"REST API taskapi-{name} ({api_id}) has no stage {name}"


# Gateway responses rendered as API Gateway renders them: $context variables substituted into the template.

def render(template: str, *, response_type: str, message: str, request_id: str) -> str:
    values = {"$context.error.messageString": json.dumps(message), "$context.error.responseType": response_type,
              "$context.requestId": request_id, "$context.error.message": message}
    rendered = re.sub(r"\$context\.[A-Za-z.]+", lambda match: values[match.group(0)], template)
    return rendered


@pytest.mark.parametrize("response_type", RESPONSES)
def test_every_gateway_response_renders_as_a_problem_document(response_type):
    status = gateway_specs.GATEWAY_RESPONSES[response_type]
    template = gateway_specs.gateway_response_template(response_type, status)
    message = 'Limit "exceeded"\\ for key'  # quotes and backslashes must stay valid JSON
    document = json.loads(render(template, response_type=response_type, message=message, request_id="r-1"))
    if status:
        from http import HTTPStatus
        assert document == problem(status, HTTPStatus(status).phrase, message, code=response_type, requestId="r-1")
    else:
        assert document == {"type": "about:blank", "title": gateway_specs.DEFAULT_TITLES[response_type],
                            "detail": message, "code": response_type, "requestId": "r-1"}


def test_dev_gateway_errors_allow_every_origin_like_the_app(tmp_path):
    name = "dev"
    with override_settings(ZAPPA_SETTINGS_FILE=stage_file(tmp_path, name, CORS_ALLOWED_ORIGINS="")):
        from ops.stages import stage_load
        responses = gateway_specs.gateway_responses(stage_load(name))
    assert {r["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] for r in responses} == {"'*'"}
