"""One cold start, run as a fresh process: import a handler module, serve one event, print the timings.

Usage: python -B cold_child.py CODE_DIR MODULE:FUNCTION EVENT_JSON. Like Lambda's /var/task, CODE_DIR
comes first on sys.path, this directory (the runtime's, for the context object) next; the runtime's
boto3/botocore come from this interpreter's site-packages.
"""
import time

STARTED = time.perf_counter()

import importlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402


def main() -> None:
    code_dir, target, event_path = sys.argv[1:4]
    sys.path.insert(0, code_dir)
    with open(event_path) as file:
        event = json.load(file)
    from lambda_runtime import LambdaContext
    module_name, function_name = target.split(":")
    before_import = time.perf_counter()
    handler = getattr(importlib.import_module(module_name), function_name)
    imported = time.perf_counter()
    response = handler(event, LambdaContext())
    served = time.perf_counter()
    result = {
        "status": response.get("statusCode"),
        "init_ms": (imported - before_import) * 1000,
        "first_invoke_ms": (served - imported) * 1000,
        "in_process_ms": (served - STARTED) * 1000,
    }
    sys.stdout.write("BENCH_RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


main()
