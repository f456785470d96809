"""Saturation alarms (issue 16): Lambda throttles, concurrency against its limit, idempotency-table throttles.

Kept apart from ops.specs.alarms (the seed's six) so they can be planned and applied on their own; the
changes feed's stream consumer (same function) is watched by its IteratorAge and its failed records.
setup_monitoring applies them with the rest (ops.escalation.every_alarm) and shows them on the dashboard.
"""
from django.conf import settings

from ops.specs import ALARM_PREFIX, CRITICAL, PERIOD, AlarmSpec, Metric
from ops.stages import Stage, _stage_config, _stages_read
from taskapi.metrics import NAMESPACE as EMF_NAMESPACE

ACCOUNT_CONCURRENCY_LIMIT = 1000  # AWS's default per region; raise it here when the account's quota is raised
SATURATED = 0.8  # alarm at 80% of the limit, before requests are throttled


def reserved_concurrency(stage: Stage) -> int | None:
    """Returns the stage's `lambda_concurrency` (Zappa's reserved concurrency) from zappa_settings.json, or None."""
    stages = _stages_read(settings.ZAPPA_SETTINGS_FILE) or {}
    return _stage_config(stages, stage.name).get("lambda_concurrency") if stage.name in stages else None


def iterator_age_alarm(stage: Stage, *, function_name: str, seconds: int = 60) -> AlarmSpec:
    """Returns the alarm on a stream consumer's IteratorAge (ms) staying above `seconds` for 10 minutes."""
    return AlarmSpec(
        name=f"{ALARM_PREFIX.format(stage=stage.name)}stream-iterator-age",
        description=f"{function_name} is more than {seconds} s behind its stream.",
        threshold=seconds * 1000, evaluation_periods=2, datapoints_to_alarm=2,
        metric=Metric("AWS/Lambda", "IteratorAge", (("FunctionName", function_name),), "Maximum"))


def saturation_alarms(stage: Stage) -> list[AlarmSpec]:
    """Returns the stage's saturation alarms."""
    prefix = ALARM_PREFIX.format(stage=stage.name)
    function = (("FunctionName", stage.function_name),)
    reserved = reserved_concurrency(stage)
    if reserved:
        limit, scope, dimensions = reserved, f"its reserved concurrency ({reserved})", function
    else:  # unreserved functions share the account's pool, published without dimensions
        limit, scope, dimensions = ACCOUNT_CONCURRENCY_LIMIT, f"the account limit ({ACCOUNT_CONCURRENCY_LIMIT})", ()
    idempotency = (("TableName", settings.IDEMPOTENCY_TABLE if stage.name == settings.STAGE
                    else f"{stage.tasks_table}-idempotency"),)
    return [
        iterator_age_alarm(stage, function_name=stage.function_name),
        AlarmSpec(
            name=f"{prefix}stream-record-failures",
            description=(f"{stage.function_name} failed to record stream changes; they are retried (a record "
                         f"given up on is in the failure queue, a critical alarm of its own)."),
            threshold=0, evaluation_periods=1, datapoints_to_alarm=1,
            metric=Metric(EMF_NAMESPACE, "StreamRecordFailures", (("Stage", stage.name),), "Sum")),
        AlarmSpec(
            name=f"{prefix}lambda-throttles",
            description=f"Lambda throttled invocations of {stage.function_name}.",
            threshold=0, evaluation_periods=1, datapoints_to_alarm=1,
            metric=Metric("AWS/Lambda", "Throttles", function, "Sum"), severity=CRITICAL),
        AlarmSpec(
            name=f"{prefix}lambda-concurrency",
            description=(f"{stage.function_name} ran above {SATURATED:.0%} of {scope} concurrent executions "
                         f"for 10 minutes."),
            threshold=int(limit * SATURATED), evaluation_periods=2, datapoints_to_alarm=2,
            metric=Metric("AWS/Lambda", "ConcurrentExecutions", dimensions, "Maximum")),
        AlarmSpec(
            name=f"{prefix}idempotency-throttling",
            description="DynamoDB throttled requests on the idempotency table.",
            threshold=0, evaluation_periods=1, datapoints_to_alarm=1, expression="FILL(reads, 0) + FILL(writes, 0)",
            label="Throttle events",
            inputs=(("reads", Metric("AWS/DynamoDB", "ReadThrottleEvents", idempotency, "Sum")),
                    ("writes", Metric("AWS/DynamoDB", "WriteThrottleEvents", idempotency, "Sum")))),
        websocket_push_alarm(stage),
    ]


PUSH_ERRORS_PERCENT, PUSH_ERRORS_FLOOR = 5, 10


def websocket_push_alarm(stage: Stage) -> AlarmSpec:
    """Returns the alarm on WebSocket pushes that failed (issue 14): above 5% of the messages the consumer tried to
    push, for 10 minutes, and more than 10 in each 5 minutes (a few flaky clients at low traffic are not an alarm)."""
    errors, pushes = (Metric(EMF_NAMESPACE, name, (("Stage", stage.name),), "Sum")
                      for name in ("WebSocketPushErrors", "WebSocketPushes"))
    return AlarmSpec(
        name=f"{ALARM_PREFIX.format(stage=stage.name)}websocket-push-errors",
        description=(f"More than {PUSH_ERRORS_PERCENT}% of {stage.function_name}'s WebSocket pushes failed for "
                     f"10 minutes (clients resume from /tasks/changes, but live updates lag)."),
        threshold=PUSH_ERRORS_PERCENT, evaluation_periods=2, datapoints_to_alarm=2,
        expression=(f"IF(FILL(errors, 0) > {PUSH_ERRORS_FLOOR}, "
                    "100 * FILL(errors, 0) / (FILL(errors, 0) + FILL(pushes, 0)), 0)"),
        label="WebSocket push errors (%)", inputs=(("errors", errors), ("pushes", pushes)))


def _lines(metric: Metric, label: str, **options) -> list:
    """Returns one dashboard metric line in CloudWatch's array notation."""
    dimensions = [part for pair in metric.dimensions for part in pair]
    return [metric.namespace, metric.name, *dimensions, {"label": label, "stat": metric.stat, **options}]


def saturation_widgets(stage: Stage, *, queues: list[str], y: int) -> list[dict]:
    """Returns the dashboard row of saturation and the stream consumer: concurrency against its alarm
    threshold, throttles, the consumer's iterator age and failed records, and the failure queues' depth."""
    alarms = {alarm.name.split("-task-api-", 1)[-1]: alarm for alarm in saturation_alarms(stage)}
    concurrency, iterator_age = alarms["lambda-concurrency"], alarms["stream-iterator-age"]

    def widget(title: str, metrics: list, x: int, annotation: AlarmSpec | None = None) -> dict:
        properties = {"title": title, "view": "timeSeries", "stacked": False, "region": stage.region,
                      "period": PERIOD, "metrics": metrics}
        if annotation is not None:  # the alarm's threshold as a horizontal line
            properties["annotations"] = {"horizontal": [{"label": "alarm", "value": annotation.threshold}]}
        return {"type": "metric", "x": x, "y": y, "width": 6, "height": 6, "properties": properties}

    return [
        widget("Lambda concurrency", [_lines(concurrency.metric, "Concurrent executions")], 0, concurrency),
        widget("Throttles", [
            _lines(alarms["lambda-throttles"].metric, "Lambda throttles"),
            *(_lines(metric, f"Idempotency {query_id} throttled") for query_id, metric in
              alarms["idempotency-throttling"].inputs),
        ], 6),
        widget("Stream consumer and WebSocket pushes", [
            _lines(iterator_age.metric, "Iterator age (ms)"),
            _lines(alarms["stream-record-failures"].metric, "Failed records", yAxis="right"),
            *(_lines(metric, label, yAxis="right") for (_, metric), label in
              zip(alarms["websocket-push-errors"].inputs, ("Push errors", "Pushes"), strict=True)),
        ], 12, iterator_age),
        widget("Failure queues (messages)", [
            _lines(Metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", (("QueueName", queue),), "Maximum"),
                   queue) for queue in queues
        ], 18),
    ]
