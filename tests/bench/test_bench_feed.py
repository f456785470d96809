"""`python -m bench.feed` at toy size: it runs and reports lag and cost; no timing is asserted."""
import json
import subprocess
import sys

from tests.harness import ROOT


def test_feed_bench_reports_lag_and_cost_per_change():
    done = subprocess.run([sys.executable, "-m", "bench.feed", "--changes", "3", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=200)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["changes"] == 3 and result["lag_ms"]["max"] >= result["lag_ms"]["p50"] > 0
    # One transaction per change (marker, counter, entry) and at least one counter read.
    assert result["consumer_per_change"]["requests"]["TransactWriteItems"] == 1
    assert result["consumer_per_change"]["write_units"] > 0
