"""Issue 18: a sharded list page sends its streams' first Queries concurrently and retries a stream whose
read fails transiently past botocore's retries, for that stream only.

Faults are injected at botocore's `before-send` hook (the HTTP boundary): the emulator cannot fail one
Query on demand, and everything above the wire (botocore's retries, PynamoDB's errors, the repository's
per-stream tries, the problem documents) runs for real. tests/e2e/test_faults.py does the same over HTTP.
"""
import io
import json
import threading
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.awsrequest import AWSResponse
from django.conf import settings
from urllib3.response import HTTPResponse

from tasks import repository, shards
from tasks.domain import Task
from tasks.models import TaskModel
from tests.problems import problem

ATTEMPTS = 1 + settings.DYNAMODB_MAX_RETRY_ATTEMPTS  # botocore's tries of one call
UNAVAILABLE = problem(503, "Service Unavailable",
                      "The task store is unavailable or did not answer in time; try again after Retry-After "
                      "(send an Idempotency-Key with POST to retry creates safely).")


class QueryFaults:
    """Answers chosen Queries with a DynamoDB error before they leave botocore; counts every Query by key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: dict[str, int] = {}  # list-shard-index key -> Queries sent (faulted ones included)
        self.failures: dict[str, tuple[int, int, int, str]] = {}  # key -> (passed first, failed, status, code)
        self.in_flight = self.most_in_flight = 0
        self.hold_seconds = 0.0

    def fail(self, key: str, times: int, *, after: int = 0, status: int = 500, code: str = "InternalServerError"):
        """The Queries of `key` after its next `after` ones fail `times` times, with `status` and `code`."""
        self.failures[key] = (after, times, status, code)

    def __call__(self, request, **kwargs):
        values = json.loads(request.body).get("ExpressionAttributeValues", {})
        key = next((value["S"] for value in values.values() if "S" in value and value["S"].count("#") == 2), None)
        with self._lock:
            self.sent[key] = self.sent.get(key, 0) + 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            after, times, status, code = self.failures.get(key, (0, 0, 0, ""))
            failing = after == 0 and times > 0
            if key in self.failures:
                self.failures[key] = (after - 1, times, status, code) if after else (0, times - failing, status, code)
        time.sleep(self.hold_seconds)
        with self._lock:
            self.in_flight -= 1
        if not failing:
            return None  # sent to the emulator as it is
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"}).encode()
        raw = HTTPResponse(body=io.BytesIO(body), status=status, preload_content=False)
        return AWSResponse(request.url, status, {"Content-Type": "application/x-amz-json-1.0"}, raw)


@pytest.fixture
def faults():
    events = TaskModel._get_connection().connection.client.meta.events
    injector = QueryFaults()
    events.register("before-send.dynamodb.Query", injector)
    yield injector
    events.unregister("before-send.dynamodb.Query", injector)


@pytest.fixture
def tasks_40(table) -> list[dict]:
    """40 pending tasks, newest first as the API lists them."""
    tasks = []
    for i in range(40):
        at = f"2026-12-02T10:00:{i:02d}.000Z"
        tasks.append(repository.task_insert(task=Task(task_id=str(uuid.uuid4()), title=f"t{i}", status="pending",
                                                      priority="medium", created_at=at, updated_at=at, version=1)))
    return [{"taskId": task.task_id, "createdAt": task.created_at} for task in reversed(tasks)]


def _keys(status: str = "pending") -> list[str]:
    return [shards.list_key(owner=None, status=status, shard=shard) for shard in range(shards.shard_count())]


def _listed(response) -> list[dict]:
    return [{"taskId": task["taskId"], "createdAt": task["createdAt"]} for task in response.json()["results"]]


def _baseline(api, faults, params: dict) -> dict[str, int]:
    """The Queries per key of the page without faults (a stream may need a second page, by how the tasks'
    ids fell over the shards), then the counts reset."""
    assert api.get("/tasks", params).status_code == 200
    sent, faults.sent = faults.sent, {}
    return sent


def test_a_stream_failing_past_botocores_retries_is_read_again_alone(api, tasks_40, faults):
    params = {"status": "pending", "limit": 10}
    baseline = _baseline(api, faults, params)
    failing = _keys()[1]
    faults.fail(failing, ATTEMPTS + 1)  # one whole call (with botocore's retries) fails, and one try more
    response = api.get("/tasks", params)
    assert response.status_code == 200, response.content
    assert _listed(response) == tasks_40[:10]
    assert faults.sent == {**baseline, failing: baseline[failing] + ATTEMPTS + 1}  # that stream alone read again


def test_a_stream_failing_every_try_answers_503_and_stops_there(api, tasks_40, faults):
    failing = _keys()[2]
    faults.fail(failing, 1000)
    response = api.get("/tasks", {"status": "pending", "limit": 10})
    assert (response.status_code, response["Retry-After"]) == (503, str(settings.UNAVAILABLE_RETRY_AFTER_SECONDS))
    assert response.json() == UNAVAILABLE
    assert faults.sent[failing] == ATTEMPTS * (1 + settings.TASK_LIST_READ_RETRIES)
    assert all(faults.sent[key] == 1 for key in _keys() if key != failing)


def test_a_throttled_stream_is_retried_too(api, tasks_40, faults):
    baseline = _baseline(api, faults, {"limit": 5})
    failing = _keys()[0]
    faults.fail(failing, ATTEMPTS, status=400, code="ProvisionedThroughputExceededException")
    response = api.get("/tasks", {"limit": 5})
    assert response.status_code == 200, response.content
    assert _listed(response) == tasks_40[:5]
    assert faults.sent == {**baseline, failing: baseline[failing] + ATTEMPTS}


def test_a_non_transient_error_is_not_retried_and_answers_500(api, tasks_40, faults):
    failing = _keys()[3]
    faults.fail(failing, 1000, status=400, code="ValidationException")
    response = api.get("/tasks", {"status": "pending"})
    assert response.status_code == 500
    assert response.json() == problem(500, "Internal Server Error", "An unexpected error occurred; it has been logged.")
    assert faults.sent[failing] == 1  # botocore does not retry a ValidationException, nor does the page


def test_first_reads_are_sent_concurrently(api, tasks_40, faults):
    faults.hold_seconds = 0.3  # each Query waits before it goes out, so overlapping ones are seen
    response = api.get("/tasks", {"limit": 20})
    assert response.status_code == 200
    streams = len(_keys()) * 3
    assert sum(faults.sent.values()) >= streams
    assert faults.most_in_flight == min(settings.TASK_LIST_READ_WORKERS, streams)


def test_a_failed_later_read_of_a_hot_shard_is_retried_and_every_page_stays_whole(api, table, faults):
    # Every task in shard 0: its stream reads further Query pages lazily, in the request's own thread.
    tasks = []
    while len(tasks) < 20:
        task_id = str(uuid.uuid4())
        if shards.task_shard(task_id) == 0:
            at = f"2026-12-02T11:00:{len(tasks):02d}.000Z"
            tasks.append(repository.task_insert(task=Task(task_id=task_id, title="hot", status="pending",
                                                          priority="medium", created_at=at, updated_at=at, version=1)))
    hot, listed, params = _keys()[0], [], {"status": "pending", "limit": 10}
    faults.fail(hot, ATTEMPTS, after=1)  # its second Query page fails past botocore's retries
    while True:
        response = api.get("/tasks", params)
        assert response.status_code == 200, response.content
        assert response.json()["results"]
        listed += _listed(response)
        if not response.json()["next"]:
            break
        params = {key: values[0] for key, values in parse_qs(urlsplit(response.json()["next"]).query).items()}
    assert listed == [{"taskId": task.task_id, "createdAt": task.created_at} for task in reversed(tasks)]
    assert faults.failures[hot][1] == 0  # the injected faults were all met
