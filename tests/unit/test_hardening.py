"""Hardening: security headers, and settings that refuse to run a deployed stage insecurely."""
import json
import os
import subprocess
import sys

from tests.harness import ROOT

DEPLOYED = {"STAGE": "prod", "DJANGO_SECRET_KEY": "p" * 40 + "-a-long-random-deployment-secret",
            "TASKS_TABLE": "taskapi-prod-tasks", "AWS_REGION": "eu-west-1"}


def _in_stage(env: dict, code: str) -> subprocess.CompletedProcess:
    """Runs `code` after django.setup() in a fresh interpreter with `env` over a clean copy of ours."""
    base = {key: value for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "STAGE", "TASKS_", "SECURE_"))}
    script = "import django; django.setup()\n" + code
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**base, "DJANGO_SETTINGS_MODULE": "taskapi.settings", **env})


def test_local_responses_carry_security_headers_but_no_hsts(api):
    response = api.get("/openapi.json")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response  # plain http on a laptop


def test_deployed_stage_sends_hsts_over_https_and_denies_framing():
    code = """
import json
from django.test import Client
response = Client().get("/openapi.json", secure=True, HTTP_HOST="abc123.execute-api.eu-west-1.amazonaws.com")
print(json.dumps({"status": response.status_code, "headers": dict(response.headers)}))
"""
    run = _in_stage(DEPLOYED, code)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["status"] == 200
    headers = result["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert (headers["X-Content-Type-Options"], headers["X-Frame-Options"]) == ("nosniff", "DENY")


def test_deployed_stage_never_debugs_even_when_asked():
    code = "from django.conf import settings; print(settings.DEBUG, settings.SESSION_COOKIE_SECURE)"
    run = _in_stage({**DEPLOYED, "DJANGO_DEBUG": "true"}, code)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "True"]


def test_deployed_stage_refuses_to_start_without_a_secret():
    env = {key: value for key, value in DEPLOYED.items() if key != "DJANGO_SECRET_KEY"}
    run = _in_stage(env, "")
    assert run.returncode != 0
    assert "ImproperlyConfigured: The DJANGO_SECRET_KEY environment variable is required in stage 'prod'." in run.stderr


def test_deployed_stage_refuses_the_local_default_secret():
    run = _in_stage({**DEPLOYED, "DJANGO_SECRET_KEY": "local-insecure-key-do-not-deploy"}, "")
    assert run.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY must not be the local default outside local." in run.stderr


def test_deployed_stage_settings_pass_djangos_deployment_checks():
    code = """
from django.core.management import call_command
call_command("check", "--deploy", "--fail-level", "WARNING")
print("ok")
"""
    run = _in_stage(DEPLOYED, code)
    assert run.returncode == 0, run.stderr + run.stdout
    assert run.stdout.strip().endswith("ok")
