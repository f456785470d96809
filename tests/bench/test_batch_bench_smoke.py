"""`python -m bench.batch` at toy size: every scenario runs and reports; no timing is asserted."""
import json
import subprocess
import sys

from tests.harness import ROOT


def test_batch_bench_reports_every_scenario():
    done = subprocess.run([sys.executable, "-m", "bench.batch", "--ops", "5"], cwd=ROOT, capture_output=True,
                          text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["ops"] == 5
    results = report["results"]
    assert set(results) == {f"{kind}: {how}" for kind in ("create", "update")
                            for how in ("singles", "batch", "atomic batch")}
    assert results["create: singles"]["dynamodb_calls"] == 5  # one conditional PutItem each
    assert results["update: atomic batch"]["dynamodb_calls"] == 2  # one BatchGetItem, one TransactWriteItems
