"""GET /tasks/changes end to end in-process: writes through the API, the emulator's real stream read by
the local poller into the real Lambda handler, then the feed read page by page."""
import random
import threading

import pytest
from django.core import signing
from rest_framework.test import APIClient

from ops.streams import StreamPoller
from taskapi.lambda_function import handler
from tests import harness


@pytest.fixture
def client() -> APIClient:
    return APIClient()


@pytest.fixture
def poller(table) -> StreamPoller:
    """Starts at the stream's current end, so earlier tests' writes do not count."""
    poller = StreamPoller(table=table, handler=lambda event, context: {"batchItemFailures": []})
    poller.poll()
    poller.handler = handler
    return poller


def _feed(client: APIClient, since: str, limit: int) -> tuple[list[dict], str]:
    changes = []
    while True:
        page = client.get("/tasks/changes", {"since": since, "limit": limit})
        assert page.status_code == 200, page.content
        body = page.json()
        changes += body["changes"]
        since = body["since"]
        if not body["more"]:
            return changes, since


def _drain(poller: StreamPoller, client: APIClient, since: str, done: list) -> None:
    """Polls the stream until the feed holds every change of `done` (streams show records after a delay)."""
    ours = {task_id for _, task_id, _ in done}

    def complete() -> bool:
        poller.poll()
        return len([c for c in _feed(client, since, 100)[0] if c["taskId"] in ours]) >= len(done)

    harness.wait_until(complete, timeout=30, what="every change consumed")


def _writes(client: APIClient) -> list[tuple[str, str, int]]:
    """Creates three tasks, updates two, deletes one; returns (change, taskId, version) in commit order."""
    done = []
    ids = []
    for title in ("a", "b", "c"):
        task = client.post("/tasks", {"title": title}, format="json").json()
        ids.append(task["taskId"])
        done.append(("created", task["taskId"], 1))
    for version in (2, 3):
        client.patch(f"/tasks/{ids[0]}", {"title": f"a{version}"}, format="json")
        done.append(("updated", ids[0], version))
    client.patch(f"/tasks/{ids[1]}", {"status": "completed"}, format="json")
    done.append(("updated", ids[1], 2))
    client.delete(f"/tasks/{ids[2]}")
    done.append(("deleted", ids[2], 1))
    return done


def test_without_since_the_feed_answers_a_token_for_now(client, table):
    response = client.get("/tasks/changes")
    assert response.status_code == 200
    body = response.json()
    assert body["changes"] == [] and body["more"] is False and isinstance(body["since"], str)


@pytest.mark.parametrize("limit", [1, 7, 100])
def test_every_change_once_in_order_with_tombstones(client, poller, limit):
    since = client.get("/tasks/changes").json()["since"]
    done = _writes(client)
    assert client.get("/tasks/changes", {"since": since}).json()["changes"] == []  # nothing consumed yet
    _drain(poller, client, since, done)
    changes, _ = _feed(client, since, limit)
    assert [(c["change"], c["taskId"], c["version"]) for c in changes] == done
    tasks = {t["taskId"]: t for t in client.get("/tasks").json()["results"]}
    for change in changes:
        if change["change"] == "deleted":
            assert change["task"] is None and change["taskId"] not in tasks
        assert change["at"].endswith("Z") and len(change["at"]) == 24
    last = {c["taskId"]: c for c in changes}
    assert {i: c["task"] for i, c in last.items() if c["task"]} == tasks


def test_replayed_batches_make_no_second_change(client, poller):
    since = client.get("/tasks/changes").json()["since"]
    done = _writes(client)
    _drain(poller, client, since, done)
    ours = {task_id for _, task_id, _ in done}
    replayed = []

    def ours_only(event, context):
        # The session table's stream holds every earlier test's writes too; replaying all of them through the
        # handler makes this test's cost grow with the suite. The real handler gets this test's records again.
        records = [r for r in event["Records"] if r["dynamodb"]["Keys"]["taskId"]["S"] in ours]
        replayed.extend(records)
        return handler({**event, "Records": records}, context) if records else {"batchItemFailures": []}

    replay = StreamPoller(table=poller.table, handler=ours_only)
    replay.poll()  # every record of the stream again, from its oldest
    assert len(replayed) >= len(done)  # the replay really handed this test's records over again
    changes, _ = _feed(client, since, 100)
    seen = [(c["change"], c["taskId"], c["version"]) for c in changes]
    assert len(seen) == len(set(seen))  # earlier tests' deletes may appear (never consumed before), once each
    assert [change for change in seen if change[1] in ours] == done


def test_a_consumer_killed_mid_batch_resumes_without_skipping(client, poller):
    since = client.get("/tasks/changes").json()["since"]
    done = _writes(client)
    calls = {"n": 0}

    def flaky(event, context):  # dies after recording part of the batch, as a timed-out Lambda would
        calls["n"] += 1
        if calls["n"] <= 2:
            from tasks import feed

            cut = random.randint(1, len(event["Records"]))
            feed.stream_batch(event["Records"][:cut])
            raise RuntimeError("killed")
        return handler(event, context)

    poller.handler = lambda event, context: _swallow(flaky, event)
    _drain(poller, client, since, done)
    changes, _ = _feed(client, since, 7)
    assert [(c["change"], c["taskId"], c["version"]) for c in changes] == done


def _swallow(function, event):
    """A crashed invocation: Lambda retries the whole batch, here reported as its first record failing."""
    try:
        return function(event, None)
    except RuntimeError:
        return {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["dynamodb"]["SequenceNumber"]}]}


def test_concurrent_writers_and_consumers_lose_nothing(client, poller):
    since = client.get("/tasks/changes").json()["since"]
    ids = [client.post("/tasks", {"title": f"t{i}"}, format="json").json()["taskId"] for i in range(4)]

    def writer(task_id):
        local = APIClient()
        for step in range(3):
            local.patch(f"/tasks/{task_id}", {"title": f"s{step}"}, format="json")

    threads = [threading.Thread(target=writer, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    # Two consumers race on the same records (as shards of one owner would on its counter).
    other = StreamPoller(table=poller.table, handler=handler)
    other.positions = dict(poller.positions)
    while any(thread.is_alive() for thread in threads):
        poller.poll()
        other.poll()
    for thread in threads:
        thread.join()
    _drain(poller, client, since, [(None, i, v) for i in ids for v in (1, 2, 3, 4)])
    other.poll()  # the second consumer sees the same records again: nothing new
    changes, _ = _feed(client, since, 5)
    keys = [(c["taskId"], c["version"]) for c in changes]
    assert sorted(keys) == sorted([(i, v) for i in ids for v in (1, 2, 3, 4)])  # each once, none phantom
    for task_id in ids:
        assert [v for t, v in keys if t == task_id] == [1, 2, 3, 4]


def test_tampered_token_is_400(client):
    token = client.get("/tasks/changes").json()["since"]
    response = client.get("/tasks/changes", {"since": token[:-2] + ("A" if token[-1] != "A" else "B") + "x"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == "Invalid feed token"


def test_token_older_than_retention_is_410(client):
    from django.test import override_settings

    token = client.get("/tasks/changes").json()["since"]
    with override_settings(CHANGES_RETENTION_SECONDS=-1):  # as if the token were older than retention
        response = client.get("/tasks/changes", {"since": token})
    assert response.status_code == 410
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == "Feed token expired"


def test_another_callers_token_is_400(client):
    from tasks.feed import TOKEN_SALT

    foreign = signing.dumps({"o": "cognito:someone-else", "s": 0}, salt=TOKEN_SALT, compress=True)
    response = client.get("/tasks/changes", {"since": foreign})
    assert response.status_code == 400


@pytest.mark.parametrize("limit", ["0", "101", "x"])
def test_limit_out_of_range_is_400(client, limit):
    since = client.get("/tasks/changes").json()["since"]
    response = client.get("/tasks/changes", {"since": since, "limit": limit})
    assert response.status_code == 400
    assert "limit" in response.json()["errors"]
