"""The gateway commands' IAM policy: generated per stage, committed, lint-clean, and covering every call they make."""
import fnmatch
import io
import json
import uuid
from urllib.parse import unquote, urlsplit

import pytest
from django.core.management import call_command
from django.test import override_settings

from ops import aws
from ops.gateway_specs import operator_policy
from ops.stages import stage_load
from tests.harness import ROOT
from tests.rest_apis import patch_moto_stage_remove, stage_cleanup, zappa_api
from tests.unit.test_deploy_lint import findings
from tests.unit.test_gateway_commands import stage_file


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_committed_policy_is_the_generated_one_and_lint_clean(stage):
    committed = (ROOT / "deploy" / f"gateway-operator-policy-{stage}.json").read_text()
    assert json.loads(committed) == operator_policy(stage_load(stage))
    assert findings(committed) == []


def _allowed(policy: dict, action: str, resource: str) -> bool:
    for statement in policy["Statement"]:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
        if action in actions and any(fnmatch.fnmatchcase(resource, pattern) for pattern in resources):
            return True
    return False


def test_every_call_of_the_commands_is_allowed_on_this_stage_only(tmp_path, monkeypatch):
    patch_moto_stage_remove(monkeypatch)
    name = f"t{uuid.uuid4().hex[:8]}"
    calls = []

    def record(request, **kwargs):  # before-send: the signed request as it leaves botocore
        calls.append((request.method, unquote(urlsplit(request.url).path)))

    def record_logs(model, **kwargs):
        calls.append(("logs", model.name))

    with override_settings(ZAPPA_SETTINGS_FILE=stage_file(tmp_path, name)):
        api_id = zappa_api(f"taskapi-{name}", name)
        aws.client("apigateway").meta.events.register("before-send.apigateway", record)
        aws.client("logs").meta.events.register("before-call.logs", record_logs)
        try:
            for args in (("setup_gateway", "--stage", name),
                         ("create_usage_plan", "--stage", name, "--name", "p", "--rate", "1", "--burst", "2"),
                         ("api_keys", "create", "--stage", name, "--client", "c", "--plan", "p"),
                         ("api_keys", "list", "--stage", name), ("api_keys", "revoke", "--stage", name, "--client", "c"),
                         ("teardown_gateway", "--stage", name)):
                call_command(*args, stdout=io.StringIO())
        finally:
            aws.client("apigateway").meta.events.unregister("before-send.apigateway", record)
            aws.client("logs").meta.events.unregister("before-call.logs", record_logs)
            stage_cleanup(f"taskapi-{name}", api_id)
        policy = operator_policy(stage_load(name), account="123456789012")
    group = f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/taskapi-{name}/{name}/access:*"
    denied = []
    for method, target in dict.fromkeys(calls):
        if method == "logs":
            resource = "*" if target == "DescribeLogGroups" else group
            allowed = _allowed(policy, f"logs:{target}", resource)
        else:
            allowed = _allowed(policy, f"apigateway:{method}", f"arn:aws:apigateway:us-east-1::{target}")
        if not allowed:
            denied.append((method, target))
    assert len(calls) > 20 and denied == []
    # Another stage of the same API is out of reach.
    assert not _allowed(policy, "apigateway:PATCH", f"arn:aws:apigateway:us-east-1::/restapis/{api_id}/stages/prod")
