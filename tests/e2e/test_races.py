"""Races over real HTTP (threaded dev server, the emulator behind it): conditional writes decide every one."""
import threading

import pytest
import requests

from tests.e2e.test_faults import stored_tasks

pytestmark = pytest.mark.e2e


# The shared api_server (tests/e2e/conftest.py); its emulator applies item writes atomically, as DynamoDB does.

ROUNDS = 3
RACES_RUN: list[str] = []


def at_once(calls) -> list[requests.Response]:
    """Runs the callables together (a barrier releases them at once); returns their responses in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(isinstance(result, requests.Response) for result in results), results
    return results


def create(server, **fields) -> dict:
    response = requests.post(f"{server.url}/tasks", json={"title": "race", **fields}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_twenty_patches_with_one_etag_give_exactly_one_200(api_server, table, round_):
    task = create(api_server)
    url = f"{api_server.url}/tasks/{task['taskId']}"
    responses = at_once([lambda i=i: requests.patch(url, json={"title": f"writer {i}"}, headers={"If-Match": '"1"'},
                                                    timeout=60) for i in range(20)])
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [412] * 19
    (winner,) = [response.json() for response in responses if response.status_code == 200]
    for loser in (response for response in responses if response.status_code == 412):
        assert loser.headers["Content-Type"] == "application/problem+json"
    assert winner["version"] == 2
    assert stored_tasks(table) == {task["taskId"]: winner}
    RACES_RUN.append("etag")


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_twenty_parallel_patches_of_different_fields_all_persist(api_server, table, round_):
    task = create(api_server)
    url = f"{api_server.url}/tasks/{task['taskId']}"
    # Twenty writers: each field's value is set by exactly one of them, so every one must survive.
    changes = [{"title": "t"}, {"description": "d"}, {"status": "completed"}, {"priority": "low"},
               {"dueDate": "2027-03-01T09:00:00Z"}, {"tags": ["a", "b"]}]
    # Repeats of one change: each one that reads the task before the tags land writes (a new version);
    # one that reads them already set changes nothing and keeps the version (issue 12).
    writers = changes + [{"tags": ["a", "b"]}] * 14
    responses = at_once([lambda c=c: requests.patch(url, json=c, timeout=60) for c in writers])
    assert [response.status_code for response in responses] == [200] * 20
    final = stored_tasks(table)[task["taskId"]]
    assert 7 <= final["version"] <= 21
    assert final == {**task, "title": "t", "description": "d", "status": "completed", "priority": "low",
                     "dueDate": "2027-03-01T09:00:00.000Z", "tags": ["a", "b"], "version": final["version"],
                     "updatedAt": final["updatedAt"]}
    versions = [response.json()["version"] for response in responses]
    # Each write made exactly one version and no two writes were merged into one: the versions answered
    # are every version from 2 to the last, and the five writers of fields nobody else sets each got its own.
    assert sorted(set(versions)) == list(range(2, final["version"] + 1))
    assert len(set(versions[:5])) == 5
    RACES_RUN.append("fields")


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_delete_racing_updates_never_resurrects_the_task(api_server, table, round_):
    task = create(api_server)
    url = f"{api_server.url}/tasks/{task['taskId']}"
    calls = [lambda: requests.delete(url, timeout=60)]
    calls += [lambda i=i: requests.patch(url, json={"title": f"zombie {i}"}, timeout=60) for i in range(10)]
    responses = at_once(calls)
    assert responses[0].status_code == 200
    assert {response.status_code for response in responses[1:]} <= {200, 404}
    assert stored_tasks(table) == {}
    assert requests.get(url, timeout=30).status_code == 404
    RACES_RUN.append("delete")


def test_parallel_creates_with_one_idempotency_key_make_one_task(api_server, table):
    body = {"title": "once", "tags": ["idem"]}
    headers = {"Idempotency-Key": "race-key-1"}
    responses = at_once([lambda: requests.post(f"{api_server.url}/tasks", json=body, headers=headers, timeout=60)
                         for _ in range(10)])
    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {201, 409} and 201 in statuses
    created = {response.json()["taskId"] for response in responses if response.status_code == 201}
    assert len(created) == 1
    for response in responses:
        if response.status_code == 409:
            assert response.headers["Retry-After"] == "1"
    (task_id,) = created
    assert set(stored_tasks(table)) == {task_id}
    # Once the first has finished, every retry replays it.
    replay = requests.post(f"{api_server.url}/tasks", json=body, headers=headers, timeout=30)
    assert (replay.status_code, replay.json()["taskId"]) == (201, task_id)
    RACES_RUN.append("idempotency")


def test_zz_report_races(api_server):
    print(f"\nraces run: {len(RACES_RUN)} (each over HTTP with 10-20 parallel requests), none lost a write")
