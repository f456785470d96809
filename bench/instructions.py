"""Instruction counts under valgrind: cold start and per-request cost that do not move with machine load.

Each count is one fresh `python -I -S -B` process (bench/cold_child.py over the same bundle as the cold
starts) run under cachegrind, which counts every instruction the process executes in user space; the
emulator runs in another process and is not counted. Cold: the process that imports the handler and
serves one event, less the same process with bench/null_handler.py (the interpreter's own start-up).
Per request: (a process that serves the event 1 + `warm` times - one that serves it once) / `warm`.
PYTHONHASHSEED is fixed, so repeated counts agree to a few parts in ten thousand.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bench.coldstart import APP_HANDLER, BASELINE_HANDLER, BENCH

NULL_HANDLER = "null_handler:handler"
LAYERS_HANDLER = "layers_handler:handler"
REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def available() -> bool:
    """Returns whether valgrind is installed."""
    return shutil.which("valgrind") is not None


def count(*, code_dir: Path, path: list[Path], handler: str, event_file: Path, env: dict[str, str],
          warm: int = 0) -> int:
    """Returns the instructions one fresh process executes to import `handler` and serve the event 1 + warm times."""
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
               # The interpreter itself, not a launcher script: valgrind follows no exec by default.
               os.path.realpath(sys.executable), "-I", "-S", "-B", str(BENCH / "cold_child.py"), str(code_dir),
               os.pathsep.join(map(str, path)), handler, str(event_file), str(warm)]
    child_env = {**env, "PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, env=child_env, cwd=code_dir, capture_output=True, text=True, check=False)
    found = REFS.search(done.stderr)
    if done.returncode != 0 or found is None or "BENCH_RESULT " not in done.stdout:
        raise RuntimeError(f"{handler} under valgrind failed ({done.returncode}): {done.stderr[-2000:]}")
    status = json.loads(done.stdout.split("BENCH_RESULT ", 1)[1])["status"]
    if handler != NULL_HANDLER and status not in (200, 201):
        raise RuntimeError(f"{handler} answered {status} under valgrind; its output ended:\n{done.stdout[-3000:]}")
    return int(found.group(1).replace(",", ""))


def measure(*, code_dir: Path, path: list[Path], events: dict[str, dict], env: dict[str, str], workdir: Path,
            warm: int = 20) -> dict:
    """Returns instruction counts: cold start and per request for app and baseline on `events["get"]`, and
    the app's per-request count for every other operation in `events` (the baseline serves only GET), and
    the per-request count of the GET's service call without the HTTP stack (bench/layers_handler.py)."""
    files = {}
    for operation, event in events.items():
        files[operation] = workdir / f"instructions-{operation}.json"
        files[operation].write_text(json.dumps(event))

    def run(handler: str, operation: str, extra: int) -> int:
        return count(code_dir=code_dir, path=path, handler=handler, event_file=files[operation], env=env, warm=extra)

    zero = run(NULL_HANDLER, "get", 0)
    summary: dict = {"warm": warm, "interpreter": zero}
    for name, handler in (("app", APP_HANDLER), ("baseline", BASELINE_HANDLER)):
        once = run(handler, "get", 0)
        summary[name] = {"cold": once - zero, "get": (run(handler, "get", warm) - once) / warm}
    for operation in events:
        if operation != "get":
            summary["app"][operation] = (run(APP_HANDLER, operation, warm) - run(APP_HANDLER, operation, 0)) / warm
    # The service call alone: what PynamoDB and the domain add to botocore, and what the HTTP stack adds to them.
    service_once = run(LAYERS_HANDLER, "get", 0)
    summary["service_cold"] = service_once - zero
    summary["service_get"] = (run(LAYERS_HANDLER, "get", warm) - service_once) / warm
    summary["ratio_cold"] = summary["app"]["cold"] / summary["baseline"]["cold"]
    summary["ratio_get"] = summary["app"]["get"] / summary["baseline"]["get"]
    return summary
