"""One cold start, run as a fresh process: import a handler module, serve one event, print the timings.

Usage: python -I -S -B cold_child.py CODE_DIR PATH MODULE:FUNCTION EVENT_JSON [WARM]. Like Lambda's /var/task,
CODE_DIR comes first on sys.path, then PATH (os.pathsep-separated: libraries, the runtime's SDK), then
this directory, for the context object the runtime passes. With WARM, the same process then serves the
event WARM more times and reports each one's wall time (issue 19's warm measure).
"""
import time

STARTED = time.perf_counter()

import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402


def main() -> None:
    code_dir, path, target, event_path = sys.argv[1:5]
    warm_count = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    sys.path[:0] = [code_dir, *path.split(os.pathsep), os.path.dirname(os.path.abspath(__file__))]
    with open(event_path) as file:
        event = json.load(file)
    from lambda_runtime import LambdaContext
    module_name, function_name = target.split(":")
    before_import = time.perf_counter()
    handler = getattr(importlib.import_module(module_name), function_name)
    imported = time.perf_counter()
    response = handler(event, LambdaContext())
    served = time.perf_counter()
    warm_ms = []
    for _ in range(warm_count):
        before = time.perf_counter()
        status = handler(event, LambdaContext()).get("statusCode")
        warm_ms.append((time.perf_counter() - before) * 1000)
        if status != response.get("statusCode"):
            raise RuntimeError(f"a warm event answered {status}")
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "status": response.get("statusCode"),
        "init_ms": (imported - before_import) * 1000,
        "first_invoke_ms": (served - imported) * 1000,
        "in_process_ms": (served - STARTED) * 1000,
        # CPU of the whole process, interpreter start-up included: steadier than wall time on a busy machine.
        "cpu_ms": (usage.ru_utime + usage.ru_stime) * 1000,
        "warm_ms": warm_ms,
    }
    sys.stdout.write("BENCH_RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


main()
