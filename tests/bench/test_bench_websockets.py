"""`python -m bench.websockets` at toy size: it runs and reports fan-out times and requests; no timing is asserted."""
import json
import subprocess
import sys

from tests.harness import ROOT


def test_websocket_bench_reports_fan_out_per_connection_count():
    done = subprocess.run([sys.executable, "-m", "bench.websockets", "--changes", "2", "--connections", "1,3",
                           "--json"], cwd=ROOT, capture_output=True, text=True, timeout=200)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert [row["connections"] for row in result["rows"]] == [1, 3]
    for row in result["rows"]:
        assert row["fan_out_ms"]["max"] >= row["fan_out_ms"]["p50"] >= row["push_ms"]["p50"] > 0
        # Recording: one transaction per change; fan-out: one owner-index Query per owner per batch.
        assert row["dynamodb_per_change"]["TransactWriteItems"] == 1
        assert row["dynamodb_per_change"]["Query"] >= 1
