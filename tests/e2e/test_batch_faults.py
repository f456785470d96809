"""Faults injected mid-batch (tests/faults.py in front of the emulator): afterwards the table holds exactly
what the batch's results said, and no operation applied twice."""
import os

import pytest
import requests

from tests.e2e.test_faults import ATTEMPTS, LIMITS, stored_tasks
from tests.faults import DROP, DROP_AFTER, ERROR_500, SLOW, THROTTLE, THROTTLING, FaultProxy
from tests.harness import LiveServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def proxy():
    proxy = FaultProxy(os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ["AWS_ENDPOINT_URL"],
                       slow_seconds=1.0)
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def server(proxy):
    server = LiveServer(AWS_ENDPOINT_URL_DYNAMODB=proxy.url, **LIMITS)
    yield server
    server.stop()


@pytest.fixture
def fresh(table, proxy):
    proxy.schedule()
    yield table
    proxy.schedule()


def _seed(server, count: int) -> list[dict]:
    return [requests.post(f"{server.url}/tasks", json={"title": f"seed {i}"}, timeout=30).json() for i in range(count)]


def _operations(tasks: list[dict]) -> list[dict]:
    return [{"method": "POST", "body": {"title": "new one"}},
            {"method": "POST", "body": {"title": "new two"}},
            {"method": "PATCH", "taskId": tasks[0]["taskId"], "body": {"title": "changed"}, "ifMatch": '"1"'},
            {"method": "DELETE", "taskId": tasks[1]["taskId"], "ifMatch": '"1"'}]


def _expected(tasks: list[dict], results: list[dict]) -> dict[str, dict]:
    """The table the results describe: seeds, changed as answered, minus the deleted, plus the created."""
    expected = {task["taskId"]: task for task in tasks}
    for result in results:
        body = result["body"]
        if body.get("deleted"):
            expected.pop(body["taskId"])
        elif result["status"] in (200, 201):
            expected[body["taskId"]] = body
    return expected


# Fewer faults than attempts: every operation must land once, whichever operations the faults hit.
@pytest.mark.parametrize("fault", [THROTTLE, THROTTLING, ERROR_500, DROP, DROP_AFTER, SLOW])
def test_parallel_batch_through_faults_applies_every_operation_once(server, proxy, fresh, fault):
    tasks = _seed(server, 3)
    proxy.schedule(*[fault] * (ATTEMPTS - 1), operations={"PutItem", "UpdateItem", "DeleteItem"})
    response = requests.post(f"{server.url}/tasks/batch", json={"operations": _operations(tasks)}, timeout=60)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 201, 200, 200], results
    proxy.wait_idle()
    assert stored_tasks(fresh) == _expected(tasks, results)
    assert results[2]["body"]["version"] == 2


@pytest.mark.parametrize("fault", [THROTTLE, ERROR_500, DROP, DROP_AFTER, SLOW])
def test_atomic_batch_through_faults_applies_once(server, proxy, fresh, fault):
    tasks = _seed(server, 3)
    proxy.schedule(*[fault] * (ATTEMPTS - 1), operations={"TransactWriteItems", "BatchGetItem"})
    response = requests.post(f"{server.url}/tasks/batch", json={"operations": _operations(tasks), "atomic": True},
                             timeout=60)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 201, 200, 200], results
    proxy.wait_idle()
    assert stored_tasks(fresh) == _expected(tasks, results)


@pytest.mark.parametrize("fault", [THROTTLE, ERROR_500, DROP])
def test_parallel_batch_past_the_budget_answers_503_per_operation_and_writes_only_the_others(
        server, proxy, fresh, fault):
    tasks = _seed(server, 3)
    proxy.schedule(*[fault] * ATTEMPTS, operations={"UpdateItem"})
    response = requests.post(f"{server.url}/tasks/batch", json={"operations": _operations(tasks)}, timeout=60)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 201, 503, 200], results
    assert results[2]["body"]["status"] == 503 and results[2]["headers"]["Retry-After"] == "3"
    proxy.wait_idle()
    assert stored_tasks(fresh) == _expected(tasks, results)
