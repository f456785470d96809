"""WebSocket fan-out (issue 14): the time from a stream batch reaching the handler to the message on every
connected client, for 1, 10 and 100 connections of one owner, through the local gateway's @connections API
on the embedded moto. `python -m bench.websockets --changes N`."""
import argparse
import contextlib
import io
import json
import math
import os
import statistics
import time
import uuid

from bench.cost import MEMORY_GB, PRICES
from bench.events import rest_v1
from bench.feed import CapacityMeter
from bench.lambda_runtime import lambda_environment
from tests.harness import Emulator


def run(changes: int, sizes: list[int]) -> dict:
    emulator = Emulator()
    try:
        table = f"taskapi-bench-ws-{uuid.uuid4().hex[:8]}"
        os.environ.update(lambda_environment(table=table, dynamodb_url=emulator.url))
        os.environ["AWS_ENDPOINT_URL"] = emulator.url
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import override_settings
        from websockets.sync.client import connect

        from ops.streams import StreamPoller
        from ops.ws_gateway import LocalWebSocketGateway
        from taskapi.lambda_function import handler
        from tasks import realtime

        push = realtime.changes_push
        marks: dict[str, float] = {}

        def timed_push(recorded):  # marks where recording the batch ends and the fan-out starts
            marks["push"] = time.perf_counter()
            return push(recorded)

        realtime.changes_push = timed_push

        call_command("create_table", stdout=io.StringIO())
        gateway = LocalWebSocketGateway(handler=handler, port=0).start()
        rows = []
        try:
            with override_settings(WEBSOCKET_CALLBACK_URL=gateway.management_url):
                poller = StreamPoller(table=table, handler=handler)
                for size in sizes:
                    sockets = contextlib.ExitStack()
                    clients = [sockets.enter_context(connect(gateway.url)) for _ in range(size)]
                    latencies, pushes, meter = [], [], CapacityMeter()
                    for number in range(changes):
                        body = json.loads(handler(rest_v1("POST", "/tasks", body={"title": f"ws {number}"}),
                                                  None)["body"])
                        timings = {}
                        real = poller.handler

                        def timed(event, context, real=real, timings=timings):
                            timings.setdefault("batch", time.perf_counter())
                            return real(event, context)

                        poller.handler = timed
                        with meter:
                            while not poller.poll():
                                pass
                        poller.handler = real
                        for client in clients:
                            while json.loads(client.recv(timeout=30)).get("taskId") != body["taskId"]:
                                pass
                        done = time.perf_counter()
                        latencies.append((done - timings["batch"]) * 1000)
                        pushes.append((done - marks["push"]) * 1000)
                    sockets.close()
                    rows.append({"connections": size, "changes": changes,
                                 "fan_out_ms": {"p50": statistics.median(latencies), "max": max(latencies)},
                                 "push_ms": {"p50": statistics.median(pushes), "max": max(pushes),
                                             "mean": statistics.fmean(pushes)},
                                 "dynamodb_per_change": {op: n / changes for op, n in meter.requests.items()}})
        finally:
            gateway.stop()
            realtime.changes_push = push
        return {"rows": rows, "note": "handler gets the batch -> message on every client (push: from the end of "
                                      "recording the batch); moto and the local gateway on this machine"}
    finally:
        emulator.stop()


# API Gateway WebSocket prices, us-east-1 (AWS pricing page, checked late 2024): each message sent or received,
# in 32 KB units (a change message is ~1 KB), and each connection-minute. Lambda and DynamoDB as in bench.cost.
MESSAGE_PRICE, CONNECTION_MINUTE_PRICE = 1.00 / 1e6, 0.25 / 1e6
CLIENTS = 1000


def cost_per_million_changes(row: dict) -> dict:
    """Returns the cost in USD of pushing a million changes, each to `row["connections"]` connections of its owner:
    the messages, the fan-out's Lambda time (the measured push wall time, billed at the stage's 512 MB; the
    recording of the feed is the changes feed's cost, not counted here) and its DynamoDB reads (one owner-index
    Query and one change-log Query per change, 0.5 RRU each when eventually consistent under 4 KB; the owner-index
    Query reads ~150 bytes per connection)."""
    connections = row["connections"]
    messages = 1e6 * connections * MESSAGE_PRICE
    lambda_seconds = 1e6 * row["push_ms"]["mean"] / 1000
    duration = lambda_seconds * MEMORY_GB * PRICES["lambda_gb_second"]
    read_units = 0.5 * math.ceil(connections * 150 / 4096) + 0.5
    reads = 1e6 * read_units * PRICES["dynamodb_read_unit"]
    return {"messages": messages, "lambda": duration, "dynamodb": reads, "total": messages + duration + reads}


def table(result: dict) -> str:
    lines = ["websocket fan-out (batch reaches the handler -> message on every connection; moto, local gateway)",
             f"  {'connections':>11}  {'p50 ms':>8}  {'max ms':>8}  {'push p50':>8}  {'push max':>8}"
             "  DynamoDB requests per change (recording + fan-out)"]
    for row in result["rows"]:
        requests = ", ".join(f"{op} {n:.2f}" for op, n in sorted(row["dynamodb_per_change"].items()))
        lines.append(f"  {row['connections']:>11}  {row['fan_out_ms']['p50']:>8.1f}  {row['fan_out_ms']['max']:>8.1f}"
                     f"  {row['push_ms']['p50']:>8.1f}  {row['push_ms']['max']:>8.1f}  {requests}")
    lines += ["", ("cost per million changes, each pushed to N connections of its owner (USD; Lambda from the mean "
                   "push time above)"),
              f"  {'N':>5}  {'messages':>9}  {'Lambda':>9}  {'DynamoDB':>9}  {'total':>9}"]
    for row in result["rows"]:
        cost = cost_per_million_changes(row)
        lines.append(f"  {row['connections']:>5}  {cost['messages']:>9.2f}  {cost['lambda']:>9.2f}"
                     f"  {cost['dynamodb']:>9.2f}  {cost['total']:>9.2f}")
    minutes = CLIENTS * 60 * 24 * 30
    lines.append(f"  and {CLIENTS:,} clients connected all month: {minutes / 1e6:.1f} M connection-minutes, "
                 f"${minutes * CONNECTION_MINUTE_PRICE:.2f} a month, whatever changes")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--connections", default="1,10,100", help="comma-separated connection counts")
    parser.add_argument("--json", action="store_true", help="print the result as JSON, not a table")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskapi.settings")
    result = run(args.changes, [int(n) for n in args.connections.split(",")])
    print(json.dumps(result) if args.json else table(result))


if __name__ == "__main__":
    main()
