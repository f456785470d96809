"""The monitoring commands as users run them: `python manage.py ...` in a fresh process, exit codes included."""
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.test import override_settings

from ops import escalation
from ops.stages import stage_load
from tests.harness import ROOT, free_port

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "zappa_settings.json"


def manage(*args: str, **env: str | None) -> subprocess.CompletedProcess:
    """Runs manage.py with this session's environment, `env` overriding it (None removes a variable)."""
    environ = {**os.environ, "ZAPPA_SETTINGS_FILE": str(FIXTURE), "ALERT_EMAILS": ""}
    for key, value in env.items():
        environ.pop(key, None) if value is None else environ.__setitem__(key, value)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture
def fresh_stage(tmp_path) -> tuple[str, str]:
    """A stage name no other run has used (the endpoint may be a shared LocalStack), and its settings file."""
    name = f"e2e{uuid.uuid4().hex[:8]}"
    path = tmp_path / "zappa_settings.json"
    path.write_text(json.dumps({name: {"project_name": "taskapi", "aws_region": os.environ["AWS_REGION"]}}))
    return name, str(path)


def every_alarm(stage: str, settings_file: str) -> list:
    """The stage's metric alarms as ops.escalation defines them (seed, saturation, queues, sustained inputs)."""
    with override_settings(ZAPPA_SETTINGS_FILE=Path(settings_file)):
        return escalation.every_alarm(stage_load(stage))


def test_setup_monitoring_then_again_prints_only_unchanged(fresh_stage):
    stage, settings_file = fresh_stage
    setup = ("setup_monitoring", "--stage", stage, "--email", "you@example.com")
    first = manage(*setup, ZAPPA_SETTINGS_FILE=settings_file)
    second = manage(*setup, ZAPPA_SETTINGS_FILE=settings_file)
    alarms = every_alarm(stage, settings_file)
    steps = len(alarms) + 7  # 3 topics, 1 subscription, the emergency composite alarm, dashboard, log retention
    try:
        assert (first.returncode, first.stderr) == (0, "")
        assert first.stdout.splitlines()[0] == f"topic {stage}-task-api-alerts: create"
        assert first.stdout.splitlines()[-2] == f"{steps} create: applied"
        assert (second.returncode, second.stderr) == (0, "")
        *plan, summary, skipped = second.stdout.splitlines()
        assert len(plan) == steps
        assert [line for line in plan if not line.endswith((": unchanged", ": unchanged (30 days)"))] == []
        assert summary == f"{steps} unchanged: nothing to change"
        _assert_monitoring_exists(stage, alarms)
        assert skipped == (f"skipped log retention API-Gateway-Execution-Logs_<id of taskapi-{stage}>: "
                           "the API is not deployed yet; run again after deploying")
    finally:
        teardown = manage("teardown_monitoring", "--stage", stage, ZAPPA_SETTINGS_FILE=settings_file)
    assert (teardown.returncode, teardown.stdout.splitlines()[-1]) == (0, f"{steps} delete: applied")


def _assert_monitoring_exists(stage: str, specs: list) -> None:
    """Checks on the endpoint itself what setup_monitoring made: alarms per tier, the emergency composite alarm,
    dashboard, topic and subscription."""
    import boto3

    region = os.environ["AWS_REGION"]
    cloudwatch = boto3.client("cloudwatch", region_name=region)
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix=f"{stage}-task-api-", AlarmTypes=["MetricAlarm"])
    topics = [t["TopicArn"] for t in boto3.client("sns", region_name=region).list_topics()["Topics"]]
    topic_arn, critical, emergency = (next(arn for arn in topics if arn.endswith(f":{stage}-task-api-alerts{tier}"))
                                      for tier in ("", "-critical", "-emergency"))
    assert sorted(a["AlarmName"] for a in alarms["MetricAlarms"]) == sorted(spec.name for spec in specs)
    tiers = {"warning": [topic_arn], "critical": [topic_arn, critical], "emergency": []}
    severity = {spec.name: spec.severity for spec in specs}
    assert [a["AlarmName"] for a in alarms["MetricAlarms"]
            if not a["AlarmActions"] == tiers[severity[a["AlarmName"]]] == a["OKActions"]] == []
    composite = cloudwatch.describe_alarms(AlarmNames=[f"{stage}-task-api-emergency"],
                                           AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    assert [(c["AlarmActions"], c["AlarmRule"].count(" OR ") > 0) for c in composite] == [
        ([topic_arn, critical, emergency], True)]
    dashboard = boto3.client("cloudwatch", region_name=region).get_dashboard(DashboardName=f"{stage}-task-api")
    assert len(json.loads(dashboard["DashboardBody"])["widgets"]) >= 5
    subscriptions = boto3.client("sns", region_name=region).list_subscriptions_by_topic(TopicArn=topic_arn)
    assert [s["Endpoint"] for s in subscriptions["Subscriptions"]] == ["you@example.com"]
    retention = boto3.client("logs", region_name=region).describe_log_groups(
        logGroupNamePrefix=f"/aws/lambda/taskapi-{stage}")["logGroups"]
    assert [g.get("retentionInDays") for g in retention] == [30]


def test_the_stage_defaults_to_STAGE_when_it_names_a_deployed_stage_else_dev():
    local = manage("create_dashboard", "--dry-run", STAGE=None)
    assert local.returncode == 0
    assert re.fullmatch(r"dashboard dev-task-api: (create|update|unchanged)", local.stdout.splitlines()[0])
    deployed = manage("create_dashboard", "--dry-run", STAGE="prod", DJANGO_SECRET_KEY="not-used-here",
                      AWS_REGION="eu-west-1")
    assert deployed.returncode == 0
    assert re.fullmatch(r"dashboard prod-task-api: (create|update|unchanged)", deployed.stdout.splitlines()[0])


def test_missing_credentials_exit_non_zero_with_one_line():
    result = manage("setup_monitoring", "--dry-run", AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
                    AWS_SESSION_TOKEN=None, AWS_PROFILE=None, AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
                    AWS_CONFIG_FILE="/nonexistent", AWS_EC2_METADATA_DISABLED="true",
                    AWS_CONTAINER_CREDENTIALS_FULL_URI=None, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=None)
    assert (result.returncode, result.stdout, result.stderr) == (
        1, "", "CommandError: no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID)\n")


def test_an_unreachable_endpoint_exits_non_zero_with_one_line():
    endpoint = f"http://127.0.0.1:{free_port()}"
    result = manage("teardown_monitoring", "--stage", "dev", AWS_ENDPOINT_URL=endpoint)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(f"CommandError: cannot reach {endpoint}")
    assert result.stderr.count("\n") == 1


def test_a_stage_zappa_settings_does_not_define_exits_non_zero_with_one_line():
    result = manage("create_alarms", "--stage", "qa")
    assert (result.returncode, result.stdout, result.stderr) == (
        1, "", "CommandError: stage 'qa' is not defined in zappa_settings.json (stages: Staging_2, dev, prod)\n")


@pytest.mark.parametrize("command", [("create_alarms",), ("create_dashboard",),
                                     ("subscribe_alerts", "--email", "you@example.com")])
def test_each_monitoring_command_applies_alone_then_changes_nothing(fresh_stage, command):
    stage, settings_file = fresh_stage
    first = manage(*command, "--stage", stage, ZAPPA_SETTINGS_FILE=settings_file)
    second = manage(*command, "--stage", stage, ZAPPA_SETTINGS_FILE=settings_file)
    teardown = manage("teardown_monitoring", "--stage", stage, ZAPPA_SETTINGS_FILE=settings_file)
    assert (first.returncode, first.stderr) == (0, "")
    assert re.fullmatch(r"\d+ create: applied", first.stdout.splitlines()[-1]), first.stdout
    assert (second.returncode, second.stderr) == (0, "")
    assert re.fullmatch(r"\d+ unchanged: nothing to change", second.stdout.splitlines()[-1]), second.stdout
    assert (teardown.returncode, teardown.stderr) == (0, "")
    assert re.fullmatch(r"(\d+ (delete|absent)(, |: applied$))+", teardown.stdout.splitlines()[-1]), teardown.stdout
    assert " delete" in teardown.stdout.splitlines()[-1]
