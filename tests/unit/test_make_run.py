"""`make run` as a developer meets it: with its emulator port taken by another emulator, it stops, serving nothing."""
import os
import shutil
import socket
import subprocess

import boto3
import pytest

from tests import harness

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_make_run_with_its_emulator_port_taken_exits_non_zero_and_touches_nothing():
    other = harness.Emulator()  # someone else's emulator, already on the port
    try:
        emulator_port = int(other.url.rsplit(":", 1)[1])
        dynamodb = boto3.client("dynamodb", endpoint_url=other.url, region_name="us-east-1",
                                aws_access_key_id="local", aws_secret_access_key="local")
        tables_before = dynamodb.list_tables()["TableNames"]
        api_port = harness.free_port()
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(("AWS_ENDPOINT_URL", "TASKS_TABLE", "IDEMPOTENCY_TABLE", "MAKE"))}

        result = subprocess.run(["make", "--no-print-directory", "run", f"PORT={api_port}",
                                 f"EMULATOR_PORT={emulator_port}"],
                                cwd=harness.ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)

        assert result.returncode != 0
        assert (f"make run: port {emulator_port} is already in use (another emulator?); nothing started. "
                "Use another, e.g. make run EMULATOR_PORT=4567") in result.stderr
        assert "Starting development server" not in result.stdout + result.stderr
        assert not _listening(api_port)
        assert dynamodb.list_tables()["TableNames"] == tables_before  # no table created in the other emulator
    finally:
        other.stop()
