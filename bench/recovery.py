"""`python -m bench.recovery [--tasks N]`: restore, export and import times at N tasks on the emulator; prints a table.

Runs on the embedded moto server unless AWS_ENDPOINT_URL is set (e.g. LocalStack); with
TASKAPI_TEST_DYNAMODB=dynamodb-local, DynamoDB is AWS's DynamoDB Local (no PITR: the restore rows are skipped).
"""
import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def _row(name: str, seconds: float, items: int | None, note: str = "") -> dict:
    rate = f"{items / seconds:.0f}" if items and seconds else ""
    return {"step": name, "seconds": round(seconds, 2), "tasks": items, "tasks_per_s": rate, "note": note}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--segments", type=int, default=4)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--page-size", type=int, default=None, help="Scan Limit (moto scans whole tables per page)")
    args = parser.parse_args(argv)

    from tests import harness

    emulators = harness.configure_environment()
    import django

    django.setup()
    from ops import aws, recovery, transfer
    from ops.specs import TableSpec
    from tests.e2e.test_recovery import _seed

    source, target = f"{os.environ['TASKS_TABLE']}-src", f"{os.environ['TASKS_TABLE']}-dst"
    restored = f"{source}-restored"
    rows = []
    try:
        for name in (source, target):
            aws.table_create(TableSpec(name=name).create_request())
        started = time.monotonic()
        _seed(source, args.tasks)
        rows.append(_row("seed (BatchWriteItem)", time.monotonic() - started, args.tasks))
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "tasks.jsonl"
            started = time.monotonic()
            result = transfer.tasks_export(table=source, out=out, segments=args.segments, page_size=args.page_size)
            rows.append(_row(f"export_tasks ({args.segments} segments)", time.monotonic() - started, result.items,
                             f"{out.stat().st_size / 2**20:.1f} MiB"))
            started = time.monotonic()
            imported = transfer.tasks_import(table=target, source=out, workers=args.workers)
            rows.append(_row(f"import_tasks ({args.workers} writers)", time.monotonic() - started, imported.written))
            started = time.monotonic()
            again = transfer.tasks_import(table=target, source=out, workers=args.workers)
            rows.append(_row("import_tasks again (all kept)", time.monotonic() - started, again.kept))
        try:
            aws.table_pitr_enable(source)
        except aws.Unsupported as error:
            rows.append(_row("restore_table", 0, None, f"skipped: {error}"))
        else:
            when = datetime.now(UTC) - timedelta(seconds=1)
            report = recovery.table_restore(source=source, target=restored, to_time=when)
            for step, seconds, outcome in report.steps:
                rows.append(_row(f"restore: {step}", seconds, report.target_count if step == "verify" else None,
                                 outcome[:60]))
            rows.append(_row("restore_table total", sum(step[1] for step in report.steps), report.target_count))
    finally:
        for name in (source, target, restored):
            aws.table_delete(name)
        for emulator in emulators:
            emulator.stop()
    engine = harness.dynamodb_engine()
    print(f"recovery at {args.tasks} tasks on {engine} ({sys.platform}, {os.cpu_count()} cores)")
    print(f"{'step':<40} {'seconds':>9} {'tasks':>7} {'tasks/s':>8}  note")
    for row in rows:
        print(f"{row['step']:<40} {row['seconds']:>9.2f} {row['tasks'] or '':>7} {row['tasks_per_s']:>8}  {row['note']}")
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"recovery-{engine}-{args.tasks}.json").write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main()
