"""ops.plans: desired state against described state gives exactly these steps (no AWS involved)."""
import copy

from ops import specs
from ops.plans import (
    Step,
    alarms_plan,
    alarms_teardown_plan,
    api_log_group_skipped,
    dashboard_plan,
    dashboard_teardown_plan,
    log_groups_plan,
    log_groups_teardown_plan,
    subscriptions_plan,
    topic_plan,
    topic_teardown_plan,
)
from ops.stages import Stage

TOPIC = "arn:aws:sns:us-east-1:123456789012:dev-task-api-alerts"
STAGE = Stage(name="dev", project_name="taskapi", region="us-east-1", tasks_table="taskapi-dev-tasks")


def lines(steps: list[Step]) -> list[str]:
    return [str(step) for step in steps]


def described(request: dict) -> dict:
    """What DescribeAlarms returns for an alarm made from `request`: the same values plus AWS's own keys."""
    alarm = copy.deepcopy(request)
    alarm.update(AlarmArn=f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{request['AlarmName']}",
                 StateValue="OK", InsufficientDataActions=[], AlarmConfigurationUpdatedTimestamp="2026-11-25")
    alarm.setdefault("Metrics", [])
    alarm.setdefault("Dimensions", [])
    alarm["Threshold"] = float(alarm["Threshold"])
    return alarm


def test_topic_is_created_when_missing_and_unchanged_when_there():
    name = "dev-task-api-alerts"
    assert lines(topic_plan(name=name, arn=TOPIC, exists=False)) == ["topic dev-task-api-alerts: create"]
    assert lines(topic_plan(name=name, arn=TOPIC, exists=True)) == ["topic dev-task-api-alerts: unchanged"]


def test_each_address_is_subscribed_once_and_pending_ones_are_reported():
    current = [
        {"Protocol": "email", "Endpoint": "ops@example.com", "SubscriptionArn": f"{TOPIC}:1111"},
        {"Protocol": "email", "Endpoint": "new@example.com", "SubscriptionArn": "PendingConfirmation"},
        {"Protocol": "email", "Endpoint": "old@example.com", "SubscriptionArn": f"{TOPIC}:2222"},
        {"Protocol": "sms", "Endpoint": "+15550100", "SubscriptionArn": f"{TOPIC}:3333"},
    ]
    steps = subscriptions_plan(topic_arn=TOPIC, current=current,
                               emails=["OPS@example.com", "new@example.com", "you@example.com", "you@example.com"])
    assert lines(steps) == [
        "subscription ops@example.com: unchanged",
        "subscription new@example.com: unchanged (pending confirmation)",
        "subscription you@example.com: create (SNS emails a confirmation link)",
        "subscription old@example.com: unchanged (not requested; kept)",
    ]
    assert steps[2].data == TOPIC


def test_missing_alarms_are_created_matching_ones_unchanged_and_changed_ones_updated():
    desired = [alarm.put_request(topic_arn=TOPIC) for alarm in specs.alarms(STAGE)]
    changed = described(desired[1]) | {"Threshold": 2000.0}
    moved = described(desired[3])
    moved["Metrics"][1]["MetricStat"]["Metric"]["Dimensions"] = [{"Name": "TableName", "Value": "other"}]
    current = {
        desired[0]["AlarmName"]: described(desired[0]),
        desired[1]["AlarmName"]: changed,
        desired[3]["AlarmName"]: moved,
        desired[4]["AlarmName"]: described(desired[4]) | {"OKActions": []},
        desired[5]["AlarmName"]: described(desired[5]),
    }
    assert lines(alarms_plan(desired=desired, current=current)) == [
        "alarm dev-task-api-high-error-rate: unchanged",
        "alarm dev-task-api-high-latency: update",
        "alarm dev-task-api-lambda-errors: create",
        "alarm dev-task-api-db-throttling: update",
        "alarm dev-task-api-slo-p95-latency: update",
        "alarm dev-task-api-slo-5xx-rate: unchanged",
        "alarm dev-task-api-tags-db-throttling: create",
    ]


def test_an_alarm_switched_from_one_metric_to_metric_math_is_updated():
    desired = specs.alarms(STAGE)[0].put_request(topic_arn=TOPIC)
    single = described(specs.alarms(STAGE)[1].put_request(topic_arn=TOPIC)) | {"AlarmName": desired["AlarmName"]}
    assert lines(alarms_plan(desired=[desired], current={desired["AlarmName"]: single})) == [
        "alarm dev-task-api-high-error-rate: update"
    ]


def test_dashboard_is_created_replaced_or_left_alone():
    body = specs.dashboard(STAGE)
    assert lines(dashboard_plan(name="dev-task-api", desired=body, current=None)) == ["dashboard dev-task-api: create"]
    assert lines(dashboard_plan(name="dev-task-api", desired=body, current=copy.deepcopy(body))) == [
        "dashboard dev-task-api: unchanged"
    ]
    edited = copy.deepcopy(body)
    edited["widgets"].pop()
    assert lines(dashboard_plan(name="dev-task-api", desired=body, current=edited)) == [
        "dashboard dev-task-api: update"
    ]


def test_log_retention_is_set_on_new_and_existing_groups():
    desired = specs.log_groups(STAGE, api_id="abc123")
    assert [spec.name for spec in desired] == ["/aws/lambda/taskapi-dev", "API-Gateway-Execution-Logs_abc123/dev"]
    assert lines(log_groups_plan(desired=desired, current={"/aws/lambda/taskapi-dev": None,
                                                          "API-Gateway-Execution-Logs_abc123/dev": {}})) == [
        "log retention /aws/lambda/taskapi-dev: create (30 days; creates the log group)",
        "log retention API-Gateway-Execution-Logs_abc123/dev: update (never expire -> 30 days)",
    ]
    assert lines(log_groups_plan(desired=desired, current={
        "/aws/lambda/taskapi-dev": {"retentionInDays": 30},
        "API-Gateway-Execution-Logs_abc123/dev": {"retentionInDays": 7},
    })) == [
        "log retention /aws/lambda/taskapi-dev: unchanged (30 days)",
        "log retention API-Gateway-Execution-Logs_abc123/dev: update (7 days -> 30 days)",
    ]


def test_the_api_log_group_is_skipped_with_a_reason_until_exactly_one_api_has_the_name():
    assert lines(api_log_group_skipped(api_name="taskapi-dev", api_ids=[])) == [
        "log retention API-Gateway-Execution-Logs_<id of taskapi-dev>: skip "
        "(the API is not deployed yet; run again after deploying)"
    ]
    assert lines(api_log_group_skipped(api_name="taskapi-dev", api_ids=["a", "b"])) == [
        "log retention API-Gateway-Execution-Logs_<id of taskapi-dev>: skip (2 REST APIs share that name)"
    ]
    assert api_log_group_skipped(api_name="taskapi-dev", api_ids=["a"]) == []


def test_teardown_deletes_what_exists_including_alarms_left_from_older_specs():
    names = [alarm.name for alarm in specs.alarms(STAGE)]
    current = {names[0]: {}, "dev-task-api-retired-alarm": {}}
    assert lines(alarms_teardown_plan(names=names[:2], current=current)) == [
        "alarm dev-task-api-high-error-rate: delete",
        "alarm dev-task-api-high-latency: absent",
        "alarm dev-task-api-retired-alarm: delete",
    ]
    assert lines(dashboard_teardown_plan(name="dev-task-api", exists=True)) == ["dashboard dev-task-api: delete"]
    steps = topic_teardown_plan(name="dev-task-api-alerts", arn=TOPIC, exists=True, subscriptions=[
        {"Endpoint": "ops@example.com", "SubscriptionArn": f"{TOPIC}:1111"},
        {"Endpoint": "new@example.com", "SubscriptionArn": "PendingConfirmation"},
    ])
    assert lines(steps) == [
        "subscription ops@example.com: delete",
        "subscription new@example.com: delete (pending; removed with the topic)",
        "topic dev-task-api-alerts: delete",
    ]
    assert [step.data for step in steps] == [f"{TOPIC}:1111", None, TOPIC]
    desired = specs.log_groups(STAGE, api_id=None)
    group = "/aws/lambda/taskapi-dev"
    assert lines(log_groups_teardown_plan(desired=desired, current={group: {"retentionInDays": 30}})) == [
        "log retention /aws/lambda/taskapi-dev: delete (the log group and its logs are kept)"
    ]
    assert lines(log_groups_teardown_plan(desired=desired, current={group: {"retentionInDays": 90}})) == [
        "log retention /aws/lambda/taskapi-dev: unchanged (90 days, not set by setup_monitoring)"
    ]
    assert lines(log_groups_teardown_plan(desired=desired, current={"/aws/lambda/taskapi-dev": None})) == [
        "log retention /aws/lambda/taskapi-dev: absent"
    ]
