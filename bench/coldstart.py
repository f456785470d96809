"""Cold starts: fresh processes that import a handler and serve one GET, the way Lambda runs the zip."""
import compileall
import json
import os
import py_compile
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
PACKAGE = ROOT / "dist" / "taskapi-dev.zip"
APP_PACKAGES = ("taskapi", "tasks", "ops")

UNCHECKED_HASH = py_compile.PycInvalidationMode.UNCHECKED_HASH
APP_HANDLER = "taskapi.lambda_function:handler"
BASELINE_HANDLER = "baseline_handler:handler"


def code_bundle(target: Path) -> str:
    """Fills `target` (Lambda's /var/task) with the code a cold start imports, read-only; returns where it came from.

    The built package when there is one; else the app's packages with the venv's libraries, compiled
    the way the package ships them. Lambda's code is read-only and Zappa dates zip entries 1980, so
    only unchecked-hash .pyc are used as they are: anything else is recompiled on every cold start.
    """
    if PACKAGE.exists():
        with zipfile.ZipFile(PACKAGE) as package:
            package.extractall(target)
        source = f"{PACKAGE.relative_to(ROOT)} unzipped"
    else:
        target.mkdir(parents=True)
        for name in APP_PACKAGES:
            shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        source = "app packages + venv libraries, unchecked-hash .pyc (dist/taskapi-dev.zip not built)"
        compileall.compile_dir(target, quiet=1, invalidation_mode=UNCHECKED_HASH)
    shutil.copy(BENCH / "baseline_handler.py", target / "baseline_handler.py")
    py_compile.compile(str(target / "baseline_handler.py"), invalidation_mode=UNCHECKED_HASH, doraise=True)
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    return source


def make_writable(target: Path) -> None:
    """Undoes code_bundle's read-only modes so the bundle can be deleted."""
    for path in [target, *target.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)


def cold_start(*, code_dir: Path, handler: str, event_file: Path, env: dict[str, str]) -> dict:
    """Runs one fresh process; returns its timings: wall_ms (spawn to response) and the child's own."""
    command = [sys.executable, "-B", str(BENCH / "cold_child.py"), str(code_dir), handler, str(event_file)]
    # No bytecode is written at run time, as on Lambda's read-only file system.
    child_env = {**env, "PYTHONDONTWRITEBYTECODE": "1", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    started = time.perf_counter()
    process = subprocess.Popen(command, env=child_env, cwd=code_dir, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    result = None
    for line in process.stdout:
        if line.startswith("BENCH_RESULT "):
            wall_ms = (time.perf_counter() - started) * 1000
            result = {"wall_ms": wall_ms, **json.loads(line.removeprefix("BENCH_RESULT "))}
    errors = process.stderr.read()
    process.wait()
    if result is None or process.returncode != 0:
        raise RuntimeError(f"cold start of {handler} failed ({process.returncode}): {errors[-2000:]}")
    if result["status"] != 200:
        raise RuntimeError(f"cold start of {handler} answered {result['status']}, expected 200")
    return result


def cold_starts(*, code_dir: Path, event: dict, env: dict[str, str], count: int, workdir: Path) -> dict:
    """Alternates app and baseline cold starts `count` times each; returns medians and the ratios."""
    event_file = workdir / "cold-event.json"
    event_file.write_text(json.dumps(event))
    runs: dict[str, list[dict]] = {"app": [], "baseline": []}
    handlers = {"app": APP_HANDLER, "baseline": BASELINE_HANDLER}
    for name, handler in handlers.items():  # one untimed start each: the OS file cache, not the function, warms
        cold_start(code_dir=code_dir, handler=handler, event_file=event_file, env=env)
    for round_number in range(count):
        order = ("app", "baseline") if round_number % 2 == 0 else ("baseline", "app")
        for name in order:
            runs[name].append(cold_start(code_dir=code_dir, handler=handlers[name], event_file=event_file, env=env))
    summary = {}
    for name, samples in runs.items():
        summary[name] = {key: statistics.median(sample[key] for sample in samples)
                         for key in ("wall_ms", "in_process_ms", "init_ms", "first_invoke_ms")}
        summary[name]["samples_wall_ms"] = [round(sample["wall_ms"], 2) for sample in samples]
    summary["ratio_wall"] = summary["app"]["wall_ms"] / summary["baseline"]["wall_ms"]
    summary["ratio_in_process"] = summary["app"]["in_process_ms"] / summary["baseline"]["in_process_ms"]
    summary["count"] = count
    return summary
