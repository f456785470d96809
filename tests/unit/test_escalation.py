"""Severity tiers (issue 16) against the session's emulator (moto server over HTTP): the critical and emergency
topics with their email and pager subscriptions, the emergency composite alarm and its rule, and the async
invocations' on-failure destination. Each test has a stage of its own."""
import io
import json
import os
import re
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from ops import escalation, specs
from ops.stages import stage_load

ACCOUNT = "123456789012"  # moto's account
PAGER = "https://events.pager.example/integration/0123456789abcdef0123456789abcdef/enqueue"
README = Path(__file__).resolve().parents[2] / "README.md"


def client(service: str):
    return boto3.client(service, region_name=os.environ["AWS_REGION"])


@pytest.fixture
def stage(tmp_path):
    name = f"x{uuid.uuid4().hex[:8]}"
    settings_file = tmp_path / "zappa_settings.json"
    settings_file.write_text(json.dumps({name: {
        "project_name": "taskapi", "aws_region": os.environ["AWS_REGION"], "lambda_concurrency": 10,
        "aws_environment_variables": {"STAGE": name, "TASKS_TABLE": f"tasks-of-{name}"}}}))
    with override_settings(ZAPPA_SETTINGS_FILE=settings_file, ALERT_EMAILS=[], ALERT_CRITICAL_EMAILS=[],
                           ALERT_EMERGENCY_EMAILS=[], ALERT_PAGER_URL=""):
        yield name
        call_command("teardown_monitoring", stage=name, stdout=io.StringIO())


def run(command: str, **options) -> list[str]:
    out = io.StringIO()
    call_command(command, stdout=out, **options)
    return out.getvalue().splitlines()


def topic(stage: str, tier: str = "") -> str:
    return f"arn:aws:sns:us-east-1:{ACCOUNT}:{stage}-task-api-alerts" + (f"-{tier}" if tier else "")


def subscribed(arn: str) -> list[tuple[str, str]]:
    return sorted((sub["Protocol"], sub["Endpoint"])
                  for sub in client("sns").list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"])


def test_each_tier_gets_its_own_topic_and_subscribers_and_the_pager_key_is_never_printed(stage):
    setup = {"stage": stage, "email": ["team@example.com"], "critical_email": ["oncall@example.com"],
             "pager_url": PAGER, "emergency_email": ["cto@example.com"]}
    first = run("setup_monitoring", **setup)
    pager = escalation.pager_label(PAGER)
    assert re.fullmatch(r"https://events\.pager\.example/…#[0-9a-f]{8}", pager)
    assert first[:8] == [
        f"topic {stage}-task-api-alerts: create",
        "subscription team@example.com: create (SNS emails a confirmation link)",
        f"topic {stage}-task-api-alerts-critical: create",
        "subscription oncall@example.com: create (SNS emails a confirmation link)",
        f"pager {pager}: create (the endpoint must confirm it)",
        f"topic {stage}-task-api-alerts-emergency: create",
        "subscription cto@example.com: create (SNS emails a confirmation link)",
        f"alarm {stage}-task-api-high-error-rate: create",
    ]
    assert subscribed(topic(stage)) == [("email", "team@example.com")]
    assert subscribed(topic(stage, "critical")) == [("email", "oncall@example.com"), ("https", PAGER)]
    assert subscribed(topic(stage, "emergency")) == [("email", "cto@example.com")]
    second = run("setup_monitoring", **setup)
    assert second[4] == f"pager {pager}: unchanged"
    assert second[-2].endswith(" unchanged: nothing to change")
    teardown = run("teardown_monitoring", stage=stage)
    assert f"subscription {pager}: delete" in teardown
    assert all("0123456789abcdef" not in line for line in first + second + teardown)
    assert all(not t["TopicArn"].startswith(topic(stage)) for t in client("sns").list_topics()["Topics"])


def test_tier_addresses_and_the_pager_default_to_their_settings(stage):
    with override_settings(ALERT_CRITICAL_EMAILS=["oncall@example.com"], ALERT_EMERGENCY_EMAILS=["cto@example.com"],
                           ALERT_PAGER_URL=PAGER):
        run("setup_monitoring", stage=stage)
    assert subscribed(topic(stage, "critical")) == [("email", "oncall@example.com"), ("https", PAGER)]
    assert subscribed(topic(stage, "emergency")) == [("email", "cto@example.com")]


@pytest.mark.parametrize("url", ["http://pager.example/hook", "https:///no-host", "pager.example/hook",
                                 "https://pager.example/a b"])
def test_a_pager_url_that_is_not_https_exits_with_the_reason_and_changes_nothing(stage, url):
    with pytest.raises(CommandError, match=r"^--pager-url must be an https:// URL"):
        run("setup_monitoring", stage=stage, pager_url=url)
    assert client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{stage}-")["MetricAlarms"] == []


def fires(rule: str, in_alarm: set[str]) -> bool:
    """Evaluates a composite rule of ALARM("name"), AND, OR and parentheses (what emergency_rule writes)."""
    tokens = re.findall(r'ALARM\("([^"]+)"\)|(AND|OR|\(|\))', rule)
    assert "".join(f'ALARM("{name}")' if name else op for name, op in tokens) == rule.replace(" ", ""), rule
    python = " ".join(repr(name in in_alarm) if name else {"AND": "and", "OR": "or"}.get(op, op)
                      for name, op in tokens)
    return eval(python, {"__builtins__": {}})  # nosec B307 - only True/False/and/or/parentheses, checked above


def test_the_emergency_alarm_fires_on_two_critical_alarms_together_or_one_sustained(stage):
    run("create_alarms", stage=stage)
    composite = client("cloudwatch").describe_alarms(
        AlarmNames=[f"{stage}-task-api-emergency"], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    assert len(composite) == 1
    alarm = composite[0]
    tiers = [topic(stage), topic(stage, "critical"), topic(stage, "emergency")]
    assert (alarm["AlarmActions"], alarm["OKActions"], alarm["ActionsEnabled"]) == (tiers, tiers, True)
    assert alarm["AlarmDescription"].endswith("Runbook: README.md#runbook-emergency")
    rule = alarm["AlarmRule"]
    described = client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{stage}-task-api-")["MetricAlarms"]
    tier = {a["AlarmName"].removeprefix(f"{stage}-task-api-"): a["AlarmDescription"][1:].split("]")[0]
            for a in described}
    named = set(re.findall(r'ALARM\("([^"]+)"\)', rule))
    # The rule names only alarms that exist: every critical one, and the sustained inputs.
    assert named == {f"{stage}-task-api-{slug}" for slug, t in tier.items() if t in {"critical", "emergency"}}
    assert sorted(slug for slug, t in tier.items() if t == "emergency") == [
        "lambda-errors-sustained", "slo-5xx-rate-sustained"]
    name = f"{stage}-task-api-{{}}".format
    assert not fires(rule, set())
    assert not fires(rule, {name("lambda-errors")})  # one critical alarm: the critical tier's job
    assert not fires(rule, {name(slug) for slug, t in tier.items() if t == "warning"})  # warnings never escalate
    assert fires(rule, {name("lambda-errors"), name("db-throttling")})
    assert fires(rule, {name("stream-failures-queue"), name("lambda-throttles")})
    assert fires(rule, {name("slo-5xx-rate-sustained")})
    assert fires(rule, {name("lambda-errors-sustained"), name("high-latency")})
    assert len(rule) <= 10240  # CloudWatch's limit on AlarmRule
    assert run("create_alarms", stage=stage)[-1].endswith(" unchanged: nothing to change")


def test_an_emergency_rule_edited_by_hand_is_put_back(stage):
    run("create_alarms", stage=stage)
    name = f"{stage}-task-api-emergency"
    client("cloudwatch").put_composite_alarm(AlarmName=name, AlarmRule=f'ALARM("{stage}-task-api-lambda-errors")')
    assert f"composite alarm {name}: update" in run("create_alarms", stage=stage)
    assert f"composite alarm {name}: unchanged" in run("create_alarms", stage=stage)


def test_every_alarm_has_a_tier_and_a_runbook_section_in_the_readme(stage):
    readme = README.read_text()
    alarms = escalation.every_alarm(stage_load(stage))
    assert len({alarm.name for alarm in alarms}) == len(alarms)
    assert {alarm.severity for alarm in alarms} == {specs.WARNING, specs.CRITICAL, specs.EMERGENCY}
    anchors = [alarm.runbook.removeprefix("README.md#") for alarm in alarms] + ["runbook-emergency"]
    assert [anchor for anchor in anchors if f'<a id="{anchor}"></a>' not in readme] == []


@pytest.fixture
def function(stage):
    """The stage's function as Zappa names it (the emulator stores it; nothing invokes it)."""
    name = f"taskapi-{stage}"
    role = client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    client("lambda").create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="handler.handler",
                                     Code={"ZipFile": _package()})
    yield name
    client("lambda").delete_function(FunctionName=name)
    client("iam").delete_role(RoleName=name)
    for url in client("sqs").list_queues(QueueNamePrefix=f"{name}-async-failures").get("QueueUrls", []):
        client("sqs").delete_queue(QueueUrl=url)


def test_async_failures_go_to_their_queue_once_the_function_is_deployed(stage, function):
    client("lambda").delete_function(FunctionName=function)  # not deployed yet
    queue = f"{function}-async-failures"
    assert run("setup_async_failures", stage=stage, dry_run=True) == [
        f"queue {queue}: create (14 days' retention, SSE)", "1 create: dry run, nothing changed",
        f"skipped async invoke config {function}: the function is not deployed yet; run again after `zappa deploy`"]
    assert run("setup_async_failures", stage=stage)[:2] == [
        f"queue {queue}: create (14 days' retention, SSE)", "1 create: applied"]
    client("lambda").create_function(  # now deployed
        FunctionName=function, Runtime="python3.11", Handler="handler.handler",
        Role=client("iam").get_role(RoleName=function)["Role"]["Arn"],
        Code={"ZipFile": _package()})
    note = f"on failure -> {queue}, 2 retries, given up after 6 h"
    assert run("setup_async_failures", stage=stage) == [
        f"queue {queue}: unchanged (14 days' retention, SSE)",
        f"async invoke config {function}: create ({note})", "1 unchanged, 1 create: applied"]
    config = client("lambda").get_function_event_invoke_config(FunctionName=function)
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue}"
    assert (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"], config["DestinationConfig"]) == (
        2, 21600, {"OnFailure": {"Destination": queue_arn}})
    assert run("setup_async_failures", stage=stage) == [
        f"queue {queue}: unchanged (14 days' retention, SSE)",
        f"async invoke config {function}: unchanged ({note})", "2 unchanged: nothing to change"]
    alarm = client("cloudwatch").describe_alarms(AlarmNames=[f"{stage}-task-api-async-failures-queue"])
    assert alarm["MetricAlarms"] == []  # setup_monitoring owns the depth alarm
    run("create_alarms", stage=stage)
    alarm = client("cloudwatch").describe_alarms(AlarmNames=[f"{stage}-task-api-async-failures-queue"])
    assert [(a["Namespace"], a["MetricName"], a["Dimensions"], a["Threshold"]) for a in alarm["MetricAlarms"]] == [
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", [{"Name": "QueueName", "Value": queue}], 0.0)]


def _package() -> bytes:
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    return package.getvalue()


def test_an_invoke_config_changed_by_hand_is_planned_back():
    desired_arn = "arn:aws:sqs:us-east-1:1:taskapi-dev-async-failures"
    current = {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 21600,
               "DestinationConfig": {"OnFailure": {"Destination": desired_arn}}}
    steps = escalation.async_destination_plan(function="taskapi-dev", deployed=True, queue="taskapi-dev-async-failures",
                                              queue_arn=desired_arn, queue_exists=True, current=current)
    assert [(step.kind, step.action) for step in steps] == [("queue", "unchanged"), ("async invoke config", "update")]
    assert steps[1].data == {"FunctionName": "taskapi-dev", "MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 21600,
                             "DestinationConfig": {"OnFailure": {"Destination": desired_arn}}}


def test_pager_and_composite_plans_keep_what_was_not_asked_for_and_see_pending_confirmation():
    arn = "arn:aws:sns:us-east-1:1:dev-task-api-alerts-critical"
    current = [{"Protocol": "https", "Endpoint": PAGER, "SubscriptionArn": "PendingConfirmation"},
               {"Protocol": "https", "Endpoint": "https://old.pager.example/hook", "SubscriptionArn": f"{arn}:1"},
               {"Protocol": "email", "Endpoint": "oncall@example.com", "SubscriptionArn": f"{arn}:2"}]
    label = escalation.pager_label
    assert [str(step) for step in escalation.pager_plan(topic_arn=arn, url=PAGER, current=current)] == [
        f"pager {label(PAGER)}: unchanged (pending confirmation)",
        f"pager {label('https://old.pager.example/hook')}: unchanged (not requested; kept)"]
    assert [step.action for step in escalation.pager_plan(topic_arn=arn, url=None, current=current)] == [
        "unchanged", "unchanged"]
    desired = {"AlarmName": "dev-task-api-emergency", "AlarmRule": 'ALARM("a")', "AlarmActions": [arn]}
    described = {**desired, "StateValue": "OK", "AlarmArn": "arn:..."}
    plan = escalation.composite_plan
    assert [str(step) for step in plan(desired=desired, current=None)] == [
        "composite alarm dev-task-api-emergency: create"]
    assert plan(desired=desired, current=described)[0].action == "unchanged"
    assert plan(desired=desired, current={**described, "AlarmRule": 'ALARM("b")'})[0].action == "update"
