"""`python -m bench` end to end at toy sizes: every benchmark runs and reports; no timing is asserted."""
import json
import subprocess
import sys

from tests.harness import ROOT

SIZES = (70, 140)  # a full page of 20 for every listing, a third of the tasks being pending


def test_bench_runs_every_benchmark_and_prints_one_table(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--sizes", ",".join(map(str, SIZES)), "--events", "20",
         "--cold-starts", "2", "--method-starts", "2", "--method-warm", "5",
         "--instructions", "0", "--pages", "3", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "latest.json").read_text())

    cold = results["cold_start"]
    assert cold["count"] == 2 and len(cold["app"]["samples_wall_ms"]) == len(cold["baseline"]["samples_wall_ms"]) == 2
    assert cold["app"]["cpu_ms"] > 0 and cold["baseline"]["cpu_ms"] > 0

    method = results["issue_method"]  # python -S, same-process warm GETs
    assert method["count"] == 2 and method["warm"] == 5
    assert len(method["app"]["samples_cold_ms"]) == len(method["baseline"]["samples_cold_ms"]) == 2
    assert method["app"]["warm_p50_ms"] > 0 and method["baseline"]["warm_p50_ms"] > 0
    assert "Cold start (issue 19)" in done.stdout and "Warm get (issue 19)" in done.stdout

    assert set(results["warm"]) == {"create", "get", "update", "delete", "list"}
    for stats in results["warm"].values():
        assert stats["handler"]["count"] == stats["raw"]["count"] == 20
    # The handler consumes exactly the capacity of the raw calls it stands for.
    for operation in ("get", "create", "delete"):
        warm = results["warm"][operation]
        assert warm["handler"]["capacity_units"] == warm["raw"]["capacity_units"] > 0, operation

    listing = results["list_cost"]
    assert set(listing) == {str(size) for size in SIZES}
    for name, statuses in (("all", 3), ("status", 1)):
        # Issue 18: a list-shard-index Query per (status, shard) of the dev stage's 8, a few more where one
        # shard holds more of the page, never a Scan: the cost stays bounded whatever the table's size.
        queries = [listing[str(size)][name]["queries"] for size in SIZES]
        assert all(statuses * 8 <= count <= statuses * 8 + 8 for count in queries), queries
        units = [listing[str(size)][name]["read_units"] for size in SIZES]
        assert all(0 < unit <= (statuses * 8 + 8) * 0.5 for unit in units), units

    assert results["cost"]["total"] > results["cost"]["api_gateway"] > 0
    table = done.stdout
    for row in ("| Cold start", "| Warm get", "| List, no filter", "| List, status=pending", "| Package", "| Cost"):
        assert row in table, row


def test_bench_profile_shows_the_imports_only_the_app_makes_and_a_profile_tree():
    done = subprocess.run([sys.executable, "-m", "bench.profile", "--top", "5"], cwd=ROOT, capture_output=True,
                          text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    only_app = lines[lines.index(next(line for line in lines if "modules only the app imports" in line)) + 1:][:5]
    assert any(line.split()[0] == "django" for line in only_app), only_app
    assert "One app cold start under pyinstrument" in done.stdout and "taskapi/wsgi.py" in done.stdout
