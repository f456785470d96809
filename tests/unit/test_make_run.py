"""`make run` as a developer meets it: with one of its ports taken (or two the same), it stops, serving nothing."""
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
        assert (f"make run: port {emulator_port} (EMULATOR_PORT) is already in use (another make run, emulator or "
                f"LocalStack?); nothing started. Use another, e.g. make run EMULATOR_PORT={emulator_port + 10}\n"
                ) in result.stderr
        assert "Starting development server" not in result.stdout + result.stderr
        assert not _listening(api_port)
        assert dynamodb.list_tables()["TableNames"] == tables_before  # no table created in the other emulator
    finally:
        other.stop()


def _make_run(**ports: int) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("AWS_ENDPOINT_URL", "TASKS_TABLE", "IDEMPOTENCY_TABLE", "MAKE"))}
    return subprocess.run(["make", "--no-print-directory", "run", *(f"{k}={v}" for k, v in ports.items())],
                          cwd=harness.ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_make_run_with_its_websocket_port_taken_exits_non_zero_and_serves_nothing():
    # A second gateway there would leave this run's pushes and live notices wired to the other run's sockets.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ws_port = taken.getsockname()[1]
        api_port, emulator_port = harness.free_port(), harness.free_port()

        result = _make_run(PORT=api_port, EMULATOR_PORT=emulator_port, WS_PORT=ws_port)

        assert result.returncode != 0
        assert (f"make run: port {ws_port} (WS_PORT) is already in use (another make run, emulator or LocalStack?); "
                f"nothing started. Use another, e.g. make run WS_PORT={ws_port + 10}\n") in result.stderr
        assert not _listening(api_port) and not _listening(emulator_port)


def test_make_run_with_two_ports_the_same_exits_non_zero_and_serves_nothing():
    port, emulator_port = harness.free_port(), harness.free_port()

    result = _make_run(PORT=port, EMULATOR_PORT=emulator_port, WS_PORT=port)

    assert result.returncode != 0
    assert (f"make run: PORT ({port}), WS_PORT ({port}) and EMULATOR_PORT ({emulator_port}) must differ; "
            "nothing started\n") in result.stderr
    assert not _listening(port) and not _listening(emulator_port)


def test_the_emulator_starts_on_a_port_a_stopped_run_left_in_time_wait():
    # A stopped make run leaves its port in TIME_WAIT for about 60 s; it is free to a server, as werkzeug binds.
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the emulator's own server binds
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the server side closes first, so its end (on `port`) waits in TIME_WAIT
        client.close()
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))  # the precondition: a bind without SO_REUSEADDR is refused
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_ENDPOINT_URL")}
    with subprocess.Popen([str(harness.ROOT / ".venv" / "bin" / "python"), "manage.py", "emulator", "--port", str(port)],
                          cwd=harness.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as emulator:
        try:
            line = emulator.stdout.readline()
            assert line.startswith(f"AWS emulator on http://127.0.0.1:{port} "), emulator.communicate(timeout=10)[1]
        finally:
            emulator.terminate()
            emulator.wait(10)
