"""Saturation alarms (issue 16): Lambda throttles, concurrency against its limit, idempotency-table throttles.

Kept apart from ops.specs.alarms (the seed's six) so they can be planned and applied on their own; the
changes feed's stream consumer (same function) is watched by its IteratorAge and its failed records.
"""
from django.conf import settings

from ops.specs import ALARM_PREFIX, AlarmSpec, Metric
from taskapi.metrics import NAMESPACE as EMF_NAMESPACE
from ops.stages import Stage, _stage_config, _stages_read

ACCOUNT_CONCURRENCY_LIMIT = 1000  # AWS's default per region; raise it here when the account's quota is raised
SATURATED = 0.8  # alarm at 80% of the limit, before requests are throttled
RUNBOOK = "README.md#runbook-saturation"


def reserved_concurrency(stage: Stage) -> int | None:
    """Returns the stage's `lambda_concurrency` (Zappa's reserved concurrency) from zappa_settings.json, or None."""
    stages = _stages_read(settings.ZAPPA_SETTINGS_FILE) or {}
    return _stage_config(stages, stage.name).get("lambda_concurrency") if stage.name in stages else None


def iterator_age_alarm(stage: Stage, *, function_name: str, seconds: int = 60) -> AlarmSpec:
    """Returns the alarm on a stream consumer's IteratorAge (ms) staying above `seconds` for 10 minutes."""
    return AlarmSpec(
        name=f"{ALARM_PREFIX.format(stage=stage.name)}stream-iterator-age",
        description=f"{function_name} is more than {seconds} s behind its stream. Runbook: {RUNBOOK}",
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
            description=(f"{stage.function_name} failed to record stream changes (retried, then sent to the "
                         f"consumer's failure queue). Runbook: {RUNBOOK}"),
            threshold=0, evaluation_periods=1, datapoints_to_alarm=1,
            metric=Metric(EMF_NAMESPACE, "StreamRecordFailures", (("Stage", stage.name),), "Sum")),
        AlarmSpec(
            name=f"{prefix}lambda-throttles",
            description=f"Lambda throttled invocations of {stage.function_name}. Runbook: {RUNBOOK}",
            threshold=0, evaluation_periods=1, datapoints_to_alarm=1,
            metric=Metric("AWS/Lambda", "Throttles", function, "Sum")),
        AlarmSpec(
            name=f"{prefix}lambda-concurrency",
            description=(f"{stage.function_name} ran above {SATURATED:.0%} of {scope} concurrent executions "
                         f"for 10 minutes. Runbook: {RUNBOOK}"),
            threshold=int(limit * SATURATED), evaluation_periods=2, datapoints_to_alarm=2,
            metric=Metric("AWS/Lambda", "ConcurrentExecutions", dimensions, "Maximum")),
        AlarmSpec(
            name=f"{prefix}idempotency-throttling",
            description=f"DynamoDB throttled requests on the idempotency table. Runbook: {RUNBOOK}",
            threshold=0, evaluation_periods=1, datapoints_to_alarm=1, expression="FILL(reads, 0) + FILL(writes, 0)",
            label="Throttle events",
            inputs=(("reads", Metric("AWS/DynamoDB", "ReadThrottleEvents", idempotency, "Sum")),
                    ("writes", Metric("AWS/DynamoDB", "WriteThrottleEvents", idempotency, "Sum")))),
    ]
