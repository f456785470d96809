"""Issue 19's method: cold start from the handler module's first import, and warm GETs in the same process.

Each run is a fresh `python -S` process with PYTHONDONTWRITEBYTECODE=1 over the same bundle the CPU
measure uses (the packaged zip unzipped, the runtime's boto3 apart). Cold: wall clock from the handler
module's first import to the first GET /tasks/{id} response, median of `count` processes per handler,
app and baseline alternating. Warm: one more process per handler serves the GET `warm` more times after
its first; p50/p95 of those. Wall clock, so a busy machine moves both sides: read the ratios, which share
the run's load, rather than the milliseconds.
"""
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.coldstart import APP_HANDLER, BASELINE_HANDLER, BENCH


def _run(*, code_dir: Path, path: list[Path], handler: str, event_file: Path, env: dict[str, str],
         warm: int) -> dict:
    command = [sys.executable, "-S", str(BENCH / "cold_child.py"), str(code_dir), os.pathsep.join(map(str, path)),
               handler, str(event_file), str(warm)]
    child_env = {**env, "PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(command, env=child_env, cwd=code_dir, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH_RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{handler} failed ({done.returncode}): {done.stderr[-2000:]}")
    result = json.loads(lines[-1].removeprefix("BENCH_RESULT "))
    if result["status"] != 200:
        raise RuntimeError(f"{handler} answered {result['status']}, expected 200")
    return result


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(*, code_dir: Path, path: list[Path], event: dict, env: dict[str, str], workdir: Path,
            count: int = 10, warm: int = 300) -> dict:
    """Returns the method's medians and ratios, app over baseline."""
    event_file = workdir / "issue-method-event.json"
    event_file.write_text(json.dumps(event))
    handlers = {"app": APP_HANDLER, "baseline": BASELINE_HANDLER}
    cold: dict[str, list[float]] = {name: [] for name in handlers}
    for name, handler in handlers.items():  # untimed: warms the OS file cache for this interpreter mode
        _run(code_dir=code_dir, path=path, handler=handler, event_file=event_file, env=env, warm=0)
    for round_number in range(count):
        for name in ("app", "baseline") if round_number % 2 == 0 else ("baseline", "app"):
            result = _run(code_dir=code_dir, path=path, handler=handlers[name], event_file=event_file, env=env, warm=0)
            cold[name].append(result["init_ms"] + result["first_invoke_ms"])
    warm_ms = {name: _run(code_dir=code_dir, path=path, handler=handler, event_file=event_file, env=env,
                          warm=warm)["warm_ms"] for name, handler in handlers.items()}
    summary: dict = {"count": count, "warm": warm}
    for name in handlers:
        summary[name] = {"cold_ms": statistics.median(cold[name]),
                         "samples_cold_ms": [round(v, 2) for v in cold[name]],
                         "warm_p50_ms": _percentile(warm_ms[name], 0.50),
                         "warm_p95_ms": _percentile(warm_ms[name], 0.95)}
    summary["ratio_cold"] = summary["app"]["cold_ms"] / summary["baseline"]["cold_ms"]
    summary["ratio_warm_p50"] = summary["app"]["warm_p50_ms"] / summary["baseline"]["warm_p50_ms"]
    return summary
