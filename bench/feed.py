"""The changes feed's lag (write committed -> visible in /tasks/changes) and its cost per change, on
DynamoDB Local with the local stream poller and the real handler. `python -m bench.feed --changes N`."""
import argparse
import io
import json
import os
import statistics
import time
import uuid

import botocore.client

from bench.events import rest_v1
from bench.lambda_runtime import lambda_environment
from tests.harness import DynamoDBLocal

_COUNTED = {"GetItem", "Query", "TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem"}


class CapacityMeter:
    """Counts DynamoDB requests and the capacity DynamoDB reports for them (asking for it on each call)."""

    def __init__(self) -> None:
        self.requests: dict[str, int] = {}
        self.read_units = self.write_units = 0.0
        self._real = botocore.client.BaseClient._make_api_call

    def __enter__(self):
        meter, real = self, self._real

        def measured(client, operation, params):
            if client.meta.service_model.service_name != "dynamodb" or operation not in _COUNTED:
                return real(client, operation, params)
            answer = real(client, operation, {**params, "ReturnConsumedCapacity": "TOTAL"})
            meter.requests[operation] = meter.requests.get(operation, 0) + 1
            used = answer.get("ConsumedCapacity") or []
            for item in used if isinstance(used, list) else [used]:
                meter.read_units += item.get("ReadCapacityUnits", 0) or 0
                meter.write_units += item.get("WriteCapacityUnits", 0) or 0
                if "ReadCapacityUnits" not in item and "WriteCapacityUnits" not in item:
                    key = "write_units" if operation == "TransactWriteItems" else "read_units"
                    setattr(meter, key, getattr(meter, key) + item.get("CapacityUnits", 0))
            return answer

        botocore.client.BaseClient._make_api_call = measured
        return self

    def __exit__(self, *exc) -> None:
        botocore.client.BaseClient._make_api_call = self._real


def run(changes: int) -> dict:
    database = DynamoDBLocal()
    try:
        table = f"taskapi-bench-feed-{uuid.uuid4().hex[:8]}"
        os.environ.pop("AWS_ENDPOINT_URL", None)
        os.environ.update(lambda_environment(table=table, dynamodb_url=database.url))
        os.environ["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] = database.url
        from django.core.management import call_command

        from ops.streams import StreamPoller
        from taskapi.lambda_function import handler

        call_command("create_table", stdout=io.StringIO())
        poller = StreamPoller(table=table, handler=handler)

        def get(target: str) -> dict:
            return json.loads(handler(rest_v1("GET", target), None)["body"])

        since = get("/tasks/changes")["since"]
        lags, meter = [], CapacityMeter()
        for number in range(changes):
            created = handler(rest_v1("POST", "/tasks", body={"title": f"feed {number}"}), None)
            task_id = json.loads(created["body"])["taskId"]
            committed = time.perf_counter()
            while True:
                with meter:
                    poller.poll()
                page = get(f"/tasks/changes?since={since}")
                if any(c["taskId"] == task_id for c in page["changes"]):
                    lags.append((time.perf_counter() - committed) * 1000)
                    since = page["since"]
                    break
        with meter:  # a feed page of 100 changes, for the read side
            feed_page = handler(rest_v1("GET", "/tasks/changes?since=" + get("/tasks/changes")["since"]), None)
        assert feed_page["statusCode"] == 200
        return {
            "changes": changes,
            "lag_ms": {"p50": statistics.median(lags), "max": max(lags),
                       "p95": sorted(lags)[max(0, int(len(lags) * 0.95) - 1)]},
            "consumer_per_change": {"requests": {op: n / changes for op, n in meter.requests.items()},
                                    "read_units": meter.read_units / changes,
                                    "write_units": meter.write_units / changes},
            "note": "lag here is the local poller's (one poll per check); Lambda's adds its polling interval (~0.25-1 s)",
        }
    finally:
        database.stop()


def table(result: dict) -> str:
    lag, cost = result["lag_ms"], result["consumer_per_change"]
    requests = ", ".join(f"{op} {n:.2f}" for op, n in sorted(cost["requests"].items()))
    return "\n".join([
        f"changes feed ({result['changes']} changes, DynamoDB Local, local poller)",
        f"  lag write -> visible   p50 {lag['p50']:.1f} ms   p95 {lag['p95']:.1f} ms   max {lag['max']:.1f} ms",
        f"  consumer per change    {cost['write_units']:.2f} WCU, {cost['read_units']:.2f} RCU ({requests})",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print the result as JSON, not a table")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskapi.settings")
    result = run(args.changes)
    print(json.dumps(result) if args.json else table(result))


if __name__ == "__main__":
    main()
