"""The task API over real HTTP: a live server process, DynamoDB on the emulator endpoint."""
import threading
import uuid

import pytest
import requests

from tests.harness import table_items

pytestmark = pytest.mark.e2e


def _create(server, **fields) -> dict:
    response = requests.post(f"{server.url}/tasks", json={"title": "e2e task", **fields}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def _in_parallel(calls) -> list:
    """Runs the callables at once (released together by a barrier) and returns their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_task_lifecycle_over_http(api_server):
    url = f"{api_server.url}/tasks"
    created = requests.post(url, json={"title": "Ship it", "tags": ["release"]}, timeout=10)
    task = created.json()
    assert created.status_code == 201
    assert created.headers["Location"] == f"{url}/{task['taskId']}"
    assert created.headers["ETag"] == '"1"'
    assert created.headers["X-Request-ID"]

    fetched = requests.get(created.headers["Location"], timeout=10)
    assert (fetched.status_code, fetched.json(), fetched.headers["ETag"]) == (200, task, '"1"')
    assert requests.get(created.headers["Location"], headers={"If-None-Match": '"1"'}, timeout=10).status_code == 304

    updated = requests.patch(f"{url}/{task['taskId']}/", json={"status": "completed"}, headers={"If-Match": '"1"'},
                             timeout=10)
    assert (updated.status_code, updated.json()["status"], updated.headers["ETag"]) == (200, "completed", '"2"')

    listed = requests.get(url, params={"status": "completed", "tag": "release"}, timeout=10).json()
    assert task["taskId"] in [t["taskId"] for t in listed["results"]]

    deleted = requests.delete(f"{url}/{task['taskId']}", timeout=10)
    assert (deleted.status_code, deleted.json()) == (200, {"taskId": task["taskId"], "deleted": True})
    gone = requests.get(f"{url}/{task['taskId']}", timeout=10)
    assert gone.status_code == 404 and gone.headers["Content-Type"] == "application/problem+json"


def test_two_patches_with_one_etag_give_one_200_and_one_412(api_server, table):
    task = _create(api_server)
    url = f"{api_server.url}/tasks/{task['taskId']}"
    responses = _in_parallel([
        lambda: requests.patch(url, json={"title": "first"}, headers={"If-Match": '"1"'}, timeout=30),
        lambda: requests.patch(url, json={"title": "second"}, headers={"If-Match": '"1"'}, timeout=30),
    ])
    assert sorted(r.status_code for r in responses) == [200, 412]
    winner = next(r for r in responses if r.status_code == 200).json()
    stored = requests.get(url, timeout=10).json()
    assert (stored["title"], stored["version"]) == (winner["title"], 2)


def test_parallel_patches_of_different_fields_all_persist(api_server, table):
    task = _create(api_server)
    url = f"{api_server.url}/tasks/{task['taskId']}"
    changes = [{"title": "new title"}, {"description": "new description"}, {"status": "in_progress"},
               {"priority": "high"}, {"dueDate": "2027-01-01T00:00:00Z"}, {"tags": ["x", "y"]}]
    responses = _in_parallel([lambda c=c: requests.patch(url, json=c, timeout=30) for c in changes])
    assert [r.status_code for r in responses] == [200] * len(changes)
    stored = requests.get(url, timeout=10).json()
    assert stored == {**task, "title": "new title", "description": "new description", "status": "in_progress",
                      "priority": "high", "dueDate": "2027-01-01T00:00:00.000Z", "tags": ["x", "y"],
                      "version": 1 + len(changes), "updatedAt": stored["updatedAt"]}


def test_patch_after_delete_returns_404_and_nothing_is_recreated(api_server, table):
    task = _create(api_server)
    url = f"{api_server.url}/tasks/{task['taskId']}"
    assert requests.delete(url, timeout=10).status_code == 200
    response = requests.patch(url, json={"title": "zombie"}, timeout=10)
    assert response.status_code == 404
    assert table_items(table) == []


def test_errors_are_problems_with_cors_over_http(api_server):
    origin = {"Origin": "https://app.example.com"}
    for method, path, kwargs, status in [
        ("get", f"/tasks/{uuid.uuid4()}", {}, 404),
        ("get", "/missing", {}, 404),
        ("post", "/tasks", {"data": "{oops", "headers": {"Content-Type": "application/json"}}, 400),
        ("post", "/tasks", {"data": "x" * 200_000, "headers": {"Content-Type": "application/json"}}, 413),
        ("post", "/tasks", {"data": "<task/>", "headers": {"Content-Type": "application/xml"}}, 415),
        ("delete", "/tasks", {}, 405),
    ]:
        kwargs.setdefault("headers", {}).update(origin)
        response = requests.request(method, f"{api_server.url}{path}", timeout=10, **kwargs)
        assert response.status_code == status, (method, path, response.text)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == status
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Traceback" not in response.text


def test_preflight_over_http(api_server):
    response = requests.options(f"{api_server.url}/tasks", timeout=10, headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, idempotency-key"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
