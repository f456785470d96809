"""`python -m bench.compare REV...`: cold starts of the app at several git revisions, in one run.

For measuring an optimisation before and after: each revision's taskapi/, tasks/ and ops/ are bundled
the way `make bench` bundles the working tree, and the revisions and the baseline handler take turns,
so every figure shares the same machine load and the same DynamoDB Local. With `--instructions WARM`,
each revision is counted under valgrind instead (bench/instructions.py: cold start, and per request for
GET, list and create over WARM warm events), against the same seeded task and the same DynamoDB Local.
"""
import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import uuid
from pathlib import Path

from bench import coldstart, dynamo, instructions
from bench.events import rest_v1
from bench.lambda_runtime import lambda_environment
from tests.harness import DynamoDBLocal

ROOT = coldstart.ROOT


def _export(revision: str, into: Path) -> Path:
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", revision, *coldstart.APP_PACKAGES], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _instructions(bundles: dict, *, task_id: str, warm: int, workdir: Path, env) -> None:
    """Prints each revision's instruction counts (cold, and per GET, list and create) beside the baseline's."""
    events = {"get": rest_v1("GET", f"/tasks/{task_id}"), "list": rest_v1("GET", "/tasks"),
              "create": rest_v1("POST", "/tasks", body={"title": "Bench task", "tags": ["bench"]})}
    files = {}
    for operation, event in events.items():
        files[operation] = workdir / f"instructions-{operation}.json"
        files[operation].write_text(json.dumps(event))

    def count(code_dir: Path, path: list[Path], handler: str, operation: str, extra: int) -> int:
        return instructions.count(code_dir=code_dir, path=path, handler=handler, event_file=files[operation],
                                  env=env(code_dir), warm=extra)

    first_dir, first_path = next(iter(bundles.values()))
    zero = count(first_dir, first_path, instructions.NULL_HANDLER, "get", 0)
    base_once = count(first_dir, first_path, coldstart.BASELINE_HANDLER, "get", 0)
    base_cold = base_once - zero
    base_get = (count(first_dir, first_path, coldstart.BASELINE_HANDLER, "get", warm) - base_once) / warm
    print(f"| revision | cold (x baseline) | warm GET (x baseline) | warm list | warm create |  ({warm} warm events)")
    print("|---|---|---|---|---|")
    print(f"| baseline | {base_cold:,} (1.00x) | {base_get:,.0f} (1.00x) | | |")
    # Operation by operation across the revisions: creates add tasks, so every revision's list sees the same table.
    per: dict = {revision: {} for revision in bundles}
    for operation in events:
        for revision, (code_dir, path) in bundles.items():
            once = count(code_dir, path, coldstart.APP_HANDLER, operation, 0)
            per[revision][operation] = (count(code_dir, path, coldstart.APP_HANDLER, operation, warm) - once) / warm
            if operation == "get":
                per[revision]["cold"] = once - zero
    for revision, counts in per.items():
        print(f"| {revision} | {counts['cold']:,} ({counts['cold'] / base_cold:.3f}x) "
              f"| {counts['get']:,.0f} ({counts['get'] / base_get:.3f}x) | {counts['list']:,.0f} "
              f"| {counts['create']:,.0f} |", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("revisions", nargs="+", help="git revisions; WORKTREE means the working tree")
    parser.add_argument("--cold-starts", type=int, default=10)
    parser.add_argument("--instructions", type=int, default=0, metavar="WARM",
                        help="count instructions under valgrind with WARM warm events instead of timing cold starts")
    args = parser.parse_args(argv)
    database = DynamoDBLocal()
    workdir = Path(tempfile.mkdtemp(prefix="taskapi-compare-"))
    bundles: dict[str, tuple[Path, list[Path]]] = {}
    try:
        table = f"taskapi-bench-{uuid.uuid4().hex[:10]}"
        env = lambda_environment(table=table, dynamodb_url=database.url)
        os.environ.pop("AWS_ENDPOINT_URL", None)
        os.environ.update(env)
        import django
        from django.core.management import call_command

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskapi.settings")
        django.setup()
        call_command("create_table", stdout=io.StringIO())
        dynamo.seed(table=table, start=0, stop=100)
        task_id = dynamo.raw_client().scan(TableName=table, Limit=1)["Items"][0]["taskId"]["S"]
        for number, revision in enumerate(args.revisions):
            source = ROOT if revision == "WORKTREE" else _export(revision, workdir / f"src-{number}")
            code_dir = workdir / f"task-{number}"
            path, _ = coldstart.code_bundle(code_dir, source=source, use_package=False)
            bundles[revision] = (code_dir, path)
        event_file = workdir / "event.json"
        event_file.write_text(json.dumps(rest_v1("GET", f"/tasks/{task_id}")))
        if args.instructions:
            _instructions(bundles, task_id=task_id, warm=args.instructions, workdir=workdir,
                          env=lambda code_dir: lambda_environment(table=table, dynamodb_url=database.url,
                                                                  code_dir=str(code_dir)))
            return
        first = next(iter(bundles.values()))
        starts = {revision: (code_dir, path, coldstart.APP_HANDLER)
                  for revision, (code_dir, path) in bundles.items()}
        starts["baseline"] = (first[0], first[1], coldstart.BASELINE_HANDLER)
        samples: dict[str, list[dict]] = {name: [] for name in starts}
        for round_number in range(args.cold_starts + 1):
            order = list(starts) if round_number % 2 else list(reversed(starts))
            for name in order:
                code_dir, path, handler = starts[name]
                result = coldstart.cold_start(code_dir=code_dir, path=path, handler=handler, event_file=event_file,
                                              env=lambda_environment(table=table, dynamodb_url=database.url,
                                                                     code_dir=str(code_dir)))
                if round_number:  # the first round only warms the OS file cache
                    samples[name].append(result)
        base = {key: statistics.median(sample[key] for sample in samples["baseline"]) for key in ("cpu_ms", "wall_ms")}
        print("| revision | CPU ms (x baseline) | wall ms (x baseline) | import / first event ms |")
        print("|---|---|---|---|")
        for name, runs in samples.items():
            cpu, wall = (statistics.median(run[key] for run in runs) for key in ("cpu_ms", "wall_ms"))
            init, first_event = (statistics.median(run[key] for run in runs) for key in ("init_ms", "first_invoke_ms"))
            print(f"| {name} | {cpu:.0f} ({cpu / base['cpu_ms']:.2f}x) | {wall:.0f} ({wall / base['wall_ms']:.2f}x) "
                  f"| {init:.0f} / {first_event:.0f} |")
    finally:
        database.stop()
        for code_dir, _ in bundles.values():
            coldstart.make_writable(code_dir)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
