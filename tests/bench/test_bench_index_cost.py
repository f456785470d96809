"""bench.index_cost at toy sizes (issue 18): runs and reports; asserts item counts, never timings."""
import subprocess
import sys

from tests.harness import ROOT


def test_index_cost_bench_reports_every_filter_and_the_shard_spread():
    done = subprocess.run([sys.executable, "-m", "bench.index_cost", "--sizes", "200,400"], cwd=ROOT,
                          capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines[2:7]] == ["all", "status", "priority", "status+priority", "tag"]
    assert lines[-1].startswith("list-shard-index at 400 tasks: 24 keys")
