"""bench.index_cost at toy sizes (issue 18): runs and reports; asserts item counts, never timings."""
import subprocess
import sys

from tests.harness import ROOT


def test_index_cost_bench_reports_every_filter_and_the_shard_spread():
    done = subprocess.run([sys.executable, "-m", "bench.index_cost", "--sizes", "200,400"], cwd=ROOT,
                          capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines[2:10]] == ["all", "status", "priority", "status+priority", "tag",
                                                         "tag+status", "tag+priority", "tag"]
    # Issue 18: a rare tag's page reads its matches through the tag index; the filter reads past the rest.
    index, filtered = (line.split() for line in (lines[6], lines[9]))
    assert lines[9].startswith("tag (filter)") and int(index[3]) < int(filtered[4])
    assert lines[-1].startswith("list-shard-index at 400 tasks: 24 keys")
