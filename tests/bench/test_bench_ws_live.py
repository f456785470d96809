"""`python -m bench.ws_live` at toy size: the real `make run` in a child process, one WebSocket client and
headless Chromium on the task list, two tasks created, updated and deleted over HTTP, each change's message
received and shown by the page; no timing is asserted."""
import json
import subprocess
import sys

from tests.harness import ROOT


def test_live_update_bench_sees_every_change_of_a_write_on_make_run():
    done = subprocess.run([sys.executable, "-m", "bench.ws_live", "--writes", "2", "--pause", "0.1", "--browser", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    [result] = json.loads(done.stdout.strip().splitlines()[-1])
    rows = result["rows"]
    assert {kind: rows[kind]["n"] for kind in ("created", "updated", "deleted", "every change")} == {
        "created": 2, "updated": 2, "deleted": 2, "every change": 6}
    assert rows["in the browser (notice)"]["n"] == 6  # headless Chromium's task list showed each change too
    for row in rows.values():
        assert row["max"] >= row["p95"] >= row["p50"] > 0
    assert rows["every change"]["p50"] >= rows["after the HTTP response"]["p50"]
