"""Desired AWS resources as plain data."""
from dataclasses import dataclass

from django.conf import settings

from ops.stages import Stage
from taskapi.metrics import NAMESPACE as APP_NAMESPACE


# Sparse: only owned tasks carry ownerStatus ("<owner>#<status>"), so only they are in it.
OWNER_STATUS_INDEX = {
    "IndexName": "owner-status-index",
    "KeySchema": [
        {"AttributeName": "ownerStatus", "KeyType": "HASH"},
        {"AttributeName": "createdAt", "KeyType": "RANGE"},
    ],
    "Projection": {"ProjectionType": "ALL"},
}
STATUS_INDEX = {
    "IndexName": "status-index",
    "KeySchema": [
        {"AttributeName": "status", "KeyType": "HASH"},
        {"AttributeName": "createdAt", "KeyType": "RANGE"},
    ],
    "Projection": {"ProjectionType": "ALL"},
}


# Issue 18: write-sharded listing indexes (tasks.shards); hash keys "<owner>#<status>[#<priority>]#<shard>".
SHARDED_INDEXES = [
    {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": attribute, "KeyType": "HASH"},
            {"AttributeName": "createdAt", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }
    for name, attribute in (("list-shard-index", "listKey"), ("priority-shard-index", "priorityKey"))
]


# The unsharded listing indexes of tables made before issue 18: read only until their backfill completes,
# then retired by `create_table --retire-legacy-indexes` (status-index's few keys cap creates at ~1,000/s).
# A new table never gets them: its layout is complete at once.
LEGACY_INDEX_SPECS = [STATUS_INDEX, OWNER_STATUS_INDEX]
LEGACY_INDEXES = tuple(index["IndexName"] for index in LEGACY_INDEX_SPECS)


@dataclass(frozen=True)
class TableSpec:
    name: str
    point_in_time_recovery: bool = True

    def create_request(self, *, legacy: bool = False) -> dict:
        """Returns the CreateTable arguments: on-demand, the sharded listing indexes, SSE, streams. With
        `legacy`, the legacy indexes too: every index a table of this app may carry (an existing table keeps
        them until they are retired), for adding what an old table lacks, its alarms and its permissions."""
        indexes = [*LEGACY_INDEX_SPECS, *SHARDED_INDEXES] if legacy else list(SHARDED_INDEXES)
        # DynamoDB refuses attribute definitions no key uses.
        keyed = {"taskId"} | {key["AttributeName"] for index in indexes for key in index["KeySchema"]}
        attributes = ("taskId", "status", "createdAt", "ownerStatus", "listKey", "priorityKey")
        return {
            "TableName": self.name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in attributes
                                     if name in keyed],
            "KeySchema": [{"AttributeName": "taskId", "KeyType": "HASH"}],
            "GlobalSecondaryIndexes": indexes,
            "SSESpecification": {"Enabled": True, "SSEType": "KMS"},
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            "Tags": [{"Key": "app", "Value": "taskapi"}, {"Key": "stage", "Value": settings.STAGE}],
        }


def tasks_table() -> TableSpec:
    """Returns the desired tasks table of this stage."""
    return TableSpec(name=settings.TASKS_TABLE)


def _keyed_table_request(name: str, keys: list[tuple[str, str, str]]) -> dict:
    """Returns CreateTable arguments for a side table keyed by (attribute, type, key type): on-demand, SSE, tagged."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": attribute, "AttributeType": kind} for attribute, kind, _ in keys],
        "KeySchema": [{"AttributeName": attribute, "KeyType": key_type} for attribute, _, key_type in keys],
        "SSESpecification": {"Enabled": True, "SSEType": "KMS"},
        "Tags": [{"Key": "app", "Value": "taskapi"}, {"Key": "stage", "Value": settings.STAGE}],
    }


@dataclass(frozen=True)
class IdempotencyTableSpec:
    """The Idempotency-Key records: keyed by the caller-scoped key, expired by DynamoDB TTL."""

    name: str
    ttl_attribute: str = "expiresAt"

    def create_request(self) -> dict:
        """Returns the CreateTable arguments: on-demand, SSE (the records hold response bodies)."""
        return _keyed_table_request(self.name, [("key", "S", "HASH")])


@dataclass(frozen=True)
class TagsTableSpec:
    """Issue 18: one item per (task, tag), keyed (taskId, slot), with the two tag listing GSIs (keys only)."""

    name: str

    def create_request(self) -> dict:
        """Returns the CreateTable arguments: on-demand, SSE, tag-shard-index and tag-priority-shard-index."""
        request = _keyed_table_request(self.name, [("taskId", "S", "HASH"), ("slot", "N", "RANGE")])
        request["AttributeDefinitions"] += [{"AttributeName": name, "AttributeType": "S"}
                                            for name in ("tagKey", "tagPriorityKey", "createdAt")]
        request["GlobalSecondaryIndexes"] = [
            {"IndexName": index, "KeySchema": [{"AttributeName": attribute, "KeyType": "HASH"},
                                               {"AttributeName": "createdAt", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}}
            for index, attribute in TAG_INDEXES]
        return request


TAG_INDEXES = (("tag-shard-index", "tagKey"), ("tag-priority-shard-index", "tagPriorityKey"))


def tags_table() -> TagsTableSpec:
    """Returns the desired tags table of this stage."""
    return TagsTableSpec(name=settings.TAGS_TABLE)


def idempotency_table() -> IdempotencyTableSpec:
    """Returns the desired idempotency table of this stage."""
    return IdempotencyTableSpec(name=settings.IDEMPOTENCY_TABLE)


# Monitoring: the alert topic, the alarms, the dashboard and the log retention of one deployed stage.

ALERT_TOPIC = "{stage}-task-api-alerts"
DASHBOARD = "{stage}-task-api"
ALARM_PREFIX = "{stage}-task-api-"
LOG_RETENTION_DAYS = 30
PERIOD = 300
# Severity tiers (issue 16): warning -> the alert topic; critical -> also the critical topic (email + pager);
# emergency -> the composite alarm's inputs, which notify nobody themselves (ops.escalation).
WARNING, CRITICAL, EMERGENCY = "warning", "critical", "emergency"
RUNBOOK = "README.md#runbook-{slug}"


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str  # Sum, Average, or a percentile such as p95

    def metric_stat(self) -> dict:
        return {
            "Metric": {
                "Namespace": self.namespace,
                "MetricName": self.name,
                "Dimensions": [{"Name": name, "Value": value} for name, value in self.dimensions],
            },
            "Period": PERIOD,
            "Stat": self.stat,
        }


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: on a single `metric`, or on `expression` over the metrics named by id in `inputs`."""

    name: str
    description: str
    threshold: float
    evaluation_periods: int
    datapoints_to_alarm: int
    metric: Metric | None = None
    expression: str = ""
    label: str = ""
    inputs: tuple[tuple[str, Metric], ...] = ()
    severity: str = WARNING

    @property
    def runbook(self) -> str:
        """Returns the README anchor of this alarm's runbook section (`README.md#runbook-<name without prefix>`)."""
        return RUNBOOK.format(slug=self.name.split("-task-api-", 1)[-1])

    def put_request(self, *, topic_arn: str, critical_topic_arn: str | None = None) -> dict:
        """Returns the PutMetricAlarm arguments; ALARM and OK go to the topics of the alarm's severity."""
        actions = {WARNING: [topic_arn], EMERGENCY: [],
                   CRITICAL: [topic_arn, critical_topic_arn] if critical_topic_arn else [topic_arn]}[self.severity]
        request = {
            "AlarmName": self.name,
            "AlarmDescription": f"[{self.severity}] {self.description} Runbook: {self.runbook}",
            "ActionsEnabled": True,
            "AlarmActions": actions,
            "OKActions": actions,
            "Threshold": float(self.threshold),
            "ComparisonOperator": "GreaterThanThreshold",
            "EvaluationPeriods": self.evaluation_periods,
            "DatapointsToAlarm": self.datapoints_to_alarm,
            "TreatMissingData": "notBreaching",
        }
        if self.metric is not None:
            stat = self.metric.metric_stat()
            request.update(Namespace=self.metric.namespace, MetricName=self.metric.name,
                           Dimensions=stat["Metric"]["Dimensions"], Period=PERIOD)
            percentile = self.metric.stat.startswith("p")
            request["ExtendedStatistic" if percentile else "Statistic"] = self.metric.stat
            return request
        request["Metrics"] = [
            {"Id": "result", "Expression": self.expression, "Label": self.label, "ReturnData": True},
            *({"Id": query_id, "MetricStat": metric.metric_stat(), "ReturnData": False}
              for query_id, metric in self.inputs),
        ]
        return request


def _api(stage: Stage, name: str, stat: str) -> Metric:
    return Metric("AWS/ApiGateway", name, (("ApiName", stage.api_name), ("Stage", stage.name)), stat)


def _function(stage: Stage, name: str, stat: str = "Sum") -> Metric:
    return Metric("AWS/Lambda", name, (("FunctionName", stage.function_name),), stat)


def _table(stage: Stage, name: str, index: str | None = None, *, table: str | None = None) -> Metric:
    dimensions = (("TableName", table or stage.tasks_table),) + ((("GlobalSecondaryIndexName", index),) if index else ())
    return Metric("AWS/DynamoDB", name, dimensions, "Sum")


def _table_indexes() -> list[str]:
    # The legacy indexes too: a stage's table made before issue 18 has them (hot keys) until they are retired.
    return [index["IndexName"] for index in TableSpec(name="").create_request(legacy=True)["GlobalSecondaryIndexes"]]


def _tag_indexes() -> list[str]:
    return [index["IndexName"] for index in tags_table().create_request()["GlobalSecondaryIndexes"]]


def _throttle_inputs(stage: Stage, table: str | None = None,
                     indexes: list[str] | None = None) -> tuple[tuple[str, Metric], ...]:
    # ThrottledRequests is only published per Operation; the throttle events cover every request on the
    # table and, with GlobalSecondaryIndexName, on each index. A metric-math alarm takes at most 10 metrics:
    # the tasks table and its four indexes fill one, so the tags table has its own.
    inputs = [("tableReads", _table(stage, "ReadThrottleEvents", table=table)),
              ("tableWrites", _table(stage, "WriteThrottleEvents", table=table))]
    for number, index in enumerate(_table_indexes() if indexes is None else indexes, start=1):
        inputs += [(f"index{number}Reads", _table(stage, "ReadThrottleEvents", index, table=table)),
                   (f"index{number}Writes", _table(stage, "WriteThrottleEvents", index, table=table))]
    return tuple(inputs)


def alarms(stage: Stage) -> list[AlarmSpec]:
    """Returns the stage's alarms: the seed's four, its two SLOs, then the tags table's throttling (issue 18)."""
    prefix = ALARM_PREFIX.format(stage=stage.name)
    throttles = _throttle_inputs(stage)
    tag_throttles = _throttle_inputs(stage, stage.tags_table, _tag_indexes())
    return [
        AlarmSpec(
            name=f"{prefix}high-error-rate",
            description=f"More than 5% of {stage.api_name} API requests failed (4XX or 5XX) for 10 minutes.",
            threshold=5, evaluation_periods=2, datapoints_to_alarm=2,
            expression="100 * (FILL(errors4xx, 0) + FILL(errors5xx, 0)) / requests", label="Error rate (%)",
            inputs=(("requests", _api(stage, "Count", "Sum")), ("errors4xx", _api(stage, "4XXError", "Sum")),
                    ("errors5xx", _api(stage, "5XXError", "Sum"))),
        ),
        AlarmSpec(
            name=f"{prefix}high-latency",
            description=f"{stage.api_name} API average latency above 1000 ms for 10 minutes.",
            threshold=1000, evaluation_periods=2, datapoints_to_alarm=2, metric=_api(stage, "Latency", "Average"),
        ),
        AlarmSpec(
            name=f"{prefix}lambda-errors",
            description=f"More than 5 invocation errors of {stage.function_name} in 5 minutes.",
            threshold=5, evaluation_periods=1, datapoints_to_alarm=1, metric=_function(stage, "Errors"),
            severity=CRITICAL,
        ),
        AlarmSpec(
            name=f"{prefix}db-throttling",
            description=f"DynamoDB throttled requests on {stage.tasks_table} or its indexes.",
            threshold=0, evaluation_periods=1, datapoints_to_alarm=1,
            expression=" + ".join(f"FILL({query_id}, 0)" for query_id, _ in throttles), label="Throttle events",
            inputs=throttles, severity=CRITICAL,
        ),
        AlarmSpec(
            name=f"{prefix}slo-p95-latency",
            description=f"SLO: {stage.api_name} API p95 latency above 500 ms for 15 minutes.",
            threshold=500, evaluation_periods=3, datapoints_to_alarm=3, metric=_api(stage, "Latency", "p95"),
        ),
        AlarmSpec(
            name=f"{prefix}slo-5xx-rate",
            description=f"SLO: more than 0.1% of {stage.api_name} API requests answered 5XX for 15 minutes.",
            threshold=0.1, evaluation_periods=3, datapoints_to_alarm=3,
            expression="100 * FILL(errors5xx, 0) / requests", label="5XX rate (%)",
            inputs=(("requests", _api(stage, "Count", "Sum")), ("errors5xx", _api(stage, "5XXError", "Sum"))),
            severity=CRITICAL,
        ),
        AlarmSpec(
            name=f"{prefix}tags-db-throttling",
            description=(f"DynamoDB throttled requests on {stage.tags_table} or its tag indexes (issue 18): tagged "
                         f"writes and ?tag= pages answer 503."),
            threshold=0, evaluation_periods=1, datapoints_to_alarm=1,
            expression=" + ".join(f"FILL({query_id}, 0)" for query_id, _ in tag_throttles), label="Throttle events",
            inputs=tag_throttles, severity=CRITICAL,
        ),
    ]


def _line(metric: Metric, *, label: str, query_id: str = "", visible: bool = True, right: bool = False) -> list:
    """Returns one dashboard metric in CloudWatch's array notation."""
    options: dict = {"label": label, "stat": metric.stat}
    if query_id:
        options["id"] = query_id
    if not visible:
        options["visible"] = False
    if right:
        options["yAxis"] = "right"
    return [metric.namespace, metric.name, *(part for pair in metric.dimensions for part in pair), options]


def _widget(stage: Stage, title: str, metrics: list, *, x: int, y: int, width: int, stat: str = "Sum") -> dict:
    return {
        "type": "metric", "x": x, "y": y, "width": width, "height": 6,
        "properties": {"title": title, "view": "timeSeries", "stacked": False, "region": stage.region,
                       "period": PERIOD, "stat": stat, "metrics": metrics},
    }


_ENDPOINT = "${PROP('Dim.Endpoint')}"  # a dynamic label: each SEARCH result is named by its endpoint


def _app_search(stage: Stage, metric: str, stat: str) -> str:
    # One line per endpoint: SEARCH finds every Endpoint value the app has published for this stage.
    query = f'{{{APP_NAMESPACE},Endpoint,Stage}} Stage="{stage.name}" MetricName="{metric}"'
    return f"SEARCH('{query}', '{stat}', {PERIOD})"


def _capacity_lines(stage: Stage, table: str | None, indexes: list[str]) -> list:
    """Returns a table's dashboard lines (the tasks table when `table` is None): consumed capacity and throttles of
    the table, then each index's read capacity and throttles."""
    lines = [
        _line(_table(stage, "ConsumedReadCapacityUnits", table=table), label="Read capacity"),
        _line(_table(stage, "ConsumedWriteCapacityUnits", table=table), label="Write capacity"),
        _line(_table(stage, "ReadThrottleEvents", table=table), label="Read throttles", right=True),
        _line(_table(stage, "WriteThrottleEvents", table=table), label="Write throttles", right=True),
    ]
    for index in indexes:
        lines += [
            _line(_table(stage, "ConsumedReadCapacityUnits", index, table=table), label=f"{index} read capacity"),
            _line(_table(stage, "ReadThrottleEvents", index, table=table), label=f"{index} read throttles", right=True),
            _line(_table(stage, "WriteThrottleEvents", index, table=table), label=f"{index} write throttles",
                  right=True),
        ]
    return lines


def dashboard(stage: Stage) -> dict:
    """Returns the body of the stage's dashboard: API, Lambda and DynamoDB widgets (the tasks table and the tags
    table, each with its indexes), then the app's per-endpoint row."""
    table_lines = _capacity_lines(stage, None, _table_indexes())
    # Issue 18's tags table serves ?tag= pages and holds a slot per (task, tag): throttles there answer 503
    # (alarm tags-db-throttling), and its indexes are keyed by owner#status#shard#tag, so watch it like the table.
    tag_lines = _capacity_lines(stage, stage.tags_table, _tag_indexes())
    return {
        "widgets": [
            _widget(stage, "API requests by status", [
                _line(_api(stage, "Count", "Sum"), label="Requests", query_id="requests", visible=False),
                [{"expression": "requests - FILL(errors4xx, 0) - FILL(errors5xx, 0)", "label": "2XX", "id": "ok"}],
                _line(_api(stage, "4XXError", "Sum"), label="4XX", query_id="errors4xx"),
                _line(_api(stage, "5XXError", "Sum"), label="5XX", query_id="errors5xx"),
            ], x=0, y=0, width=12),
            _widget(stage, "API latency (ms)", [
                _line(_api(stage, "Latency", percentile), label=percentile) for percentile in ("p50", "p95", "p99")
            ], x=12, y=0, width=12, stat="p50"),
            _widget(stage, "Lambda invocations and errors", [
                _line(_function(stage, "Invocations"), label="Invocations"),
                _line(_function(stage, "Errors"), label="Errors", right=True),
            ], x=0, y=6, width=8),
            _widget(stage, "DynamoDB capacity and throttles", table_lines, x=8, y=6, width=8),
            _widget(stage, "DynamoDB tags table (?tag= pages)", tag_lines, x=16, y=6, width=8),
            _widget(stage, "Requests per endpoint", [
                [{"expression": _app_search(stage, "RequestCount", "Sum"), "id": "requests", "label": _ENDPOINT}],
            ], x=0, y=12, width=8),
            _widget(stage, "Errors per endpoint", [
                [{"expression": _app_search(stage, "4xx", "Sum"), "id": "errors4xx", "label": f"4xx {_ENDPOINT}"}],
                [{"expression": _app_search(stage, "5xx", "Sum"), "id": "errors5xx", "label": f"5xx {_ENDPOINT}"}],
            ], x=8, y=12, width=8),
            _widget(stage, "Latency per endpoint (p95 ms)", [
                [{"expression": _app_search(stage, "LatencyMs", "p95"), "id": "latency", "label": _ENDPOINT}],
            ], x=16, y=12, width=8, stat="p95"),
        ]
    }


@dataclass(frozen=True)
class LogGroupSpec:
    name: str
    retention_days: int = LOG_RETENTION_DAYS


def alert_topic(stage: Stage) -> str:
    """Returns the name of the stage's SNS alert topic."""
    return ALERT_TOPIC.format(stage=stage.name)


def dashboard_name(stage: Stage) -> str:
    """Returns the name of the stage's dashboard."""
    return DASHBOARD.format(stage=stage.name)


def log_groups(stage: Stage, *, api_id: str | None) -> list[LogGroupSpec]:
    """Returns the function's log group, and the API's execution log group when the API's id is known."""
    groups = [LogGroupSpec(stage.function_log_group)]
    if api_id:
        groups.append(LogGroupSpec(stage.api_log_group(api_id)))
    return groups


@dataclass(frozen=True)
class ChangesTableSpec:
    """The changes feed's log (issue 13): per-owner sequence numbers, expired by DynamoDB TTL."""

    name: str
    ttl_attribute: str = "expiresAt"

    def create_request(self) -> dict:
        """Returns the CreateTable arguments: on-demand, SSE (the log holds task images)."""
        return _keyed_table_request(self.name, [("owner", "S", "HASH"), ("seq", "N", "RANGE")])


def changes_table() -> ChangesTableSpec:
    """Returns the desired change-log table of this stage."""
    return ChangesTableSpec(name=settings.CHANGES_TABLE)


# The stream consumer (issue 13): Lambda's event source mapping from the tasks table's stream. Zappa 0.63's
# DynamoDB event source sends only BatchSize and Enabled (no StartingPosition, which streams require), so
# manage.py setup_stream_consumer owns it.

STREAM_FAILURE_QUEUE = "{function}-stream-failures"


def stream_consumer(stage: Stage, *, stream_arn: str, function_arn: str, queue_arn: str) -> dict:
    """Returns the CreateEventSourceMapping arguments of the stage's consumer."""
    return {
        "FunctionName": function_arn,
        "EventSourceArn": stream_arn,
        "StartingPosition": "TRIM_HORIZON",  # records written before the mapping existed are fed too
        "BatchSize": 100,
        "MaximumBatchingWindowInSeconds": 0,  # lag over batching: the feed should show a write at once
        "ParallelizationFactor": 1,  # one batch per shard at a time keeps each task's records in order
        "BisectBatchOnFunctionError": True,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "MaximumRetryAttempts": 10,
        "MaximumRecordAgeInSeconds": 24 * 3600,  # the stream keeps records 24 h
        "DestinationConfig": {"OnFailure": {"Destination": queue_arn}},
        "Enabled": True,
    }


# Real-time updates (issue 14): the open WebSocket connections, found by owner for a fan-out.

@dataclass(frozen=True)
class ConnectionsTableSpec:
    """The WebSocket connections: keyed by connection id, owner-index for fan-out, lapsed by DynamoDB TTL."""

    name: str
    ttl_attribute: str = "expiresAt"

    def create_request(self) -> dict:
        """Returns the CreateTable arguments: on-demand, SSE, and the owner-index GSI."""
        request = _keyed_table_request(self.name, [("connectionId", "S", "HASH")])
        request["AttributeDefinitions"].append({"AttributeName": "owner", "AttributeType": "S"})
        request["GlobalSecondaryIndexes"] = [{
            "IndexName": "owner-index", "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}}]
        return request


def connections_table() -> ConnectionsTableSpec:
    """Returns the desired WebSocket connections table of this stage."""
    return ConnectionsTableSpec(name=settings.CONNECTIONS_TABLE)
