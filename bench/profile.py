"""`python -m bench.profile`: where a cold start's time goes, app against baseline (the profile behind the budgets).

Bundles the code as `make bench` does, then runs one cold start of each handler under `-X importtime`
and prints the packages only the app imports, by self time; then one app cold start under pyinstrument
(imported from the venv, after the bundle on sys.path, so the app's modules still come from the bundle).
"""
import argparse
import collections
import io
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import uuid
from pathlib import Path

from bench import coldstart, dynamo
from bench.events import rest_v1
from bench.lambda_runtime import lambda_environment
from tests.harness import DynamoDBLocal

# Runs cold_child.py under pyinstrument, inside the same -I -S -B process shape as a measured cold start.
_PROFILED = """
import runpy, sys
sys.path.append(sys.argv.pop())
from pyinstrument import Profiler
sys.path.pop()
sys.argv = sys.argv[1:]  # as if cold_child.py had been run as the script
profiler = Profiler(interval=0.0005)
profiler.start()
runpy.run_path(sys.argv[0], run_name="__main__")
profiler.stop()
print(profiler.output_text(show_all=False, time="seconds"), file=sys.stderr)
"""


def _self_times(stderr: str) -> dict[str, int]:
    """Returns module -> self import time in µs from -X importtime output."""
    times = {}
    for line in stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            own, _, name = line.removeprefix("import time:").split("|")
            times[name.strip()] = int(own)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--top", type=int, default=20, help="how many packages to list")
    args = parser.parse_args(argv)
    database = DynamoDBLocal()
    workdir = Path(tempfile.mkdtemp(prefix="taskapi-profile-"))
    code_dir = workdir / "task"
    try:
        table = f"taskapi-bench-{uuid.uuid4().hex[:10]}"
        os.environ.pop("AWS_ENDPOINT_URL", None)
        os.environ.update(lambda_environment(table=table, dynamodb_url=database.url))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskapi.settings")
        import django
        from django.core.management import call_command

        django.setup()
        call_command("create_table", stdout=io.StringIO())
        dynamo.seed(table=table, start=0, stop=30)
        task_id = dynamo.raw_client().scan(TableName=table, Limit=1)["Items"][0]["taskId"]["S"]
        path, origin = coldstart.code_bundle(code_dir)
        event_file = workdir / "event.json"
        event_file.write_text(json.dumps(rest_v1("GET", f"/tasks/{task_id}")))
        env = {**lambda_environment(table=table, dynamodb_url=database.url, code_dir=str(code_dir)),
               "PATH": "/usr/bin:/bin"}
        child = [str(coldstart.BENCH / "cold_child.py"), str(code_dir), os.pathsep.join(map(str, path))]

        def run(*options: str, handler: str, extra: list[str] = ()) -> str:
            done = subprocess.run([sys.executable, "-I", "-S", "-B", *options, *child, handler, str(event_file),
                                   *extra], env=env, cwd=code_dir, capture_output=True, text=True, check=True)
            return done.stderr

        app = _self_times(run("-X", "importtime", handler=coldstart.APP_HANDLER))
        base = _self_times(run("-X", "importtime", handler=coldstart.BASELINE_HANDLER))
        only = collections.Counter()
        for module in set(app) - set(base):
            only[module.split(".")[0]] += app[module]
        print(f"Code: {origin}")
        print(f"Import self time (-X importtime, µs summed): app {sum(app.values()) / 1000:.0f} ms, "
              f"baseline {sum(base.values()) / 1000:.0f} ms, modules only the app imports "
              f"{sum(only.values()) / 1000:.0f} ms:")
        for package, micros in only.most_common(args.top):
            print(f"  {package:32} {micros / 1000:7.1f} ms")
        print("\nOne app cold start under pyinstrument (wall time):")
        print(run("-c", _PROFILED, handler=coldstart.APP_HANDLER,
                  extra=[sysconfig.get_paths()["purelib"]]).split("\n", 1)[-1])
    finally:
        database.stop()
        coldstart.make_writable(code_dir)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
