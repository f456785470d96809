"""Cold starts: fresh processes that import a handler and serve one GET, the way Lambda runs the zip."""
import compileall
import hashlib
import importlib.util
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
# The python3.11 runtime has these itself; the package leaves them out.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
UNCHECKED_HASH = py_compile.PycInvalidationMode.UNCHECKED_HASH

APP_HANDLER = "taskapi.lambda_function:handler"
BASELINE_HANDLER = "baseline_handler:handler"


def _pip_quiet_env() -> dict[str, str]:
    return {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def library_bundle() -> Path:
    """Returns build/bench-lambda/<hash>: requirements.txt installed as the package ships it, built once.

    The runtime's own SDK is left out, and everything is compiled to unchecked-hash .pyc: Lambda's code
    is read-only and Zappa dates zip entries 1980, so other .pyc would be recompiled on every cold start.
    """
    requirements = (ROOT / "requirements.txt").read_bytes()
    target = ROOT / "build" / "bench-lambda" / hashlib.sha256(requirements).hexdigest()[:12]
    if (target / ".complete").exists():
        return target
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-compile", "--target", str(partial),
                          "-r", str(ROOT / "requirements.txt")], capture_output=True, text=True, env=_pip_quiet_env())
    if pip.returncode != 0:
        raise RuntimeError(f"pip could not install requirements.txt for the cold-start bundle:\n{pip.stderr[-3000:]}")
    for path in partial.iterdir():
        name = path.name.split("-")[0].removesuffix(".py").lower()
        if name in RUNTIME_PROVIDED or name == "python_dateutil":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    compileall.compile_dir(partial, quiet=2, workers=0, invalidation_mode=UNCHECKED_HASH)
    (partial / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def runtime_bundle(target: Path) -> Path:
    """Fills `target` with the runtime-provided SDK (links into this venv), like the python3.11 runtime's path."""
    target.mkdir()
    for name in RUNTIME_PROVIDED:
        origin = Path(importlib.util.find_spec(name).origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (target / source.name).symlink_to(source)
    return target


def code_bundle(target: Path, *, source: Path = ROOT, use_package: bool = True) -> tuple[list[Path], str]:
    """Fills `target` (Lambda's /var/task) with the function's code, read-only.

    Returns the further sys.path entries a cold start needs after `target`, and where the code came
    from: the built package when there is one (and `use_package`), else the app's packages from
    `source` (with collected static files) beside library_bundle().
    """
    runtime = target.with_name("runtime")
    if not runtime.exists():
        runtime_bundle(runtime)
    if use_package and PACKAGE.exists():
        with zipfile.ZipFile(PACKAGE) as package:
            package.extractall(target)
        path, origin = [runtime], f"{PACKAGE.relative_to(ROOT)} unzipped"
    else:
        target.mkdir()
        for name in APP_PACKAGES:
            shutil.copytree(source / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        compileall.compile_dir(target, quiet=2, invalidation_mode=UNCHECKED_HASH)
        # As the package's prebuild does: WhiteNoise indexes these at start-up.
        subprocess.run([sys.executable, "-m", "django", "collectstatic", "--noinput", "-v", "0"], cwd=target,
                       check=True, env={**os.environ, "STAGE": "local", "PYTHONPATH": str(target),
                                        "DJANGO_SETTINGS_MODULE": "taskapi.settings"})
        path = [library_bundle(), runtime]
        origin = "app + requirements.txt as pip installs them, unchecked-hash .pyc (dist/taskapi-dev.zip not built)"
    shutil.copy(BENCH / "baseline_handler.py", target / "baseline_handler.py")
    py_compile.compile(str(target / "baseline_handler.py"), invalidation_mode=UNCHECKED_HASH, doraise=True)
    for entry in [target, *target.rglob("*")]:
        entry.chmod(entry.stat().st_mode & ~0o222)
    return path, origin


def make_writable(target: Path) -> None:
    """Undoes code_bundle's read-only modes so the bundle can be deleted."""
    for entry in [target, *target.rglob("*")]:
        if not entry.is_symlink():
            entry.chmod(entry.stat().st_mode | 0o200)


def cold_start(*, code_dir: Path, path: list[Path], handler: str, event_file: Path, env: dict[str, str]) -> dict:
    """Runs one fresh process; returns its timings: wall_ms (spawn to response) and the child's own."""
    # -I -S: only the function's code and the runtime's SDK on sys.path; -B: no bytecode written, as on
    # Lambda's read-only file system.
    command = [sys.executable, "-I", "-S", "-B", str(BENCH / "cold_child.py"), str(code_dir),
               os.pathsep.join(map(str, path)), handler, str(event_file)]
    started = time.perf_counter()
    process = subprocess.Popen(command, env={**env, "PATH": "/usr/local/bin:/usr/bin:/bin"}, cwd=code_dir,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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


def cold_starts(*, code_dir: Path, path: list[Path], event: dict, env: dict[str, str], count: int,
                workdir: Path) -> dict:
    """Alternates app and baseline cold starts `count` times each; returns medians and the ratios."""
    event_file = workdir / "cold-event.json"
    event_file.write_text(json.dumps(event))
    handlers = {"app": APP_HANDLER, "baseline": BASELINE_HANDLER}
    runs: dict[str, list[dict]] = {name: [] for name in handlers}

    def start(name: str) -> dict:
        return cold_start(code_dir=code_dir, path=path, handler=handlers[name], event_file=event_file, env=env)

    for name in handlers:  # one untimed start each: the OS file cache, not the function, warms up
        start(name)
    for round_number in range(count):
        for name in ("app", "baseline") if round_number % 2 == 0 else ("baseline", "app"):
            runs[name].append(start(name))
    summary: dict = {"count": count, "handler": handlers["app"]}
    for name, samples in runs.items():
        summary[name] = {key: statistics.median(sample[key] for sample in samples)
                         for key in ("wall_ms", "cpu_ms", "in_process_ms", "init_ms", "first_invoke_ms")}
        summary[name]["samples_wall_ms"] = [round(sample["wall_ms"], 2) for sample in samples]
    summary["ratio_wall"] = summary["app"]["wall_ms"] / summary["baseline"]["wall_ms"]
    summary["ratio_cpu"] = summary["app"]["cpu_ms"] / summary["baseline"]["cpu_ms"]
    summary["ratio_in_process"] = summary["app"]["in_process_ms"] / summary["baseline"]["in_process_ms"]
    return summary
