"""The monitoring commands as users run them: `python manage.py ...` in a fresh process, exit codes included."""
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

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


def test_setup_monitoring_then_again_prints_only_unchanged(fresh_stage):
    stage, settings_file = fresh_stage
    setup = ("setup_monitoring", "--stage", stage, "--email", "you@example.com")
    first = manage(*setup, ZAPPA_SETTINGS_FILE=settings_file)
    second = manage(*setup, ZAPPA_SETTINGS_FILE=settings_file)
    try:
        assert (first.returncode, first.stderr) == (0, "")
        assert first.stdout.splitlines()[0] == f"topic {stage}-task-api-alerts: create"
        assert first.stdout.splitlines()[-2] == "10 create: applied"
        assert (second.returncode, second.stderr) == (0, "")
        *plan, summary, skipped = second.stdout.splitlines()
        assert len(plan) == 10
        assert [line for line in plan if not line.endswith((": unchanged", ": unchanged (30 days)"))] == []
        assert summary == "10 unchanged: nothing to change"
        _assert_monitoring_exists(stage)
        assert skipped == (f"skipped log retention API-Gateway-Execution-Logs_<id of taskapi-{stage}>: "
                           "the API is not deployed yet; run again after deploying")
    finally:
        teardown = manage("teardown_monitoring", "--stage", stage, ZAPPA_SETTINGS_FILE=settings_file)
    assert (teardown.returncode, teardown.stdout.splitlines()[-1]) == (0, "10 delete: applied")


def _assert_monitoring_exists(stage: str) -> None:
    """Checks on the endpoint itself what setup_monitoring made: alarms, dashboard, topic and subscription."""
    import boto3

    region = os.environ["AWS_REGION"]
    alarms = boto3.client("cloudwatch", region_name=region).describe_alarms(AlarmNamePrefix=f"{stage}-task-api-")
    topic_arn = next(t["TopicArn"] for t in boto3.client("sns", region_name=region).list_topics()["Topics"]
                     if t["TopicArn"].endswith(f":{stage}-task-api-alerts"))
    assert len(alarms["MetricAlarms"]) == 6
    assert all(a["AlarmActions"] == [topic_arn] == a["OKActions"] for a in alarms["MetricAlarms"])
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
