"""create_saturation_alarms against the session's emulator (moto server over HTTP): the alarms, idempotent."""
import io
import json
import os
import uuid

import boto3
import pytest
from django.core.management import call_command
from django.test import override_settings

from ops import saturation
from ops.stages import stage_load


@pytest.fixture
def stage(tmp_path):
    name = f"s{uuid.uuid4().hex[:8]}"
    settings_file = tmp_path / "zappa_settings.json"
    settings_file.write_text(json.dumps({name: {
        "project_name": "taskapi", "aws_region": os.environ["AWS_REGION"], "lambda_concurrency": 50,
        "aws_environment_variables": {"STAGE": name, "TASKS_TABLE": f"tasks-of-{name}"}}}))
    with override_settings(ZAPPA_SETTINGS_FILE=settings_file, ALERT_EMAILS=[]):
        yield name
        call_command("teardown_monitoring", stage=name, stdout=io.StringIO())


def run(**options) -> list[str]:
    out = io.StringIO()
    call_command("create_saturation_alarms", stdout=out, **options)
    return out.getvalue().splitlines()


def test_saturation_alarms_are_created_once_then_unchanged(stage):
    names = [f"{stage}-task-api-{name}" for name in ("stream-iterator-age", "stream-record-failures",
                                                      "lambda-throttles", "lambda-concurrency",
                                                      "idempotency-throttling", "websocket-push-errors")]
    assert run(stage=stage) == [f"topic {stage}-task-api-alerts: create",
                                f"topic {stage}-task-api-alerts-critical: create",
                                f"topic {stage}-task-api-alerts-emergency: create",
                                *(f"alarm {name}: create" for name in names), "9 create: applied"]
    assert run(stage=stage)[-1] == "9 unchanged: nothing to change"
    alarms = {alarm["AlarmName"]: alarm for alarm in boto3.client("cloudwatch", region_name=os.environ["AWS_REGION"])
              .describe_alarms(AlarmNamePrefix=f"{stage}-task-api-")["MetricAlarms"]}
    assert sorted(alarms) == sorted(names)
    concurrency = alarms[f"{stage}-task-api-lambda-concurrency"]
    assert (concurrency["MetricName"], concurrency["Threshold"], concurrency["Dimensions"]) == (
        "ConcurrentExecutions", 40.0, [{"Name": "FunctionName", "Value": f"taskapi-{stage}"}])
    assert [alarm["AlarmDescription"].rsplit(" Runbook: ", 1)[1] for alarm in alarms.values()] == [
        f"README.md#runbook-{name.removeprefix(f'{stage}-task-api-')}" for name in alarms]
    critical = [f"arn:aws:sns:us-east-1:123456789012:{stage}-task-api-alerts{tier}" for tier in ("", "-critical")]
    assert alarms[f"{stage}-task-api-lambda-throttles"]["AlarmActions"] == critical
    assert alarms[f"{stage}-task-api-lambda-concurrency"]["AlarmActions"] == critical[:1]
    push = alarms[f"{stage}-task-api-websocket-push-errors"]  # issue 14: a ratio, over a floor of 10 errors
    assert [(query["Id"], query.get("MetricStat", {}).get("Metric", {}).get("MetricName")) for query in push["Metrics"]] \
        == [("result", None), ("errors", "WebSocketPushErrors"), ("pushes", "WebSocketPushes")]
    assert (push["Threshold"], push["EvaluationPeriods"], push["AlarmActions"]) == (5.0, 2, critical[:1])


def test_without_reserved_concurrency_the_account_limit_is_watched(tmp_path):
    settings_file = tmp_path / "zappa_settings.json"
    settings_file.write_text(json.dumps({"x1": {"aws_environment_variables": {"TASKS_TABLE": "t"}}}))
    with override_settings(ZAPPA_SETTINGS_FILE=settings_file):
        alarm = saturation.saturation_alarms(stage_load("x1"))[3]
    assert (alarm.threshold, alarm.metric.dimensions) == (800, ())


def test_an_iterator_age_alarm_is_one_spec():
    with override_settings(ZAPPA_SETTINGS_FILE="/nonexistent.json"):
        alarm = saturation.iterator_age_alarm(stage_load("dev"), function_name="taskapi-dev-feed", seconds=60)
    request = alarm.put_request(topic_arn="arn:aws:sns:us-east-1:1:t")
    assert (request["MetricName"], request["Threshold"], request["Statistic"]) == ("IteratorAge", 60000.0, "Maximum")
