"""Benchmark: the Lambda package's size against its budget, and cold-start time with and without shipped .pyc.

Run `make bench-package` (builds dist/taskapi-dev.zip first). Prints tables; asserts nothing.
Cold start = a fresh `python -I -S -B` process importing taskapi.lambda_function from the unzipped package
(bytecode writing off, as on Lambda's read-only code) and serving a first request, with the runtime's SDK beside it.
"""
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

from bench.coldstart import runtime_bundle

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "dist" / "taskapi-dev.zip"
BUDGET_MIB = 10
RUNS = 7
# Import the handler, then serve the first request (GET /dev/openapi.json: URLconf, DRF and the schema load).
COLD_START = """
import sys, os
sys.path[:0] = [sys.argv[1], sys.argv[2]]
os.chdir(sys.argv[1])
from taskapi.lambda_function import handler
host = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
event = {"httpMethod": "GET", "path": "/openapi.json", "headers": {"Host": host, "X-Forwarded-Proto": "https"},
         "requestContext": {"path": "/dev/openapi.json", "stage": "dev"}, "body": None, "isBase64Encoded": False}
assert handler(event, None)["statusCode"] == 200
"""


def cold_imports(task_root: Path, runtime: Path) -> list[float]:
    env = {"STAGE": "dev", "DJANGO_SECRET_KEY": "bench-" + "k" * 44, "AWS_REGION": "us-east-1",
           "PATH": "/usr/bin:/bin"}
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-S", "-B", "-c", COLD_START, str(task_root), str(runtime)],
                       env=env, check=True, cwd=task_root, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    with zipfile.ZipFile(PACKAGE) as archive:
        infos = archive.infolist()
        by_top = Counter()
        for info in infos:
            by_top[info.filename.split("/", 1)[0]] += info.compress_size
        with tempfile.TemporaryDirectory() as temp:
            shipped = Path(temp, "with-pyc")
            archive.extractall(shipped)
            stripped = Path(temp, "without-pyc")
            shutil.copytree(shipped, stripped)
            for cache in stripped.rglob("__pycache__"):
                shutil.rmtree(cache)
            runtime = runtime_bundle(Path(temp, "runtime"))
            with_pyc = cold_imports(shipped, runtime)
            without_pyc = cold_imports(stripped, runtime)

    zipped = PACKAGE.stat().st_size / 2**20
    unzipped = sum(info.file_size for info in infos) / 2**20
    print(f"\n{'package':<28}{'value':>12}")
    print(f"{'zipped (MiB)':<28}{zipped:>12.2f}")
    print(f"{'budget (MiB)':<28}{BUDGET_MIB:>12}")
    print(f"{'unzipped (MiB)':<28}{unzipped:>12.2f}")
    print(f"{'files':<28}{len(infos):>12}")
    print(f"\n{'largest top-level entries':<28}{'MiB zipped':>12}")
    for name, size in by_top.most_common(8):
        print(f"{name:<28}{size / 2**20:>12.2f}")
    median_with, median_without = statistics.median(with_pyc), statistics.median(without_pyc)
    print(f"\n{'cold start (' + str(RUNS) + ' runs)':<28}{'median s':>12}{'min s':>10}")
    print(f"{'shipped unchecked .pyc':<28}{median_with:>12.3f}{min(with_pyc):>10.3f}")
    print(f"{'no .pyc (recompiles)':<28}{median_without:>12.3f}{min(without_pyc):>10.3f}")
    print(f"{'ratio':<28}{median_without / median_with:>12.1f}x")


if __name__ == "__main__":
    main()
