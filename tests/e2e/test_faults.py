"""Faults between the API and DynamoDB: throttling, 500s, answers past the read timeout and dropped
connections, injected by tests/faults.py in front of the emulator. After every scenario the table holds
exactly what the successful responses said: nothing lost, nothing duplicated, nothing half-written."""
import json
import os
import random
import uuid

import pytest
import requests
from django.conf import settings

from tasks import shards
from tests import faults
from tests.faults import DROP, DROP_AFTER, ERROR_500, SLOW, THROTTLE, THROTTLING, FaultProxy
from tests.harness import LiveServer, table_items

pytestmark = pytest.mark.e2e

# Short client limits keep the scenarios quick; the budget arithmetic is the same as production's.
LIMITS = {"DYNAMODB_MAX_RETRY_ATTEMPTS": "2", "DYNAMODB_CONNECT_TIMEOUT_SECONDS": "0.5",
          "DYNAMODB_READ_TIMEOUT_SECONDS": "0.5", "UNAVAILABLE_RETRY_AFTER_SECONDS": "3"}
ATTEMPTS = 1 + int(LIMITS["DYNAMODB_MAX_RETRY_ATTEMPTS"])
# A list page reads one Query per (status, shard) and reads a failed one again up to TASK_LIST_READ_RETRIES times:
# it answers 503 when one stream's reads fail every attempt of all of those.
LIST_ATTEMPTS = ATTEMPTS * (1 + settings.TASK_LIST_READ_RETRIES)
ONE_STREAM = json.dumps(shards.list_key(owner=None, status="pending", shard=1)).encode()  # as in the Query's body
# The storm's fault schedule and operations; TASKAPI_TEST_FAULT_SEED=N replays another storm.
STORM_SEED = int(os.environ.get("TASKAPI_TEST_FAULT_SEED", "6"))
SURVIVED: list[str] = []


@pytest.fixture(scope="module")
def proxy():
    upstream = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ["AWS_ENDPOINT_URL"]
    proxy = FaultProxy(upstream, slow_seconds=1.0)
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def server(proxy):
    # The local default of 4 index shards: a list page is 12 Queries, each retried for its stream alone (issue 18).
    server = LiveServer(AWS_ENDPOINT_URL_DYNAMODB=proxy.url, **LIMITS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def drained_server(proxy):
    """A server of its own for calls failed past their budget on purpose: botocore's standard retry mode keeps a
    retry quota per client (500, less 14 per retry of an error, 5 of a throttle, given back only by successes),
    which those scenarios spend; on the shared server the later ones would find no retries left."""
    server = LiveServer(AWS_ENDPOINT_URL_DYNAMODB=proxy.url, **LIMITS)
    yield server
    server.stop()


def stored_tasks(table: str) -> dict[str, dict]:
    """The table's tasks in the API's shape, by id."""
    tasks = {}
    for item in table_items(table):
        tasks[item["taskId"]["S"]] = {
            "taskId": item["taskId"]["S"], "title": item["title"]["S"],
            "description": item.get("description", {}).get("S"), "status": item["status"]["S"],
            "priority": item["priority"]["S"], "dueDate": item.get("dueDate", {}).get("S"),
            "tags": [tag["S"] for tag in item.get("tags", {}).get("L", [])],
            "createdAt": item["createdAt"]["S"], "updatedAt": item["updatedAt"]["S"],
            "version": int(item["version"]["N"]),
        }
    return tasks


def assert_unavailable(response: requests.Response) -> None:
    """A 503 is a whole problem document with Retry-After, never a 500."""
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Retry-After"] == LIMITS["UNAVAILABLE_RETRY_AFTER_SECONDS"]
    assert response.json() == {
        "type": "about:blank", "title": "Service Unavailable", "status": 503,
        "detail": "The task store is unavailable or did not answer in time; try again after Retry-After "
                  "(send an Idempotency-Key with POST to retry creates safely).",
    }


def persist(method: str, url: str, **kwargs) -> tuple[requests.Response, int]:
    """Sends like a well-behaved client: retries 503 and 409 (in flight); returns the last answer and the
    number of 503s seen."""
    unavailable = 0
    for _ in range(10):
        response = requests.request(method, url, timeout=30, **kwargs)
        if response.status_code == 503:
            assert_unavailable(response)
            unavailable += 1
            continue
        if response.status_code != 409:
            return response, unavailable
    raise AssertionError(f"{method} {url} still failing: {response.status_code} {response.text}")


@pytest.fixture
def fresh(table, proxy):
    proxy.schedule()
    yield table
    proxy.schedule()


# Faults within the retry budget: botocore absorbs them and the client never notices.
@pytest.mark.parametrize("fault", [THROTTLE, THROTTLING, ERROR_500, SLOW, DROP, DROP_AFTER])
def test_create_survives_faults_within_the_retry_budget(server, proxy, fresh, fault):
    proxy.schedule(*[fault] * (ATTEMPTS - 1), operations={"PutItem"})
    response = requests.post(f"{server.url}/tasks", json={"title": f"through {fault}"}, timeout=30)
    assert response.status_code == 201, response.text
    proxy.wait_idle()
    assert proxy.pending() == 0
    assert stored_tasks(fresh) == {response.json()["taskId"]: response.json()}
    SURVIVED.append(f"create/{fault}")


# Faults that never reach DynamoDB, past the budget: 503 and provably nothing written.
@pytest.mark.parametrize("fault", [THROTTLE, THROTTLING, ERROR_500, DROP])
def test_faults_past_the_budget_answer_503_and_write_nothing(drained_server, proxy, fresh, fault):
    server = drained_server
    task = requests.post(f"{server.url}/tasks", json={"title": "before"}, timeout=30).json()
    url = f"{server.url}/tasks/{task['taskId']}"
    for method, operation, body in (("POST", "PutItem", {"title": "new"}), ("PATCH", "UpdateItem", {"title": "x"}),
                                    ("DELETE", "DeleteItem", None), ("GET", "GetItem", None),
                                    ("GET", "Query", None)):
        if operation == "Query":
            proxy.schedule(*[fault] * LIST_ATTEMPTS, operations={operation}, containing=ONE_STREAM)
        else:
            proxy.schedule(*[fault] * ATTEMPTS, operations={operation})
        target = f"{server.url}/tasks" if method == "POST" or operation == "Query" else url
        assert_unavailable(requests.request(method, target, json=body, timeout=30))
        proxy.wait_idle()
        assert stored_tasks(fresh) == {task["taskId"]: task}, (method, fault)
    SURVIVED.append(f"past-budget/{fault}")


# Faults after DynamoDB applied the write (lost or late answers): retries recognise their own write.
@pytest.mark.parametrize("fault", [SLOW, DROP_AFTER])
def test_update_whose_answer_is_lost_applies_exactly_once(server, proxy, fresh, fault):
    task = requests.post(f"{server.url}/tasks", json={"title": "v1"}, timeout=30).json()
    url = f"{server.url}/tasks/{task['taskId']}"
    proxy.schedule(fault, operations={"UpdateItem"})
    changed = requests.patch(url, json={"title": "v2"}, headers={"If-Match": '"1"'}, timeout=30)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["title"], changed.json()["version"], changed.headers["ETag"]) == ("v2", 2, '"2"')
    proxy.wait_idle()  # the late copy of a SLOW write has landed (and was refused) by now
    assert stored_tasks(fresh) == {task["taskId"]: changed.json()}
    SURVIVED.append(f"update-lost-answer/{fault}")


@pytest.mark.parametrize("fault", [SLOW, DROP_AFTER])
def test_delete_whose_answer_is_lost_answers_deleted(server, proxy, fresh, fault):
    """The retried DeleteItem finds the task gone (its first attempt deleted it): 200, not 404."""
    task = requests.post(f"{server.url}/tasks", json={"title": "to go"}, timeout=30).json()
    proxy.schedule(fault, operations={"DeleteItem"})
    gone = requests.delete(f"{server.url}/tasks/{task['taskId']}", headers={"If-Match": '"1"'}, timeout=30)
    assert (gone.status_code, gone.json()) == (200, {"taskId": task["taskId"], "deleted": True}), gone.text
    proxy.wait_idle()
    assert stored_tasks(fresh) == {}
    assert requests.delete(f"{server.url}/tasks/{task['taskId']}", timeout=30).status_code == 404  # no retry: 404
    SURVIVED.append(f"delete-lost-answer/{fault}")


@pytest.mark.parametrize("fault", [SLOW, DROP_AFTER])
def test_idempotent_create_whose_answers_are_all_lost_creates_one_task(server, proxy, fresh, fault):
    key = str(uuid.uuid4())
    body = {"title": f"exactly once via {fault}", "tags": ["faults"]}
    # Every attempt of the first request's transaction lands (or is refused) but its answer never comes back.
    proxy.schedule(*[fault] * ATTEMPTS, operations={"TransactWriteItems"})
    response, unavailable = persist("POST", f"{server.url}/tasks", json=body, headers={"Idempotency-Key": key})
    assert response.status_code == 201, response.text
    proxy.wait_idle()
    replay = requests.post(f"{server.url}/tasks", json=body, headers={"Idempotency-Key": key}, timeout=30)
    assert (replay.status_code, replay.json(), replay.headers["Location"]) == (
        201, response.json(), response.headers["Location"])
    assert stored_tasks(fresh) == {response.json()["taskId"]: response.json()}
    SURVIVED.append(f"idempotent-create-lost-answers/{fault}")


def test_storm_of_random_faults_loses_and_duplicates_nothing(server, proxy, fresh):
    """60 operations (keyed creates, updates, deletes, reads, lists) while a third of DynamoDB calls fail."""
    rng = random.Random(STORM_SEED)
    before = sum(proxy.seen.values())
    proxy.schedule(*[rng.choice(faults.FAULTS) if rng.random() < 0.33 else faults.PASS for _ in range(400)])
    expected: dict[str, dict | None] = {}
    for step in range(60):
        live = [task_id for task_id, task in expected.items() if task is not None]
        action = rng.choice(["create", "create", "update", "update", "delete", "get", "list"]) if live else "create"
        if action == "create":
            body = {"title": f"storm {step}", "priority": rng.choice(["low", "medium", "high"])}
            response, _ = persist("POST", f"{server.url}/tasks", json=body,
                                  headers={"Idempotency-Key": f"storm-{step}"})
            assert response.status_code == 201, response.text
            expected[response.json()["taskId"]] = response.json()
            continue
        task_id = rng.choice(live)
        url = f"{server.url}/tasks/{task_id}"
        if action == "update":
            response, _ = persist("PATCH", url, json={"status": rng.choice(["pending", "in_progress", "completed"]),
                                                      "title": f"storm {step}"})
            assert response.status_code == 200, response.text
            expected[task_id] = response.json()
        elif action == "delete":
            response, _ = persist("DELETE", url)
            # 404 only when a lost answer made the retry find its own delete already done.
            assert response.status_code in (200, 404), response.text
            expected[task_id] = None
        elif action == "get":
            response, _ = persist("GET", url)
            assert (response.status_code, response.json()) == (200, expected[task_id])
        else:
            response, _ = persist("GET", f"{server.url}/tasks", params={"limit": 100})
            assert response.status_code == 200
            assert {t["taskId"] for t in response.json()["results"]} == set(live)
    proxy.wait_idle()
    injected = sum(proxy.seen.values()) - before
    proxy.schedule()
    assert stored_tasks(fresh) == {task_id: task for task_id, task in expected.items() if task is not None}
    SURVIVED.append(f"storm/{injected} faults")
    print(f"\nfault storm (seed {STORM_SEED}): 60 operations, {injected} faults injected, nothing lost")


def test_zz_every_call_the_api_made_is_allowed_by_the_least_privilege_policy(proxy):
    """Every DynamoDB call the server made in this module (creates with and without keys, transactions,
    updates, deletes, reads, lists), per table and index, against the function's IAM policy for dev."""
    import json

    from tests.harness import ROOT

    policy = json.loads((ROOT / "deploy" / "policy-dev.json").read_text())
    prefix = "arn:aws:dynamodb:*:*:table/"
    # The policy names dev's table; this run's tables have test names with the same suffixes.
    rename = {"taskapi-dev-tasks": os.environ["TASKS_TABLE"]}
    assert os.environ["IDEMPOTENCY_TABLE"] == f"{os.environ['TASKS_TABLE']}-idempotency"
    allowed = set()
    for statement in (statement for statement in policy["Statement"] if statement["Effect"] == "Allow"):
        for action in statement["Action"]:
            for resource in statement["Resource"]:
                if resource.startswith(prefix):
                    path = resource.removeprefix(prefix)
                    name, _, rest = path.partition("/")
                    # issue 6's, 13's, 14's and 18's tables are named after the tasks table
                    base = name.removesuffix("-idempotency").removesuffix("-changes").removesuffix("-connections")
                    base = base.removesuffix("-tags")
                    allowed.add((action, rename[base] + name.removeprefix(base) + (f"/{rest}" if rest else "")))
    assert {action for action, _ in proxy.calls} >= {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem",
                                                     "dynamodb:DeleteItem", "dynamodb:Query"}
    assert proxy.calls - allowed == set()


def test_zz_report_fault_scenarios(proxy):
    print(f"\nfault scenarios survived: {len(SURVIVED)}; faults injected in total: {sum(proxy.seen.values())}")
