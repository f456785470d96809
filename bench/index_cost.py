"""Page cost per filter as the table grows (issue 18), on DynamoDB Local through the real handler: read
units DynamoDB reports, items it read and the page's latency (median and p95 of --pages warm pages) per
first page of 20, at each size; then the item distribution over the sharded keys, to cross-check
bench.capacity. `python -m bench.index_cost`; TASK_LIST_READ_WORKERS=1 reads the streams one by one."""
import argparse
import io
import json
import os
import statistics
import threading
import time
import uuid

import botocore.client

from bench.events import rest_v1
from bench.lambda_runtime import lambda_environment
from tests.harness import DynamoDBLocal

# Sparse filters on purpose: high is 1 task in 10, the tag "rare" 1 in 100. "tag (filter)" is the same
# listing as "tag" read as before the tag indexes (their layout recorded incomplete): a FilterExpression.
LISTINGS = {"all": "/tasks", "status": "/tasks?status=pending", "priority": "/tasks?priority=high",
            "status+priority": "/tasks?status=completed&priority=high", "tag": "/tasks?tag=rare",
            "tag+status": "/tasks?tag=rare&status=pending", "tag+priority": "/tasks?tag=rare&priority=high",
            "tag (filter)": "/tasks?tag=rare"}
STATUSES = ("pending", "in_progress", "completed")


class ReadMeter:
    """Sums the read units DynamoDB reports and the items it read (ScannedCount) for Queries, and for
    BatchGetItems (a tag page's tasks) the items returned; `queries` counts Queries only."""

    def __init__(self) -> None:
        self.units = self.items = self.queries = 0
        self._real = botocore.client.BaseClient._make_api_call
        self._lock = threading.Lock()  # a page sends its first Queries from several threads

    def __enter__(self):
        meter, real = self, self._real

        def measured(client, operation, params):
            if client.meta.service_model.service_name != "dynamodb" or operation not in ("Query", "BatchGetItem"):
                return real(client, operation, params)
            answer = real(client, operation, {**params, "ReturnConsumedCapacity": "TOTAL"})
            consumed = answer.get("ConsumedCapacity") or {}
            with meter._lock:
                if operation == "Query":
                    meter.queries += 1
                    meter.units += consumed.get("CapacityUnits", 0)
                    meter.items += answer.get("ScannedCount", 0)
                else:  # a list: one entry per table
                    meter.units += sum(entry.get("CapacityUnits", 0) for entry in consumed)
                    meter.items += sum(len(items) for items in answer.get("Responses", {}).values())
            return answer

        botocore.client.BaseClient._make_api_call = measured
        return self

    def __exit__(self, *exc) -> None:
        botocore.client.BaseClient._make_api_call = self._real


def _seed(client, table: str, start: int, stop: int) -> None:
    """Writes tasks start..stop-1 and their tag slots (as the API's transactions would) with BatchWriteItem."""
    from tasks import shards

    items = []
    for i in range(start, stop):
        task_id = str(uuid.uuid4())
        at = f"2026-01-01T{i // 3_600_000:02d}:{i // 60_000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}Z"
        status, priority = STATUSES[i % 3], "high" if i % 10 == 0 else "medium"
        tags = ["rare"] if i % 100 == 0 else ["common"]
        keys = shards.task_keys(task_id=task_id, owner=None, status=status, priority=priority)
        items.append({"PutRequest": {"Item": {
            "taskId": {"S": task_id}, "title": {"S": f"task {i}"}, "status": {"S": status},
            "priority": {"S": priority}, "createdAt": {"S": at}, "updatedAt": {"S": at}, "version": {"N": "1"},
            "tags": {"L": [{"S": tag} for tag in tags]}, "listKey": {"S": keys["list_key"]},
            "priorityKey": {"S": keys["priority_key"]}}}})
        shard = shards.task_shard(task_id)
        items.append({"PutRequest": {"Item": {
            "taskId": {"S": task_id}, "slot": {"N": "0"}, "tag": {"S": tags[0]}, "createdAt": {"S": at},
            "tagKey": {"S": shards.tag_key(owner=None, status=status, tag=tags[0], shard=shard)},
            "tagPriorityKey": {"S": shards.tag_priority_key(owner=None, status=status, priority=priority,
                                                            tag=tags[0], shard=shard)}}}})
    tasks, slots = items[0::2], items[1::2]
    for chunk in range(0, len(tasks), 12):
        batch = {table: tasks[chunk:chunk + 12], f"{table}-tags": slots[chunk:chunk + 12]}
        while batch:
            batch = client.batch_write_item(RequestItems=batch).get("UnprocessedItems")


def _latency(handler, event, pages: int) -> dict:
    """Median and p95 milliseconds of `pages` warm pages (after one not counted)."""
    handler(event, None)
    times = []
    for _ in range(pages):
        start = time.perf_counter()
        handler(event, None)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"median_ms": statistics.median(times), "p95_ms": times[max(0, round(0.95 * len(times)) - 1)]}


def run(sizes: list[int], pages: int = 20) -> dict:
    database = DynamoDBLocal()
    try:
        table = f"taskapi-bench-index-{uuid.uuid4().hex[:8]}"
        os.environ.pop("AWS_ENDPOINT_URL", None)
        os.environ.update(lambda_environment(table=table, dynamodb_url=database.url), LOG_LEVEL="WARNING")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskapi.settings")
        import django

        django.setup()
        import boto3
        from django.core.management import call_command

        from taskapi.lambda_function import handler
        from tasks import repository, shards

        call_command("create_table", stdout=io.StringIO())
        client = boto3.client("dynamodb")
        from django.conf import settings

        result, seeded = {"shards": shards.shard_count(), "workers": settings.TASK_LIST_READ_WORKERS, "sizes": {}}, 0
        for size in sizes:
            _seed(client, table, seeded, size)
            seeded = size
            costs = {}
            for name, target in LISTINGS.items():
                filtered = name.endswith("(filter)")
                if filtered:  # as before the tag backfill completed
                    repository.index_backfill_record(state="running", layout="tag")
                    repository.index_layout_reset_cache()
                with ReadMeter() as meter:
                    response = handler(rest_v1("GET", target), None)
                assert response["statusCode"] == 200, response["body"][:300]
                found = len(json.loads(response["body"])["results"])
                costs[name] = {"results": found, "queries": meter.queries, "read_units": meter.units,
                               "items_read": meter.items, **_latency(handler, rest_v1("GET", target), pages)}
                if filtered:
                    repository.index_backfill_record(state="complete", layout="tag")
                    repository.index_layout_reset_cache()
            result["sizes"][size] = costs
        counts = []
        for status in STATUSES:
            for shard in range(shards.shard_count()):
                key = shards.list_key(owner=None, status=status, shard=shard)
                pages = client.get_paginator("query").paginate(
                    TableName=table, IndexName="list-shard-index", Select="COUNT",
                    KeyConditionExpression="listKey = :k", ExpressionAttributeValues={":k": {"S": key}})
                counts.append(sum(page["Count"] for page in pages))
        result["distribution"] = {"tasks": seeded, "keys": len(counts), "min": min(counts), "max": max(counts),
                                  "expected": seeded / len(counts)}
        return result
    finally:
        database.stop()


def table(result: dict) -> str:
    lines = [(f"page cost per filter, first page of 20, DynamoDB Local, {result['shards']} shards, "
             f"{result['workers']} read threads (read units / items read / Queries / median and p95 ms; a tag "
             f"page's BatchGetItem counts in units and items)"),
             f"{'listing':18}" + "".join(f"{size:>44,}" for size in result["sizes"])]
    for name in LISTINGS:
        cells = [result["sizes"][size][name] for size in result["sizes"]]
        lines.append(f"{name:18}" + "".join(
            f"{c['read_units']:>10.1f} RCU {c['items_read']:>6} it {c['queries']:>3} q"
            f" {c['median_ms']:>6.1f} {c['p95_ms']:>6.1f} ms" for c in cells))
    d = result["distribution"]
    lines.append(f"list-shard-index at {d['tasks']:,} tasks: {d['keys']} keys, {d['min']:,}..{d['max']:,} items each "
                 f"(model: {d['expected']:,.0f}; max/mean {d['max'] / d['expected']:.3f})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.index_cost", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000", help="table sizes, comma separated")
    parser.add_argument("--pages", type=int, default=20, help="warm pages timed per listing and size")
    args = parser.parse_args(argv)
    print(table(run(sorted(int(size) for size in args.sizes.split(",")), args.pages)))


if __name__ == "__main__":
    main()
