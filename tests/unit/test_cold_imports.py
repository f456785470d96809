"""What a Lambda cold start leaves unloaded until a request needs it (issue 19): DRF's optional imports, the
changes feed's and batches' views, drf-spectacular, WhiteNoise's file index; and that each still loads when needed."""
import json
import os
import subprocess
import sys

from tests.harness import ROOT

PROBE = """
import json, sys
import taskapi.lambda_function
from django.urls import resolve, reverse
from taskapi.static import StaticFilesMiddleware

reverse("task-detail", kwargs={"taskId": "0b4c2a52-3c67-4f7e-9d8e-3f2b1f0a9c11"})
resolve("/tasks/0b4c2a52-3c67-4f7e-9d8e-3f2b1f0a9c11")
from django.test import RequestFactory

whitenoise = StaticFilesMiddleware(lambda request: "passed on")
static = [len(whitenoise.files), whitenoise(RequestFactory().get("/tasks")), len(whitenoise.files)]
response = whitenoise(RequestFactory().get("/static/rest_framework/css/bootstrap.min.css"))
response.close()
static += [response.status_code, len(whitenoise.files) > 0]
loaded = {name: name in sys.modules
          for name in ("yaml", "uritemplate", "tasks.feed_views", "tasks.batch_views", "drf_spectacular.utils")}
import rest_framework.compat
import yaml
print(json.dumps({"loaded": loaded, "compat_yaml": rest_framework.compat.yaml is None, "static": static}))
"""


def test_a_cold_start_leaves_drf_optional_imports_and_the_feed_and_batch_views_unloaded():
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=os.environ, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loaded"] == {"yaml": False, "uritemplate": False, "tasks.feed_views": False,
                                "tasks.batch_views": False, "drf_spectacular.utils": False}
    assert result["compat_yaml"] is True  # DRF saw no PyYAML; drf-spectacular imports it itself, as `import yaml` did
    # WhiteNoise indexes nothing until the first request under STATIC_URL, then serves it.
    assert result["static"] == [0, "passed on", 0, 200, True]


def test_concurrent_first_static_requests_all_wait_for_the_whole_index():
    from concurrent.futures import ThreadPoolExecutor

    from django.test import RequestFactory

    from taskapi.static import StaticFilesMiddleware

    whitenoise = StaticFilesMiddleware(lambda request: "passed on")
    paths = ["/static/rest_framework/css/bootstrap.min.css", "/static/rest_framework/css/bootstrap-tweaks.css",
             "/static/rest_framework/js/jquery-3.7.1.min.js", "/static/rest_framework/css/default.css"] * 4

    def status(path: str):
        answer = whitenoise(RequestFactory().get(path))
        if hasattr(answer, "close"):
            answer.close()  # the file it streams
        return getattr(answer, "status_code", answer)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(status, paths)) == [200] * len(paths)
