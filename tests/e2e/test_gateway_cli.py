"""The gateway commands on every engine's API Gateway: setup twice, a usage plan and a client's key, teardown
twice. One stage, few calls; only the first run starts a `python manage.py` process (exit code, stderr)."""
import io
import json
import os
import subprocess
import sys
import uuid

import pytest
from django.core.management import call_command
from django.test import override_settings

from tests.harness import ROOT
from tests.rest_apis import apigateway, patch_moto_stage_remove, stage_cleanup, zappa_api

pytestmark = pytest.mark.e2e


def manage(*args: str, settings_file: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "ZAPPA_SETTINGS_FILE": settings_file}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=120, check=False)


def run(*args: str, settings_file: str) -> list[str]:
    out = io.StringIO()
    with override_settings(ZAPPA_SETTINGS_FILE=settings_file):
        call_command(*args, stdout=out)
    return out.getvalue().splitlines()


@pytest.fixture
def deployed(tmp_path, monkeypatch):
    patch_moto_stage_remove(monkeypatch)  # only takes effect where this process serves moto itself
    name = f"e2e{uuid.uuid4().hex[:8]}"
    path = tmp_path / "zappa_settings.json"
    path.write_text(json.dumps({name: {"project_name": "taskapi", "aws_region": os.environ["AWS_REGION"],
                                       "aws_environment_variables": {"STAGE": name}}}))
    api_id = zappa_api(f"taskapi-{name}", name)
    yield name, str(path), api_id
    stage_cleanup(f"taskapi-{name}", api_id)


def test_gateway_setup_keys_and_teardown(deployed):
    stage, settings_file, api_id = deployed
    first = manage("setup_gateway", "--stage", stage, settings_file=settings_file)
    assert (first.returncode, first.stderr, first.stdout.splitlines()[-1]) == (0, "", "19 create: applied")
    *plan, summary = run("setup_gateway", "--stage", stage, settings_file=settings_file)
    assert [line for line in plan if ": unchanged" not in line] == []
    assert (len(plan), summary) == (19, "19 unchanged: nothing to change")
    described = apigateway().get_stage(restApiId=api_id, stageName=stage)
    assert described["methodSettings"]["*/*"]["throttlingRateLimit"] == 50.0 and described["tracingEnabled"]

    assert run("create_usage_plan", "--stage", stage, "--name", "gold", "--rate", "10", "--burst", "20",
               "--quota", "1000", "--period", "DAY", settings_file=settings_file)[-1] == "1 create: applied"
    key = run("api_keys", "create", "--stage", stage, "--client", "acme", "--plan", "gold", settings_file=settings_file)
    key_id = key[1].removeprefix("id: ")
    listed = run("api_keys", "list", "--stage", stage, settings_file=settings_file)
    assert listed[0].startswith(f"{key_id} acme enabled plans: taskapi-{stage}-gold: "), listed

    assert run("teardown_gateway", "--stage", stage, settings_file=settings_file)[-1] == "18 delete: applied"
    again = run("teardown_gateway", "--stage", stage, settings_file=settings_file)
    assert again[-1] == "18 absent: nothing to change", again
