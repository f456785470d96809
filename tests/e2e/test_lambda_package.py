"""The deployment package: built by `make package`, unzipped, and run as Lambda runs it, in a bare process."""
import importlib.util
import json
import os
import re
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest

from ops import aws
from tests import lambda_events as events
from tests.harness import ROOT

pytestmark = pytest.mark.e2e

ZAPPA_DEV = json.loads((ROOT / "zappa_settings.json").read_text())["dev"]
LAMBDA_VENV = ROOT / ".venv-lambda"
# What the python3.11 Lambda runtime provides beside the package (/var/runtime): the SDK and its dependencies.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
# Lambda runs this: every module comes from the package, the stdlib or the runtime's SDK.
DRIVER = r"""
import json, os, sys
task_root, runtime_root = sys.argv[1], sys.argv[2]
sys.path[:0] = [task_root, runtime_root]
os.chdir(task_root)
import importlib
module = importlib.import_module("taskapi.lambda_function")
import boto3, django
print("@@" + json.dumps({"sys_path": sys.path, "django": django.__file__, "boto3": boto3.__file__,
                         "handler": module.__file__, "modules_from_elsewhere": sorted(
    name for name, mod in sys.modules.items()
    if getattr(mod, "__file__", None) and not mod.__file__.startswith((task_root, runtime_root, sys.base_prefix)))}),
      flush=True)
for line in sys.stdin:
    print("@@" + json.dumps(module.handler(json.loads(line), None)), flush=True)
"""


@pytest.fixture(scope="session")
def package(tmp_path_factory) -> Path:
    """Builds dist/taskapi-dev.zip with `make package` (once per session) and returns its path."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_ENDPOINT_URL", "STAGE"))}
    done = subprocess.run(["make", "package"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    size_line = next(line for line in done.stdout.splitlines() if "MiB zipped" in line)
    print(f"\n{size_line}")
    return ROOT / "dist" / "taskapi-dev.zip"


@pytest.fixture(scope="session")
def task_root(package, tmp_path_factory) -> Path:
    """The package unzipped, read-only like /var/task."""
    root = tmp_path_factory.mktemp("var-task")
    with zipfile.ZipFile(package) as archive:
        archive.extractall(root)
    subprocess.run(["chmod", "-R", "a-w", str(root)], check=True)
    yield root
    subprocess.run(["chmod", "-R", "u+w", str(root)], check=True)


@pytest.fixture(scope="session")
def runtime_root(tmp_path_factory) -> Path:
    """Stands in for /var/runtime: links to only the SDK packages of this venv that the Lambda runtime ships."""
    root = tmp_path_factory.mktemp("var-runtime")
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name)
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (root / source.name).symlink_to(source)
    return root


class LambdaProcess:
    """A fresh `python -I -S` process whose import path is the package, the stdlib and the runtime's SDK."""

    def __init__(self, task_root: Path, runtime_root: Path, env: dict[str, str], log_path: Path) -> None:
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", "-c", DRIVER, str(task_root), str(runtime_root)],
            cwd=task_root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
        )
        self.log_path = log_path
        self.diagnostics = self._read()

    def _read(self):
        output = []
        while True:
            line = self.process.stdout.readline()
            if not line:
                self.stop()
                raise AssertionError("the Lambda process exited:\n" + "".join(output)
                                     + self.log_path.read_text())
            if line.startswith("@@"):
                return json.loads(line[2:])
            output.append(line)

    def invoke(self, event: dict):
        self.process.stdin.write(json.dumps(event) + "\n")
        self.process.stdin.flush()
        return self._read()

    def stop(self) -> None:
        if self.process.returncode is None:
            self.process.stdin.close()
            self.process.wait(timeout=10)
            self.process.stdout.close()
            self.log.close()


@pytest.fixture
def lambda_process(task_root, runtime_root, tmp_path):
    """The package as the dev stage: zappa_settings.json's environment, the secret in SSM, a fresh table."""
    region = os.environ["AWS_REGION"]
    variables = dict(ZAPPA_DEV["aws_environment_variables"])
    parameter = f"/taskapi/test/{uuid.uuid4().hex}/django-secret-key"
    ssm = boto3.client("ssm", region_name=region)
    ssm.put_parameter(Name=parameter, Value=uuid.uuid4().hex * 2, Type="SecureString")
    table = f"taskapi-test-{uuid.uuid4().hex[:10]}"
    env = {
        "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
        **variables,
        "DJANGO_SECRET_KEY_PARAMETER": parameter,
        "TASKS_TABLE": table,
        # What Lambda itself sets.
        "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_LAMBDA_FUNCTION_NAME": "taskapi-dev",
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        # The emulator stands in for AWS.
        **{key: value for key, value in os.environ.items() if key.startswith("AWS_ENDPOINT_URL")},
    }
    process = LambdaProcess(task_root, runtime_root, env, tmp_path / "lambda.log")
    yield process, table
    process.stop()
    aws.table_delete(table)
    ssm.delete_parameter(Name=parameter)


def body_of(response: dict):
    return json.loads(events.response_body(response))


def test_package_holds_runtime_code_only(package):
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        top = {name.split("/", 1)[0] for name in names}
        pyc = {name: archive.read(name)[4:8] for name in (
            "django/__pycache__/__init__.cpython-311.pyc",
            "rest_framework/__pycache__/views.cpython-311.pyc",
            "taskapi/__pycache__/lambda_function.cpython-311.pyc",
        )}
    assert {"taskapi", "tasks", "ops", "django", "rest_framework", "pynamodb", "apig_wsgi", "whitenoise",
            "corsheaders", "drf_spectacular", "staticfiles", "manage.py"} <= top
    forbidden = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py", "zappa",
                 "werkzeug", "troposphere", "pip", "setuptools", "wheel", "requests", "tests", "bench", "deploy",
                 "moto", "pytest", "_pytest", "hypothesis", "cfnlint", ".venv", ".venv-lambda", "dist", "build",
                 "docs", "Dockerfile", "package.json", "package-lock.json", "node_modules", "README.md", "Makefile"}
    assert top & forbidden == set()
    # Local state never ships: `tests/localstack/ctl.py install` puts a 1 GB LocalStack (its venv and DynamoDB
    # Local) in .localstack/, which once went into the zip (475 MiB) wherever that tier had been installed.
    assert sorted(name for name in top if name.startswith(".")) == []
    assert package.stat().st_size <= 10 * 2**20, f"{package.stat().st_size / 2**20:.2f} MiB zipped (budget 10 MiB)"
    assert not [name for name in names if ".dist-info/" in name or "/tests/" in name or name.endswith(".po")]
    # drf-spectacular imports django.contrib.admindocs, which imports admin's modules.
    assert "django/contrib/admin/options.py" in names
    assert "django/contrib/admindocs/views.py" in names
    assert "staticfiles/rest_framework/css/bootstrap.min.css" in names
    # .pyc flags (PEP 552): libraries unchecked-hash (0b01), project code checked-hash (0b11).
    assert pyc == {
        "django/__pycache__/__init__.cpython-311.pyc": b"\x01\x00\x00\x00",
        "rest_framework/__pycache__/views.cpython-311.pyc": b"\x01\x00\x00\x00",
        "taskapi/__pycache__/lambda_function.cpython-311.pyc": b"\x03\x00\x00\x00",
    }


def test_unzipped_package_serves_the_api_in_a_bare_process(lambda_process, task_root, runtime_root):
    process, table = lambda_process
    seen = process.diagnostics
    assert seen["handler"] == str(task_root / "taskapi" / "lambda_function.py")
    assert seen["django"].startswith(str(task_root))
    assert seen["boto3"].startswith(str(runtime_root))
    assert [path for path in seen["sys_path"] if "site-packages" in path] == []
    assert seen["modules_from_elsewhere"] == []

    # `zappa manage dev create_table`
    created_table = process.invoke({"manage": "create_table"})
    assert created_table["status"] == 0, created_table
    assert created_table["output"].startswith(f"table {table}: create\n")

    assert process.invoke(events.keep_warm()) == {"warm": True}

    base = f"https://{events.REST_API_HOST}/dev"
    response = process.invoke(events.rest_v1("POST", "/tasks", body={"title": "From the package",
                                                                       "priority": "high"}))
    task = body_of(response)
    assert response["statusCode"] == 201, task
    task_id = task["taskId"]
    assert events.response_headers(response)["location"] == f"{base}/tasks/{task_id}"
    assert (task["title"], task["priority"], task["status"], task["version"]) == (
        "From the package", "high", "pending", 1)

    response = process.invoke(events.rest_v1("GET", f"/tasks/{task_id}"))
    assert (response["statusCode"], body_of(response)) == (200, task)

    response = process.invoke(events.http_v2("GET", "/tasks?priority=high", stage="dev"))
    assert response["statusCode"] == 200
    assert body_of(response) == {"results": [task], "next": None}

    response = process.invoke(events.rest_v1("PATCH", f"/tasks/{task_id}", body={"status": "in_progress"},
                                             headers={"If-Match": '"1"'}))
    updated = body_of(response)
    assert (response["statusCode"], events.response_headers(response)["etag"]) == (200, '"2"')
    assert updated == {**task, "status": "in_progress", "version": 2, "updatedAt": updated["updatedAt"]}

    response = process.invoke(events.alb("DELETE", f"/tasks/{task_id}"))
    assert (response["statusCode"], body_of(response)) == (200, {"taskId": task_id, "deleted": True})

    response = process.invoke(events.function_url("GET", f"/tasks/{task_id}"))
    assert response["statusCode"] == 404
    assert events.response_headers(response)["content-type"] == "application/problem+json"

    # Static files come from the package's collected staticfiles/, under the stage prefix.
    response = process.invoke(events.rest_v1("GET", "/tasks", headers={"Accept": "text/html"}))
    assert 'href="/dev/static/rest_framework/css/bootstrap.min.css"' in events.response_body(response).decode()
    response = process.invoke(events.rest_v1("GET", "/static/rest_framework/css/bootstrap.min.css"))
    assert response["statusCode"] == 200
    assert events.response_body(response) == (task_root / "staticfiles/rest_framework/css/bootstrap.min.css"
                                              ).read_bytes()

    response = process.invoke(events.rest_v1("GET", "/openapi.json"))
    assert response["statusCode"] == 200
    assert "/tasks/{taskId}" in body_of(response)["paths"]

    assert process.invoke({"raw_command": "import os"}) == {
        "error": "raw_command invocations are disabled: they would run arbitrary Python in the function."}
    assert process.invoke({"command": "taskapi.lambda_function.status"}) == {
        "command": "taskapi.lambda_function.status",
        "result": {"stage": "dev", "table": table, "table_status": "ACTIVE"}}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_zappa_template_renders_offline_and_passes_cfn_lint(package, stage, tmp_path):
    template = tmp_path / f"{stage}.json"
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_ENDPOINT_URL")}
    done = subprocess.run(
        [str(LAMBDA_VENV / "bin" / "zappa"), "template", stage,
         "-l", f"arn:aws:lambda:us-east-1:123456789012:function:taskapi-{stage}",
         "-r", f"arn:aws:iam::123456789012:role/taskapi-{stage}-ZappaLambdaExecutionRole", "-o", str(template)],
        cwd=ROOT, env={**env, "VIRTUAL_ENV": str(LAMBDA_VENV)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    resources = json.loads(template.read_text())["Resources"]
    api = next(resource for resource in resources.values() if resource["Type"] == "AWS::ApiGateway::RestApi")
    assert api["Properties"]["Name"] == f"taskapi-{stage}"
    if stage == "prod":
        assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    methods = [resource for resource in resources.values() if resource["Type"] == "AWS::ApiGateway::Method"]
    # Zappa's cors option is off: no OPTIONS mock integration answers preflights instead of the app.
    assert {method["Properties"]["HttpMethod"] for method in methods} == {"ANY"}
    assert all(method["Properties"]["Integration"]["Type"] == "AWS_PROXY" for method in methods)

    lint = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(template)],
                          capture_output=True, text=True)
    assert (lint.returncode, lint.stdout) == (0, ""), lint.stderr
    assert re.search(r"taskapi-" + stage, template.read_text())
    # Zappa 0.63's `template` command leaves out the WebSocket API that deploy adds (it does not pass websocket=):
    # deploy/stack_template.py renders the whole stack (below). When this fails, Zappa renders it itself.
    assert not [name for name, resource in resources.items() if resource["Type"].startswith("AWS::ApiGatewayV2::")]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_stack_zappa_deploys_holds_the_websocket_api_and_passes_cfn_lint(stage, tmp_path):
    """deploy/stack_template.py: the template `zappa deploy` builds (issue 14), WebSocket API included, offline."""
    template = tmp_path / f"{stage}-stack.json"
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_ENDPOINT_URL")}
    function = f"arn:aws:lambda:us-east-1:123456789012:function:taskapi-{stage}"
    done = subprocess.run(
        [str(LAMBDA_VENV / "bin" / "python"), "deploy/stack_template.py", stage, "-l", function,
         "-r", f"arn:aws:iam::123456789012:role/taskapi-{stage}-ZappaLambdaExecutionRole", "-o", str(template)],
        cwd=ROOT, env={**env, "VIRTUAL_ENV": str(LAMBDA_VENV)}, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    resources = json.loads(template.read_text())["Resources"]
    [api] = [resource["Properties"] for resource in resources.values() if resource["Type"] == "AWS::ApiGatewayV2::Api"]
    assert (api["Name"], api["ProtocolType"], api["RouteSelectionExpression"]) == (
        f"taskapi-{stage}-ws", "WEBSOCKET", "$request.body.action")
    [integration] = [resource["Properties"] for resource in resources.values()
                     if resource["Type"] == "AWS::ApiGatewayV2::Integration"]
    assert integration["IntegrationType"] == "AWS_PROXY" and function in json.dumps(integration["IntegrationUri"])
    routes = {resource["Properties"]["RouteKey"] for resource in resources.values()
              if resource["Type"] == "AWS::ApiGatewayV2::Route"}
    assert routes == {"$connect", "$disconnect", "$default"}
    [ws_stage] = [resource["Properties"] for resource in resources.values()
                  if resource["Type"] == "AWS::ApiGatewayV2::Stage"]
    assert (ws_stage["StageName"], ws_stage["AutoDeploy"]) == (stage, True)
    # The REST API beside it, as `zappa template` renders it.
    assert [resource["Properties"]["Name"] for resource in resources.values()
            if resource["Type"] == "AWS::ApiGateway::RestApi"] == [f"taskapi-{stage}"]
    lint = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(template)],
                          capture_output=True, text=True, check=False)
    assert (lint.returncode, lint.stdout) == (0, ""), lint.stderr
