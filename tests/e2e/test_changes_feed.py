"""The changes feed on every tier: writes over HTTP to the live server, the real `manage.py stream_poller`
reading this engine's stream into the real Lambda handler, and /tasks/changes read back over HTTP."""
import os
import subprocess
import sys
import tempfile
import threading

import pytest
import requests

from ops import aws
from ops.streams import _lambda_record
from taskapi.lambda_function import handler
from tests import harness

pytestmark = pytest.mark.e2e

FEED_TIMEOUT = 30  # seconds for every change to reach the feed; engines show stream records after a delay


@pytest.fixture(scope="module")
def poller():
    """`manage.py stream_poller --start latest` on this tier's endpoints (AWS_ENDPOINT_URL*, as the server
    has), up once it prints that it is positioned: every write from then on reaches the handler."""
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "stream_poller", "--start", "latest", "--interval", "0.2", "--skip-checks"],
        cwd=harness.ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def output() -> str:
        log.seek(0)
        return log.read()

    try:
        harness.wait_until(lambda: "stream poller: polling" in output() or process.poll() is not None,
                           timeout=60, what="stream poller", interval=0.1)
        assert process.poll() is None, output()
        yield output
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _feed(server, since: str, *, limit: int) -> tuple[list[dict], str]:
    """Reads the feed from `since` to its current end, `limit` a page; returns the changes and the last token."""
    changes = []
    while True:
        response = requests.get(f"{server.url}/tasks/changes", params={"since": since, "limit": limit}, timeout=30)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"changes", "since", "more"}
        changes += body["changes"]
        since = body["since"]
        if not body["more"]:
            return changes, since


def _until_complete(server, since: str, expected: set, *, limit: int = 100) -> list[dict]:
    """Polls the feed from `since` until it holds every (change, taskId, version) of `expected`; returns ours."""
    ours = {task_id for _, task_id, _ in expected}

    def complete():
        changes = [c for c in _feed(server, since, limit=limit)[0] if c["taskId"] in ours]
        return changes if {(c["change"], c["taskId"], c["version"]) for c in changes} >= expected else None

    return harness.wait_until(complete, timeout=FEED_TIMEOUT, what="every change in the feed", interval=0.2)


def _ok(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def test_the_feed_delivers_every_committed_change_once_in_version_order(api_server, poller):
    url = api_server.url
    since = _ok(requests.get(f"{url}/tasks/changes", timeout=30), 200)["since"]
    committed = set()
    kept, hot, gone = (_ok(requests.post(f"{url}/tasks", json={"title": t}, timeout=30), 201) for t in "khg")
    committed |= {("created", task["taskId"], 1) for task in (kept, hot, gone)}
    committed.add(("updated", kept["taskId"], _ok(requests.patch(
        f"{url}/tasks/{kept['taskId']}", json={"status": "completed"}, timeout=30), 200)["version"]))
    _ok(requests.delete(f"{url}/tasks/{gone['taskId']}", timeout=30), 200)
    committed.add(("deleted", gone["taskId"], 1))

    # Two writers on one task at once, each PATCH unconditional: every 200 is a committed version.
    def writer(name: str, versions: list) -> None:
        for step in range(3):
            response = requests.patch(f"{url}/tasks/{hot['taskId']}", json={"title": f"{name}{step}"}, timeout=30)
            if response.status_code == 200:
                versions.append(response.json()["version"])

    results = {"a": [], "b": []}
    threads = [threading.Thread(target=writer, args=(name, results[name])) for name in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    versions = results["a"] + results["b"]
    assert len(versions) == len(set(versions)), versions  # no two writers committed the same version
    committed |= {("updated", hot["taskId"], version) for version in versions}

    changes = _until_complete(api_server, since, committed, limit=3)
    keys = [(c["change"], c["taskId"], c["version"]) for c in changes]
    assert sorted(keys) == sorted(committed), poller()  # each once, no phantom
    for task in (kept, hot, gone):
        mine = [c["version"] for c in changes if c["taskId"] == task["taskId"]]
        assert mine == sorted(mine), (task["taskId"], mine)  # per task in version order
    (tombstone,) = [c for c in changes if c["change"] == "deleted"]
    assert tombstone["task"] is None
    latest = {c["taskId"]: c["task"] for c in changes}
    for task in (kept, hot):
        assert latest[task["taskId"]] == _ok(requests.get(f"{url}/tasks/{task['taskId']}", timeout=30), 200)
    assert _ok(requests.get(f"{url}/tasks/{gone['taskId']}", timeout=30), 404)["status"] == 404


def test_tokens_resume_where_they_were_given(api_server, poller):
    url = api_server.url
    since = _ok(requests.get(f"{url}/tasks/changes", timeout=30), 200)["since"]
    task = _ok(requests.post(f"{url}/tasks", json={"title": "resume"}, timeout=30), 201)
    for title in ("r2", "r3"):
        _ok(requests.patch(f"{url}/tasks/{task['taskId']}", json={"title": title}, timeout=30), 200)
    expected = {("created", task["taskId"], 1), ("updated", task["taskId"], 2), ("updated", task["taskId"], 3)}
    _until_complete(api_server, since, expected)

    first = _ok(requests.get(f"{url}/tasks/changes", params={"since": since, "limit": 1}, timeout=30), 200)
    rest, end = _feed(api_server, first["since"], limit=100)
    again, _ = _feed(api_server, first["since"], limit=100)  # a token can be used again: same answer
    assert first["changes"] + rest == _feed(api_server, since, limit=100)[0]
    assert again == rest
    assert _feed(api_server, end, limit=100)[0] == []  # nothing after the last token yet

    _ok(requests.delete(f"{url}/tasks/{task['taskId']}", timeout=30), 200)
    tail = _until_complete(api_server, end, {("deleted", task["taskId"], 3)})
    assert [(c["change"], c["version"], c["task"]) for c in tail] == [("deleted", 3, None)]


def test_real_records_of_this_engines_stream_redelivered_change_nothing(api_server, poller):
    url = api_server.url
    since = _ok(requests.get(f"{url}/tasks/changes", timeout=30), 200)["since"]
    task = _ok(requests.post(f"{url}/tasks", json={"title": "redeliver"}, timeout=30), 201)
    _ok(requests.patch(f"{url}/tasks/{task['taskId']}", json={"status": "completed"}, timeout=30), 200)
    expected = {("created", task["taskId"], 1), ("updated", task["taskId"], 2)}
    before = _until_complete(api_server, since, expected)

    arn = aws.table_describe(os.environ["TASKS_TABLE"])["LatestStreamArn"]
    records = []
    for shard in aws.stream_shards(arn):
        iterator = aws.shard_iterator(arn, shard["ShardId"], after=None)
        while iterator:
            page, iterator = aws.stream_records(iterator, limit=1000)
            if not page:
                break
            records += [_lambda_record(r, arn=arn) for r in page
                        if r["dynamodb"]["Keys"]["taskId"]["S"] == task["taskId"]]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY"]
    assert all(r["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES" for r in records)
    # Lambda redelivers a batch after a timeout: the same records, through the same handler, twice.
    assert handler({"Records": records}, None) == {"batchItemFailures": []}
    assert handler({"Records": records[::-1]}, None) == {"batchItemFailures": []}
    after = [c for c in _feed(api_server, since, limit=100)[0] if c["taskId"] == task["taskId"]]
    assert after == before
