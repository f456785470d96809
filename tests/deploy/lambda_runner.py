"""Runs a deployed Lambda function's code as the python3.11 runtime would: unzipped, read-only, in its own process.

moto can only invoke functions in Docker, which these machines lack, so this stands in for the runtime: the
package moto holds is unzipped once per code version, and a warm process per version (like a Lambda container)
imports the handler with only the package, the stdlib and the SDK the runtime ships on its path, with the
function's own environment plus what Lambda sets, and AWS_ENDPOINT_URL pointing back at the emulator.
"""
import hashlib
import importlib.util
import json
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Any

# What /var/runtime holds beside the package: the SDK and its dependencies.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
MARK = "@@result "
DRIVER = r"""
import importlib, json, os, sys, traceback
task_root, runtime_root, handler = sys.argv[1:4]
sys.path[:0] = [task_root, runtime_root]
os.chdir(task_root)
module_name, function_name = handler.rsplit(".", 1)
function = getattr(importlib.import_module(module_name), function_name)
print("@@ready", flush=True)
for line in sys.stdin:
    try:
        result, error = function(json.loads(line), None), False
    except Exception as exc:
        traceback.print_exc()
        result, error = {"errorMessage": str(exc), "errorType": type(exc).__name__}, True
    sys.stderr.flush()
    print("@@result " + json.dumps({"result": result, "error": error}), flush=True)
"""


class LambdaRunner:
    """Invokes moto's function objects in warm subprocesses; `endpoint` is the emulator the code talks to."""

    def __init__(self, workdir: Path, endpoint: str):
        self.workdir = workdir
        self.endpoint = endpoint
        self.invocations: list[tuple[str, Any]] = []
        self._processes: dict[str, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self._runtime_root = workdir / "var-runtime"
        self._runtime_root.mkdir(parents=True, exist_ok=True)
        for name in RUNTIME_PROVIDED:
            origin = Path(importlib.util.find_spec(name).origin)
            source = origin.parent if origin.name == "__init__.py" else origin
            link = self._runtime_root / source.name
            if not link.exists():
                link.symlink_to(source)

    def _task_root(self, code: bytes) -> Path:
        root = self.workdir / f"var-task-{hashlib.sha256(code).hexdigest()[:16]}"
        if not root.exists():
            staging = Path(tempfile.mkdtemp(dir=self.workdir))
            with zipfile.ZipFile(__import__("io").BytesIO(code)) as archive:
                archive.extractall(staging)
            subprocess.run(["chmod", "-R", "a-w", str(staging)], check=True)  # /var/task is read-only
            staging.rename(root)
        return root

    def _process(self, function) -> subprocess.Popen:
        key = f"{function.function_name}:{function.code_sha_256}:{json.dumps(function.environment_vars)}"
        process = self._processes.get(key)
        if process is not None and process.poll() is None:
            return process
        for stale in [k for k in self._processes if k.startswith(f"{function.function_name}:")]:
            self._stop(self._processes.pop(stale))
        env = {
            "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": ":UTC",
            **function.environment_vars,
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_REGION": function.region, "AWS_DEFAULT_REGION": function.region,
            "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local",
            "AWS_ENDPOINT_URL": self.endpoint, "PYTHONDONTWRITEBYTECODE": "1",
        }
        task_root = self._task_root(function.code_bytes)
        env["LAMBDA_TASK_ROOT"] = str(task_root)
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", DRIVER, str(task_root), str(self._runtime_root), function.handler],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        log = []
        for line in process.stdout:
            if line.startswith("@@ready"):
                break
            log.append(line)
        else:
            raise RuntimeError(f"{function.function_name} failed at init:\n{''.join(log)}")
        self._processes[key] = process
        return process

    def invoke(self, function, event: Any) -> tuple[Any, str, bool]:
        """Runs the handler on `event`; returns (result, log text, whether the handler raised)."""
        with self._lock:  # one container: invocations run one at a time
            self.invocations.append((function.function_name, event))
            process = self._process(function)
            process.stdin.write(json.dumps(event) + "\n")
            process.stdin.flush()
            log = []
            for line in process.stdout:
                if line.startswith(MARK):
                    answer = json.loads(line[len(MARK):])
                    return answer["result"], "".join(log), answer["error"]
                log.append(line)
            raise RuntimeError(f"{function.function_name} exited mid-invocation:\n{''.join(log)}")

    @staticmethod
    def _stop(process: subprocess.Popen) -> None:
        process.kill()
        process.wait()
        process.stdin.close()
        process.stdout.close()

    def close(self) -> None:
        for process in self._processes.values():
            self._stop(process)
        self._processes.clear()
        subprocess.run(["chmod", "-R", "u+w", str(self.workdir)], check=False)
