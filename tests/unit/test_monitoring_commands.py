"""The monitoring commands against the session's emulator endpoint (moto server over HTTP).

Each test gets its own stage name, so its topic, alarms, dashboard and log groups are its own.
"""
import io
import json
import os
import uuid

import boto3
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from ops import escalation
from ops.specs import TableSpec
from ops.stages import stage_load

ACCOUNT = "123456789012"  # moto's account
# Every index a table may carry (the legacy ones until retired, the sharded ones): throttles on each are watched.
INDEXES = [index["IndexName"] for index in TableSpec(name="t").create_request(legacy=True)["GlobalSecondaryIndexes"]]


def client(service: str):
    return boto3.client(service, region_name=os.environ["AWS_REGION"])


@pytest.fixture
def stage(tmp_path):
    """A fresh stage in a zappa_settings.json of its own; its monitoring is torn down afterwards."""
    name = f"t{uuid.uuid4().hex[:8]}"
    settings_file = tmp_path / "zappa_settings.json"
    settings_file.write_text(json.dumps({name: {
        "project_name": "taskapi", "aws_region": os.environ["AWS_REGION"],
        "aws_environment_variables": {"STAGE": name, "TASKS_TABLE": f"tasks-of-{name}"},
    }}))
    with override_settings(ZAPPA_SETTINGS_FILE=settings_file, ALERT_EMAILS=[]):
        yield name
        call_command("teardown_monitoring", stage=name, stdout=io.StringIO())


def run(command: str, **options) -> list[str]:
    out = io.StringIO()
    call_command(command, stdout=out, **options)
    return out.getvalue().splitlines()


def topic_arn(stage: str, tier: str = "") -> str:
    return f"arn:aws:sns:us-east-1:{ACCOUNT}:{stage}-task-api-alerts" + (f"-{tier}" if tier else "")


def every_alarm_name(stage: str) -> list[str]:
    """The names of every metric alarm the specs define for the stage (seed, saturation, queues, sustained)."""
    return [alarm.name for alarm in escalation.every_alarm(stage_load(stage))]


def api_metric(stage: str, name: str, stat: str) -> dict:
    return {"Metric": {"Namespace": "AWS/ApiGateway", "MetricName": name, "Dimensions": [
        {"Name": "ApiName", "Value": f"taskapi-{stage}"}, {"Name": "Stage", "Value": stage}]},
        "Period": 300, "Stat": stat}


def throttle_metric(stage: str, name: str, index: str | None = None) -> dict:
    dimensions = [{"Name": "TableName", "Value": f"tasks-of-{stage}"}]
    if index:
        dimensions.append({"Name": "GlobalSecondaryIndexName", "Value": index})
    return {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": name, "Dimensions": dimensions},
            "Period": 300, "Stat": "Sum"}


def expected_alarms(stage: str) -> list[dict]:
    """The seed's six alarms, written out by hand from the issues (not derived from ops.specs): warning ones
    notify the alert topic, critical ones also the critical topic; each description names its tier and runbook."""
    topic = topic_arn(stage)
    warning = {"ActionsEnabled": True, "AlarmActions": [topic], "OKActions": [topic], "InsufficientDataActions": [],
               "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"}
    critical = {**warning, "AlarmActions": [topic, topic_arn(stage, "critical")],
                "OKActions": [topic, topic_arn(stage, "critical")]}
    api_dimensions = [{"Name": "ApiName", "Value": f"taskapi-{stage}"}, {"Name": "Stage", "Value": stage}]
    index_ids = [(f"index{n}Reads", f"index{n}Writes", index) for n, index in enumerate(INDEXES, start=1)]
    return [
        {**critical, "AlarmName": f"{stage}-task-api-db-throttling", "Threshold": 0.0,
         "EvaluationPeriods": 1, "DatapointsToAlarm": 1, "Dimensions": [],
         "AlarmDescription": f"[critical] DynamoDB throttled requests on tasks-of-{stage} or its indexes."
                            " Runbook: README.md#runbook-db-throttling",
         "Metrics": [
             {"Id": "result", "Label": "Throttle events", "ReturnData": True,
              "Expression": " + ".join(["FILL(tableReads, 0)", "FILL(tableWrites, 0)"] + [
                  f"FILL({reads}, 0) + FILL({writes}, 0)" for reads, writes, _ in index_ids])},
             {"Id": "tableReads", "MetricStat": throttle_metric(stage, "ReadThrottleEvents"), "ReturnData": False},
             {"Id": "tableWrites", "MetricStat": throttle_metric(stage, "WriteThrottleEvents"), "ReturnData": False},
             *({"Id": query_id, "MetricStat": throttle_metric(stage, name, index), "ReturnData": False}
               for reads, writes, index in index_ids
               for query_id, name in ((reads, "ReadThrottleEvents"), (writes, "WriteThrottleEvents"))),
         ]},
        {**warning, "AlarmName": f"{stage}-task-api-high-error-rate", "Threshold": 5.0,
         "EvaluationPeriods": 2, "DatapointsToAlarm": 2, "Dimensions": [],
         "AlarmDescription": f"[warning] More than 5% of taskapi-{stage} API requests failed (4XX or 5XX) for 10 minutes."
                            " Runbook: README.md#runbook-high-error-rate",
         "Metrics": [
             {"Id": "result", "Label": "Error rate (%)", "ReturnData": True,
              "Expression": "100 * (FILL(errors4xx, 0) + FILL(errors5xx, 0)) / requests"},
             {"Id": "requests", "MetricStat": api_metric(stage, "Count", "Sum"), "ReturnData": False},
             {"Id": "errors4xx", "MetricStat": api_metric(stage, "4XXError", "Sum"), "ReturnData": False},
             {"Id": "errors5xx", "MetricStat": api_metric(stage, "5XXError", "Sum"), "ReturnData": False},
         ]},
        {**warning, "AlarmName": f"{stage}-task-api-high-latency", "Threshold": 1000.0,
         "EvaluationPeriods": 2, "DatapointsToAlarm": 2, "Metrics": [],
         "AlarmDescription": f"[warning] taskapi-{stage} API average latency above 1000 ms for 10 minutes."
                            " Runbook: README.md#runbook-high-latency",
         "Namespace": "AWS/ApiGateway", "MetricName": "Latency", "Dimensions": api_dimensions,
         "Statistic": "Average", "Period": 300},
        {**critical, "AlarmName": f"{stage}-task-api-lambda-errors", "Threshold": 5.0,
         "EvaluationPeriods": 1, "DatapointsToAlarm": 1, "Metrics": [],
         "AlarmDescription": f"[critical] More than 5 invocation errors of taskapi-{stage} in 5 minutes."
                            " Runbook: README.md#runbook-lambda-errors",
         "Namespace": "AWS/Lambda", "MetricName": "Errors",
         "Dimensions": [{"Name": "FunctionName", "Value": f"taskapi-{stage}"}], "Statistic": "Sum", "Period": 300},
        {**critical, "AlarmName": f"{stage}-task-api-slo-5xx-rate", "Threshold": 0.1,
         "EvaluationPeriods": 3, "DatapointsToAlarm": 3, "Dimensions": [],
         "AlarmDescription": f"[critical] SLO: more than 0.1% of taskapi-{stage} API requests answered 5XX for 15 minutes."
                            " Runbook: README.md#runbook-slo-5xx-rate",
         "Metrics": [
             {"Id": "result", "Label": "5XX rate (%)", "ReturnData": True,
              "Expression": "100 * FILL(errors5xx, 0) / requests"},
             {"Id": "requests", "MetricStat": api_metric(stage, "Count", "Sum"), "ReturnData": False},
             {"Id": "errors5xx", "MetricStat": api_metric(stage, "5XXError", "Sum"), "ReturnData": False},
         ]},
        {**warning, "AlarmName": f"{stage}-task-api-slo-p95-latency", "Threshold": 500.0,
         "EvaluationPeriods": 3, "DatapointsToAlarm": 3, "Metrics": [],
         "AlarmDescription": f"[warning] SLO: taskapi-{stage} API p95 latency above 500 ms for 15 minutes."
                            " Runbook: README.md#runbook-slo-p95-latency",
         "Namespace": "AWS/ApiGateway", "MetricName": "Latency", "Dimensions": api_dimensions,
         "ExtendedStatistic": "p95", "Period": 300},
    ]


def described_alarms(stage: str) -> list[dict]:
    """DescribeAlarms for the stage, without the keys AWS sets on its own (ARN, state, timestamps)."""
    alarms = client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{stage}-task-api-")["MetricAlarms"]
    volatile = {"AlarmArn", "AlarmConfigurationUpdatedTimestamp", "StateValue", "StateReason", "StateReasonData",
                "StateUpdatedTimestamp", "StateTransitionedTimestamp"}
    return sorted(({k: v for k, v in alarm.items() if k not in volatile} for alarm in alarms),
                  key=lambda alarm: alarm["AlarmName"])


def subscriptions(stage: str) -> list[tuple[str, str]]:
    subs = client("sns").list_subscriptions_by_topic(TopicArn=topic_arn(stage))["Subscriptions"]
    return sorted((sub["Protocol"], sub["Endpoint"]) for sub in subs)


def test_setup_monitoring_creates_exactly_the_expected_alarms(stage):
    run("setup_monitoring", stage=stage, email=["ops@example.com"])
    described = described_alarms(stage)
    assert [alarm["AlarmName"] for alarm in described] == sorted(every_alarm_name(stage))
    seed = {alarm["AlarmName"] for alarm in expected_alarms(stage)}
    assert [alarm for alarm in described if alarm["AlarmName"] in seed] == expected_alarms(stage)
    assert {"status-index", "owner-status-index", "list-shard-index", "priority-shard-index"} == set(INDEXES)
    # Every alarm names its tier and its runbook; warning -> alerts, critical -> also -critical, sustained -> nobody.
    tiers = {"warning": [topic_arn(stage)], "critical": [topic_arn(stage), topic_arn(stage, "critical")],
             "emergency": []}
    for alarm in described:
        tier = alarm["AlarmDescription"][1:].split("]", 1)[0]
        assert alarm["AlarmActions"] == tiers[tier] == alarm["OKActions"], alarm["AlarmName"]
        slug = alarm["AlarmName"].removeprefix(f"{stage}-task-api-")
        assert alarm["AlarmDescription"].endswith(f" Runbook: README.md#runbook-{slug}")
    assert {alarm["AlarmName"].removeprefix(f"{stage}-task-api-") for alarm in described
            if alarm["AlarmDescription"].startswith("[critical]")} == {
        "lambda-errors", "db-throttling", "tags-db-throttling", "slo-5xx-rate", "lambda-throttles",
        "async-failures-queue", "stream-failures-queue"}
    # Issue 18: the tags table (named after the tasks table) and its two keys-only indexes, in an alarm of their own.
    tags = next(alarm for alarm in described if alarm["AlarmName"] == f"{stage}-task-api-tags-db-throttling")
    watched = sorted((query["MetricStat"]["Metric"]["MetricName"],
                      {d["Name"]: d["Value"] for d in query["MetricStat"]["Metric"]["Dimensions"]}.get(
                          "GlobalSecondaryIndexName", ""),
                      {d["Name"]: d["Value"] for d in query["MetricStat"]["Metric"]["Dimensions"]}["TableName"])
                     for query in tags["Metrics"] if "MetricStat" in query)
    assert watched == sorted((name, index, f"tasks-of-{stage}-tags") for name in ("ReadThrottleEvents",
                                                                                 "WriteThrottleEvents")
                             for index in ("", "tag-shard-index", "tag-priority-shard-index"))
    assert (tags["Threshold"], tags["EvaluationPeriods"], len(tags["Metrics"])) == (0.0, 1, 7)


def test_setup_monitoring_prints_its_plan_then_a_second_run_plans_only_unchanged(stage):
    first = run("setup_monitoring", stage=stage, email=["ops@example.com", "dev@example.com"])
    alarms = [f"alarm {name}: create" for name in every_alarm_name(stage)]
    assert first == [
        f"topic {stage}-task-api-alerts: create",
        "subscription ops@example.com: create (SNS emails a confirmation link)",
        "subscription dev@example.com: create (SNS emails a confirmation link)",
        f"topic {stage}-task-api-alerts-critical: create",
        f"topic {stage}-task-api-alerts-emergency: create",
        *alarms,
        f"composite alarm {stage}-task-api-emergency: create",
        f"dashboard {stage}-task-api: create",
        f"log retention /aws/lambda/taskapi-{stage}: create (30 days; creates the log group)",
        f"{len(alarms) + 8} create: applied",
        f"skipped log retention API-Gateway-Execution-Logs_<id of taskapi-{stage}>: "
        "the API is not deployed yet; run again after deploying",
    ]
    second = run("setup_monitoring", stage=stage, email=["ops@example.com", "dev@example.com"])
    assert second == [line.replace(": create (SNS emails a confirmation link)", ": unchanged")
                      .replace(": create (30 days; creates the log group)", ": unchanged (30 days)")
                      .replace(": create", ": unchanged")
                      for line in first[:-2]] + [f"{len(alarms) + 8} unchanged: nothing to change", first[-1]]
    assert subscriptions(stage) == [("email", "dev@example.com"), ("email", "ops@example.com")]


def test_subscribe_alerts_adds_each_address_once_across_runs(stage):
    run("subscribe_alerts", stage=stage, email=["a@example.com"])
    with override_settings(ALERT_EMAILS=["a@example.com", "b@example.com"]):
        lines = run("subscribe_alerts", stage=stage)
    assert lines == [
        f"topic {stage}-task-api-alerts: unchanged",
        "subscription a@example.com: unchanged",
        "subscription b@example.com: create (SNS emails a confirmation link)",
        "2 unchanged, 1 create: applied",
    ]
    run("subscribe_alerts", stage=stage, email=["A@example.com", "b@example.com"])
    assert subscriptions(stage) == [("email", "a@example.com"), ("email", "b@example.com")]


def test_subscribe_alerts_without_addresses_or_with_a_bad_one_exits_with_the_reason(stage):
    with override_settings(ALERT_EMAILS=[]), pytest.raises(CommandError, match="^no alert addresses: pass --email"):
        run("subscribe_alerts", stage=stage)
    with pytest.raises(CommandError, match="^'not-an-address' is not an email address$"):
        run("subscribe_alerts", stage=stage, email=["not-an-address"])


def test_dashboard_has_the_seed_widgets_and_the_app_row(stage):
    assert run("create_dashboard", stage=stage) == [f"dashboard {stage}-task-api: create", "1 create: applied"]
    body = json.loads(client("cloudwatch").get_dashboard(DashboardName=f"{stage}-task-api")["DashboardBody"])
    widgets = {widget["properties"]["title"]: widget["properties"] for widget in body["widgets"]}
    api = ["ApiName", f"taskapi-{stage}", "Stage", stage]
    assert widgets["API requests by status"]["metrics"] == [
        ["AWS/ApiGateway", "Count", *api, {"label": "Requests", "stat": "Sum", "id": "requests", "visible": False}],
        [{"expression": "requests - FILL(errors4xx, 0) - FILL(errors5xx, 0)", "label": "2XX", "id": "ok"}],
        ["AWS/ApiGateway", "4XXError", *api, {"label": "4XX", "stat": "Sum", "id": "errors4xx"}],
        ["AWS/ApiGateway", "5XXError", *api, {"label": "5XX", "stat": "Sum", "id": "errors5xx"}],
    ]
    assert widgets["API latency (ms)"]["metrics"] == [
        ["AWS/ApiGateway", "Latency", *api, {"label": p, "stat": p}] for p in ("p50", "p95", "p99")
    ]
    function = ["FunctionName", f"taskapi-{stage}"]
    assert widgets["Lambda invocations and errors"]["metrics"] == [
        ["AWS/Lambda", "Invocations", *function, {"label": "Invocations", "stat": "Sum"}],
        ["AWS/Lambda", "Errors", *function, {"label": "Errors", "stat": "Sum", "yAxis": "right"}],
    ]
    table = ["TableName", f"tasks-of-{stage}"]
    assert [line[:-1] for line in widgets["DynamoDB capacity and throttles"]["metrics"]] == [
        ["AWS/DynamoDB", "ConsumedReadCapacityUnits", *table],
        ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", *table],
        ["AWS/DynamoDB", "ReadThrottleEvents", *table],
        ["AWS/DynamoDB", "WriteThrottleEvents", *table],
    ] + [
        ["AWS/DynamoDB", name, *table, "GlobalSecondaryIndexName", index]
        for index in INDEXES for name in ("ConsumedReadCapacityUnits", "ReadThrottleEvents", "WriteThrottleEvents")
    ]
    tags = ["TableName", f"tasks-of-{stage}-tags"]
    assert [line[:-1] for line in widgets["DynamoDB tags table (?tag= pages)"]["metrics"]] == [
        ["AWS/DynamoDB", "ConsumedReadCapacityUnits", *tags],
        ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", *tags],
        ["AWS/DynamoDB", "ReadThrottleEvents", *tags],
        ["AWS/DynamoDB", "WriteThrottleEvents", *tags],
    ] + [
        ["AWS/DynamoDB", name, *tags, "GlobalSecondaryIndexName", index]
        for index in ("tag-shard-index", "tag-priority-shard-index")
        for name in ("ConsumedReadCapacityUnits", "ReadThrottleEvents", "WriteThrottleEvents")
    ]
    search = "SEARCH('{TaskApi,Endpoint,Stage} Stage=\"%s\" MetricName=\"%s\"', '%s', 300)"
    app_row = [widgets[title]["metrics"] for title in
               ("Requests per endpoint", "Errors per endpoint", "Latency per endpoint (p95 ms)")]
    assert [[line[0]["expression"] for line in lines] for lines in app_row] == [
        [search % (stage, "RequestCount", "Sum")],
        [search % (stage, "4xx", "Sum"), search % (stage, "5xx", "Sum")],
        [search % (stage, "LatencyMs", "p95")],
    ]
    assert {widget["properties"]["region"] for widget in body["widgets"]} == {"us-east-1"}
    assert [(w["x"], w["y"], w["width"]) for w in body["widgets"]] == [
        (0, 0, 12), (12, 0, 12), (0, 6, 8), (8, 6, 8), (16, 6, 8), (0, 12, 8), (8, 12, 8), (16, 12, 8),
        (0, 18, 6), (6, 18, 6), (12, 18, 6), (18, 18, 6)]
    # Issue 16: saturation and the stream consumer (issue 13), alarm thresholds drawn where there is one.
    assert widgets["Lambda concurrency"]["metrics"] == [
        ["AWS/Lambda", "ConcurrentExecutions", {"label": "Concurrent executions", "stat": "Maximum"}]]
    assert widgets["Lambda concurrency"]["annotations"] == {"horizontal": [{"label": "alarm", "value": 800}]}
    idempotency = ["TableName", f"tasks-of-{stage}-idempotency"]
    assert widgets["Throttles"]["metrics"] == [
        ["AWS/Lambda", "Throttles", *function, {"label": "Lambda throttles", "stat": "Sum"}],
        ["AWS/DynamoDB", "ReadThrottleEvents", *idempotency, {"label": "Idempotency reads throttled", "stat": "Sum"}],
        ["AWS/DynamoDB", "WriteThrottleEvents", *idempotency,
         {"label": "Idempotency writes throttled", "stat": "Sum"}],
    ]
    consumer = widgets["Stream consumer and WebSocket pushes"]
    assert consumer["metrics"] == [
        ["AWS/Lambda", "IteratorAge", *function, {"label": "Iterator age (ms)", "stat": "Maximum"}],
        ["TaskApi", "StreamRecordFailures", "Stage", stage, {"label": "Failed records", "stat": "Sum", "yAxis": "right"}],
        ["TaskApi", "WebSocketPushErrors", "Stage", stage, {"label": "Push errors", "stat": "Sum", "yAxis": "right"}],
        ["TaskApi", "WebSocketPushes", "Stage", stage, {"label": "Pushes", "stat": "Sum", "yAxis": "right"}],
    ]
    assert consumer["annotations"] == {"horizontal": [{"label": "alarm", "value": 60000}]}
    queues = [f"taskapi-{stage}-async-failures", f"taskapi-{stage}-stream-failures"]
    assert widgets["Failure queues (messages)"]["metrics"] == [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue, {"label": queue, "stat": "Maximum"}]
        for queue in queues]


def test_a_dashboard_edited_by_hand_is_put_back(stage):
    run("create_dashboard", stage=stage)
    client("cloudwatch").put_dashboard(DashboardName=f"{stage}-task-api", DashboardBody='{"widgets": []}')
    assert run("create_dashboard", stage=stage) == [f"dashboard {stage}-task-api: update", "1 update: applied"]
    assert run("create_dashboard", stage=stage) == [f"dashboard {stage}-task-api: unchanged",
                                                    "1 unchanged: nothing to change"]


def test_an_alarm_changed_by_hand_is_updated_back(stage):
    run("create_alarms", stage=stage)
    client("cloudwatch").put_metric_alarm(
        AlarmName=f"{stage}-task-api-lambda-errors", Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum",
        Dimensions=[{"Name": "FunctionName", "Value": f"taskapi-{stage}"}], Period=60, EvaluationPeriods=1,
        Threshold=50, ComparisonOperator="GreaterThanThreshold")
    lines = run("create_alarms", stage=stage)
    assert f"alarm {stage}-task-api-lambda-errors: update" in lines
    assert lines[-1] == f"{len(every_alarm_name(stage)) + 3} unchanged, 1 update: applied"
    seed = {alarm["AlarmName"] for alarm in expected_alarms(stage)}
    assert [alarm for alarm in described_alarms(stage) if alarm["AlarmName"] in seed] == expected_alarms(stage)


def test_dry_run_prints_the_plan_and_writes_nothing(stage):
    lines = run("setup_monitoring", stage=stage, email=["ops@example.com"], dry_run=True)
    assert lines[-2] == f"{len(every_alarm_name(stage)) + 7} create: dry run, nothing changed"
    assert client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{stage}-")["MetricAlarms"] == []
    assert client("cloudwatch").list_dashboards(DashboardNamePrefix=f"{stage}-")["DashboardEntries"] == []
    assert all(not topic["TopicArn"].endswith(f":{stage}-task-api-alerts")
               for topic in client("sns").list_topics()["Topics"])
    assert client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/taskapi-{stage}")["logGroups"] == []
    run("setup_monitoring", stage=stage)
    alarms = len(every_alarm_name(stage))
    assert run("teardown_monitoring", stage=stage, dry_run=True)[-1] == (
        f"{alarms + 6} delete: dry run, nothing changed")
    assert len(described_alarms(stage)) == alarms


def test_teardown_leaves_nothing_behind_but_the_logs(stage):
    run("setup_monitoring", stage=stage, email=["ops@example.com"])
    lines = run("teardown_monitoring", stage=stage)
    alarms = [f"alarm {name}: delete" for name in every_alarm_name(stage)]
    assert lines == [
        f"composite alarm {stage}-task-api-emergency: delete",
        *alarms,
        f"dashboard {stage}-task-api: delete",
        "subscription ops@example.com: delete",
        f"topic {stage}-task-api-alerts: delete",
        f"topic {stage}-task-api-alerts-critical: delete",
        f"topic {stage}-task-api-alerts-emergency: delete",
        f"log retention /aws/lambda/taskapi-{stage}: delete (the log group and its logs are kept)",
        f"{len(alarms) + 7} delete: applied",
    ]
    assert client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{stage}-")["MetricAlarms"] == []
    assert client("cloudwatch").list_dashboards(DashboardNamePrefix=f"{stage}-")["DashboardEntries"] == []
    assert all(not topic["TopicArn"].endswith(f":{stage}-task-api-alerts")
               for topic in client("sns").list_topics()["Topics"])
    assert all(not sub["TopicArn"].endswith(f":{stage}-task-api-alerts")
               for sub in client("sns").list_subscriptions()["Subscriptions"])
    groups = client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/taskapi-{stage}")["logGroups"]
    assert [(group["logGroupName"], group.get("retentionInDays")) for group in groups] == [
        (f"/aws/lambda/taskapi-{stage}", None)]
    assert client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{stage}-", AlarmTypes=["CompositeAlarm"])[
        "CompositeAlarms"] == []
    assert run("teardown_monitoring", stage=stage)[-1] == f"{len(alarms) + 6} absent: nothing to change"


def test_the_api_execution_log_group_gets_retention_once_the_api_exists(stage):
    api_id = client("apigateway").create_rest_api(name=f"taskapi-{stage}")["id"]
    try:
        lines = run("setup_monitoring", stage=stage)
        assert lines[-3:] == [
            f"log retention /aws/lambda/taskapi-{stage}: create (30 days; creates the log group)",
            f"log retention API-Gateway-Execution-Logs_{api_id}/{stage}: create (30 days; creates the log group)",
            f"{len(every_alarm_name(stage)) + 7} create: applied",
        ]
        group = f"API-Gateway-Execution-Logs_{api_id}/{stage}"
        described = client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert [(g["logGroupName"], g["retentionInDays"]) for g in described] == [(group, 30)]
        assert run("teardown_monitoring", stage=stage)[-2] == (
            f"log retention {group}: delete (the log group and its logs are kept)")
    finally:
        client("apigateway").delete_rest_api(restApiId=api_id)


def test_a_stage_missing_from_zappa_settings_exits_with_the_reason(stage):
    with pytest.raises(CommandError, match=r"^stage 'qa' is not defined in zappa_settings.json \(stages: t"):
        run("create_alarms", stage="qa")


def test_a_stage_deployed_in_another_region_exits_with_the_reason(tmp_path):
    settings_file = tmp_path / "zappa_settings.json"
    settings_file.write_text(json.dumps({"prod": {"project_name": "taskapi", "aws_region": "eu-west-1"}}))
    with override_settings(ZAPPA_SETTINGS_FILE=settings_file), pytest.raises(
            CommandError, match="^stage prod is deployed in eu-west-1 but AWS_REGION is us-east-1; "
                                "set AWS_REGION=eu-west-1$"):
        run("setup_monitoring", stage="prod")
