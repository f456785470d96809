"""`docker compose up`'s api command, as docker-compose.yml writes it, run on the host against this run's endpoint.

No Docker engine runs here, so the container is replaced by a shell on the host with the service's own
environment; only what points into the compose network (the endpoint, the port) is swapped for this run's.
On `make e2e-localstack` this is the compose path against real LocalStack.
"""
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import compose
import pytest
import requests

from tests.harness import ROOT, dynamodb, free_port, wait_until

pytestmark = pytest.mark.e2e

# The package's `docker-compose` wrapper script always exits 0; its binary tells the truth.
COMPOSE = Path(compose.__file__).parent / "docker-compose"


def api_service() -> dict:
    """Returns the api service as Compose itself resolves docker-compose.yml."""
    result = subprocess.run([str(COMPOSE), "-f", str(ROOT / "docker-compose.yml"), "config", "--format", "json"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT,
                            env={**os.environ, "ALERT_EMAILS": ""})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["services"]["api"]


def test_compose_api_command_provisions_then_serves():
    service = api_service()
    shell, flag, script = service["command"]
    assert (shell, flag) == ("sh", "-c")
    assert "0.0.0.0:8000" in script
    port = free_port()
    table = f"taskapi-compose-{uuid.uuid4().hex[:8]}"
    environment = {
        **os.environ, **service["environment"],
        # Inside compose the endpoint is the localstack service; here it is whatever this run talks to.
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        "TASKS_TABLE": table, "IDEMPOTENCY_TABLE": f"{table}-idempotency",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # `python` is this venv's
        "PYTHONUNBUFFERED": "1",
    }
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen([shell, flag, script.replace("0.0.0.0:8000", f"127.0.0.1:{port}")], cwd=ROOT,
                                   env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            # The service's own healthcheck: /openapi.json answers once create_table and setup_monitoring passed.
            wait_until(lambda: process.poll() is not None or requests.get(
                f"http://127.0.0.1:{port}/openapi.json", timeout=2).ok, timeout=180, what="compose api command")
            assert process.poll() is None, _output(log)
            created = requests.post(f"http://127.0.0.1:{port}/tasks", json={"title": "through compose"}, timeout=30)
            assert created.status_code == 201, created.text
            assert requests.get(f"http://127.0.0.1:{port}/tasks/{created.json()['taskId']}",
                                timeout=30).json() == created.json()
        finally:
            process.terminate()
            process.wait(timeout=30)
            output = _output(log)
            for name in (table, f"{table}-idempotency"):
                try:
                    dynamodb().delete_table(TableName=name)
                except dynamodb().exceptions.ResourceNotFoundException:
                    pass
            subprocess.run([sys.executable, "manage.py", "teardown_monitoring", "--stage", "dev"], cwd=ROOT,
                           env=environment, capture_output=True, timeout=120, check=False)
    # `&&` chains the steps: the API answering proves both provisioning commands exited 0.
    assert f"table {table}: create" in output
    assert "topic dev-task-api-alerts:" in output


def _output(log) -> str:
    log.seek(0)
    return log.read()
