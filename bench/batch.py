"""`python -m bench.batch`: N task writes as one POST /tasks/batch (parallel and atomic) against N single
requests, through the real Lambda handler on DynamoDB Local; latency and consumed capacity per operation."""
import argparse
import io
import json
import os
import time
import uuid
import warnings

from bench import dynamo
from bench.events import rest_v1
from bench.lambda_runtime import lambda_environment
from tests.harness import DynamoDBLocal


def _call(handler, method: str, target: str, body=None) -> dict:
    response = handler(rest_v1(method, target, body=body), None)
    if response["statusCode"] >= 300:
        raise RuntimeError(f"{method} {target}: {response['statusCode']} {response['body'][:300]}")
    return json.loads(response["body"])


def _measure(meter, run) -> dict:
    meter.reset()
    started = time.perf_counter()
    run()
    elapsed = (time.perf_counter() - started) * 1000
    units, calls = meter.read()
    return {"ms": round(elapsed, 1), "capacity_units": round(units, 1), "dynamodb_calls": calls}


def batch_bench(*, handler, meter, ops: int) -> dict:
    """Returns {scenario: {ms, capacity_units, dynamodb_calls, per_op_ms, per_op_units}} for `ops` writes."""
    results: dict[str, dict] = {}
    creates = [{"title": f"bench {i}"} for i in range(ops)]
    ids: list[str] = []
    results["create: singles"] = _measure(meter, lambda: ids.extend(
        _call(handler, "POST", "/tasks", body)["taskId"] for body in creates))
    results["create: batch"] = _measure(meter, lambda: _call(
        handler, "POST", "/tasks/batch", {"operations": [{"method": "POST", "body": b} for b in creates]}))
    results["create: atomic batch"] = _measure(meter, lambda: _call(
        handler, "POST", "/tasks/batch", {"operations": [{"method": "POST", "body": b} for b in creates],
                                          "atomic": True}))
    results["update: singles"] = _measure(meter, lambda: [
        _call(handler, "PATCH", f"/tasks/{task_id}", {"priority": "high"}) for task_id in ids])
    patch = [{"method": "PATCH", "taskId": task_id, "body": {"priority": "low"}} for task_id in ids]
    results["update: batch"] = _measure(meter, lambda: _call(handler, "POST", "/tasks/batch", {"operations": patch}))
    # Another value than the plain batch wrote: an update that changes nothing is not written at all.
    again = [{**op, "body": {"priority": "medium"}} for op in patch]
    results["update: atomic batch"] = _measure(meter, lambda: _call(
        handler, "POST", "/tasks/batch", {"operations": again, "atomic": True}))
    for stats in results.values():
        stats["per_op_ms"] = round(stats["ms"] / ops, 2)
        stats["per_op_units"] = round(stats["capacity_units"] / ops, 2)
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.batch", description=__doc__)
    parser.add_argument("--ops", type=int, default=100, help="operations per batch (1-100)")
    args = parser.parse_args(argv)
    database = DynamoDBLocal()
    try:
        table = f"taskapi-bench-batch-{uuid.uuid4().hex[:8]}"
        os.environ.pop("AWS_ENDPOINT_URL", None)
        os.environ.update(lambda_environment(table=table, dynamodb_url=database.url))
        warnings.filterwarnings("ignore", "No directory at", UserWarning)
        from django.core.management import call_command

        from taskapi.lambda_function import handler

        import logging
        logging.getLogger("taskapi").setLevel(logging.WARNING)
        call_command("create_table", stdout=io.StringIO())
        meter = dynamo.CapacityMeter()
        meter.attach(dynamo.app_client())
        from tasks.models import transaction_connection
        meter.attach(transaction_connection().client)  # TransactWriteItems go through their own connection
        _call(handler, "POST", "/tasks/batch", {"operations": [{"method": "POST", "body": {"title": "warm"}}]})
        results = batch_bench(handler=handler, meter=meter, ops=args.ops)
    finally:
        database.stop()
    print(f"\n{args.ops} operations, through the Lambda handler on DynamoDB Local")
    print(f"{'scenario':<24}{'total ms':>10}{'ms/op':>8}{'units':>8}{'units/op':>10}{'calls':>7}")
    for name, stats in results.items():
        print(f"{name:<24}{stats['ms']:>10}{stats['per_op_ms']:>8}{stats['capacity_units']:>8}"
              f"{stats['per_op_units']:>10}{stats['dynamodb_calls']:>7}")
    print(json.dumps({"ops": args.ops, "results": results}))
    return results


if __name__ == "__main__":
    main()
