"""Warm latency: the same operations through the Lambda handler and as the raw boto3 calls they need."""
import json
import statistics
import time
import uuid
from collections.abc import Callable

from bench.dynamo import CapacityMeter, _stamp
from bench.lambda_runtime import LambdaContext
from bench.events import response_body, rest_v1

OPERATIONS = ("create", "get", "update", "delete", "list")
LIST_STATUSES = ("pending", "in_progress", "completed")
PAGE = 20


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    """Returns p50, p95, p99 and the mean of `samples_ms`."""
    ordered = sorted(samples_ms)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": statistics.median(ordered), "p95": cut[94], "p99": cut[98], "mean": statistics.fmean(ordered)}


class Timer:
    """Times calls in wall and CPU (this thread's) milliseconds, and counts the capacity they consume."""

    def __init__(self, meter: CapacityMeter) -> None:
        self.meter = meter
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.units: list[float] = []

    def __call__(self, call: Callable, *args):
        self.meter.reset()
        cpu, wall = time.thread_time_ns(), time.perf_counter_ns()
        result = call(*args)
        self.wall.append((time.perf_counter_ns() - wall) / 1e6)
        self.cpu.append((time.thread_time_ns() - cpu) / 1e6)
        self.units.append(self.meter.read()[0])
        return result

    def summary(self) -> dict:
        return {**percentiles(self.wall), "cpu_mean": statistics.fmean(self.cpu),
                "capacity_units": statistics.fmean(self.units), "count": len(self.wall)}


def _expect(response: dict, status: int) -> dict:
    if response["statusCode"] != status:
        raise RuntimeError(f"expected {status}, got {response['statusCode']}: {response_body(response)[:300]!r}")
    return json.loads(response_body(response))


class RawTasks:
    """The boto3 calls each API operation needs, written by hand against the same table."""

    def __init__(self, client, table: str) -> None:
        self.client, self.table = client, table

    def create(self) -> str:
        from tasks import shards

        task_id, now = str(uuid.uuid4()), _stamp_now()
        keys = shards.task_keys(task_id=task_id, owner=None, status="pending", priority="high")  # issue 18
        self.client.put_item(
            TableName=self.table, ConditionExpression="attribute_not_exists(taskId)", ReturnConsumedCapacity="TOTAL",
            Item={"taskId": {"S": task_id}, "title": {"S": "Raw bench task"}, "status": {"S": "pending"},
                  "priority": {"S": "high"}, "createdAt": {"S": now}, "updatedAt": {"S": now},
                  "version": {"N": "1"},
                  "listKey": {"S": keys["list_key"]}, "priorityKey": {"S": keys["priority_key"]}},
        )
        return task_id

    @staticmethod
    def _keys(task_id: str) -> dict:
        from tasks import shards

        keys = shards.task_keys(task_id=task_id, owner=None, status="in_progress", priority="high")
        return {":list": {"S": keys["list_key"]}, ":by": {"S": keys["priority_key"]}}

    def get(self, task_id: str) -> dict:
        return self.client.get_item(TableName=self.table, Key={"taskId": {"S": task_id}}, ConsistentRead=True,
                                    ReturnConsumedCapacity="TOTAL")["Item"]

    def update(self, task_id: str) -> dict:
        return self.client.update_item(
            TableName=self.table, Key={"taskId": {"S": task_id}}, ReturnValues="ALL_NEW",
            ReturnConsumedCapacity="TOTAL",
            # Issue 18: a status change moves both sharded keys, conditioned on the priority they use.
            UpdateExpression="SET #status = :status, updatedAt = :now, listKey = :list, priorityKey = :by "
                             "ADD version :one",
            ConditionExpression="attribute_exists(taskId) AND priority = :priority",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":status": {"S": "in_progress"}, ":now": {"S": _stamp_now()},
                                       ":one": {"N": "1"}, ":priority": {"S": "high"}, **self._keys(task_id)},
        )["Attributes"]

    def delete(self, task_id: str) -> None:
        self.client.delete_item(TableName=self.table, Key={"taskId": {"S": task_id}},
                                ConditionExpression="attribute_exists(taskId)", ReturnConsumedCapacity="TOTAL")

    def page(self, statuses: tuple[str, ...] = LIST_STATUSES) -> list[dict]:
        """Newest first: one list-shard-index Query per (status, shard), as many items as the app's merge
        reads first (issue 18)."""
        from tasks import shards

        count = shards.shard_count()
        items = []
        for status in statuses:
            for shard in range(count):
                items += self.client.query(
                    TableName=self.table, IndexName="list-shard-index", ScanIndexForward=False,
                    Limit=-(-(PAGE + 2) // count) + 2, KeyConditionExpression="listKey = :key",
                    ExpressionAttributeValues={":key": {"S": shards.list_key(owner=None, status=status, shard=shard)}},
                    ReturnConsumedCapacity="TOTAL",
                )["Items"]
        items.sort(key=lambda item: item["createdAt"]["S"], reverse=True)
        return items[:PAGE]


def _stamp_now() -> str:
    from datetime import UTC, datetime

    return _stamp(datetime.now(UTC))


def warm_latency(*, handler: Callable, raw: RawTasks, app_meter: CapacityMeter, raw_meter: CapacityMeter,
                 events: int, warmup: int = 50) -> dict:
    """Runs each operation `events` times through `handler` and as raw calls, interleaved; returns the stats.

    Only the calls are timed: events are built, and responses checked, outside the clock.
    """
    app = {name: Timer(app_meter) for name in OPERATIONS}
    base = {name: Timer(raw_meter) for name in OPERATIONS}
    scratch = {name: Timer(CapacityMeter()) for name in OPERATIONS}
    # Untagged, as the raw PutItem: a tagged create is a transaction with its tag slots (issue 18), whose cost
    # the README's index design section gives; here each side makes the same single-item writes.
    create = rest_v1("POST", "/tasks", body={"title": "Bench task", "priority": "high"})
    page = rest_v1("GET", "/tasks")
    warmup = min(warmup, events)
    for round_number in range(warmup + events):
        a, b = (app, base) if round_number >= warmup else (scratch, scratch)
        task_id = _expect(a["create"](handler, create, LambdaContext()), 201)["taskId"]
        raw_id = b["create"](raw.create)
        get, update, delete = (rest_v1("GET", f"/tasks/{task_id}"),
                               rest_v1("PATCH", f"/tasks/{task_id}", body={"status": "in_progress"}),
                               rest_v1("DELETE", f"/tasks/{task_id}"))
        _expect(a["get"](handler, get, LambdaContext()), 200)
        b["get"](raw.get, raw_id)
        _expect(a["update"](handler, update, LambdaContext()), 200)
        b["update"](raw.update, raw_id)
        _expect(a["list"](handler, page, LambdaContext()), 200)
        b["list"](raw.page)
        _expect(a["delete"](handler, delete, LambdaContext()), 200)
        b["delete"](raw.delete, raw_id)
    result = {}
    for name in OPERATIONS:
        result[name] = {"handler": app[name].summary(), "raw": base[name].summary()}
        result[name]["ratio_p50"] = result[name]["handler"]["p50"] / result[name]["raw"]["p50"]
        result[name]["ratio_p95"] = result[name]["handler"]["p95"] / result[name]["raw"]["p95"]
        result[name]["ratio_p99"] = result[name]["handler"]["p99"] / result[name]["raw"]["p99"]
    return result
