"""POST /tasks/batch: every kind and status in one batch, atomic success and rollback, envelope errors."""
import re
import uuid

import pytest

from tests import harness

MISSING = "00000000-0000-4000-8000-000000000000"


def _batch(api, operations, atomic=False, **headers):
    return api.post("/tasks/batch", {"operations": operations, "atomic": atomic}, format="json", **headers)


def _stored(table) -> dict[str, dict]:
    return {item["taskId"]["S"]: item for item in harness.table_items(table)}


def test_every_kind_and_status_in_one_batch_answers_as_the_single_endpoints(api, make_task, table):
    kept, stale, gone = make_task(title="Kept"), make_task(title="Stale"), make_task(title="Gone")
    response = _batch(api, [
        {"method": "POST", "body": {"title": "New", "tags": ["a"]}},
        {"method": "POST", "body": {"title": ""}},
        {"method": "PATCH", "taskId": kept["taskId"], "body": {"status": "completed"}, "ifMatch": '"1"'},
        {"method": "PUT", "taskId": stale["taskId"], "body": {"title": "X"}, "ifMatch": '"7"'},
        {"method": "PATCH", "taskId": MISSING, "body": {"title": "Y"}},
        {"method": "DELETE", "taskId": gone["taskId"]},
    ])
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 400, 200, 412, 404, 200], results
    created = results[0]["body"]
    single = api.get(f"/tasks/{created['taskId']}")
    assert results[0] == {"status": 201, "body": single.json(),
                          "headers": {"ETag": '"1"', "Last-Modified": single.headers["Last-Modified"],
                                      "Location": f"http://testserver/tasks/{created['taskId']}"}}
    assert results[1] == {"status": 400, "headers": {}, "body": {
        "type": "about:blank", "title": "Invalid request", "status": 400,
        "detail": "The request has invalid fields.", "errors": results[1]["body"]["errors"]}}
    assert list(results[1]["body"]["errors"]) == ["title"]
    after = api.get(f"/tasks/{kept['taskId']}")
    assert results[2] == {"status": 200, "headers": {"ETag": '"2"', "Last-Modified": after.headers["Last-Modified"]},
                          "body": after.json()}
    assert results[2]["body"]["status"] == "completed"
    assert results[3] == {"status": 412, "headers": {}, "body": {
        "type": "about:blank", "title": "Precondition Failed", "status": 412,
        "detail": "The task has changed since the ETag in If-Match was issued."}}
    assert results[4] == {"status": 404, "headers": {}, "body": {
        "type": "about:blank", "title": "Task not found", "status": 404, "detail": f"No task has the id {MISSING}."}}
    assert results[5] == {"status": 200, "headers": {}, "body": {"taskId": gone["taskId"], "deleted": True}}
    stored = _stored(table)
    assert set(stored) == {kept["taskId"], stale["taskId"], created["taskId"]}
    assert stored[stale["taskId"]]["title"] == {"S": "Stale"}


def test_atomic_batch_applies_all_operations(api, make_task, table):
    one, two = make_task(title="One"), make_task(title="Two")
    response = _batch(api, [
        {"method": "POST", "body": {"title": "Three"}},
        {"method": "PATCH", "taskId": one["taskId"], "body": {"priority": "high"}, "ifMatch": '"1"'},
        {"method": "DELETE", "taskId": two["taskId"]},
    ], atomic=True)
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 200, 200]
    after = api.get(f"/tasks/{one['taskId']}")
    assert results[1] == {"status": 200, "headers": {"ETag": '"2"', "Last-Modified": after.headers["Last-Modified"]},
                          "body": after.json()}
    assert results[0]["body"] == api.get(f"/tasks/{results[0]['body']['taskId']}").json()
    assert set(_stored(table)) == {one["taskId"], results[0]["body"]["taskId"]}


def test_atomic_batch_with_a_failing_operation_writes_nothing_and_answers_409(api, make_task, table):
    one = make_task(title="One")
    before = _stored(table)
    response = _batch(api, [
        {"method": "POST", "body": {"title": "Three"}},
        {"method": "PATCH", "taskId": one["taskId"], "body": {"priority": "high"}},
        {"method": "DELETE", "taskId": MISSING},
    ], atomic=True)
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert [r["status"] for r in body["results"]] == [424, 424, 404]
    assert body["status"] == 409 and body["title"] == "Batch not applied"
    assert _stored(table) == before


@pytest.mark.parametrize("operations", [[], [{"method": "POST", "body": {"title": "t"}}] * 101])
def test_empty_or_oversized_batch_is_400(api, table, operations):
    response = _batch(api, operations)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == ["operations"]
    assert harness.table_items(table) == []


def test_a_task_id_twice_in_one_batch_is_400(api, make_task, table):
    task = make_task()
    response = _batch(api, [{"method": "DELETE", "taskId": task["taskId"]},
                            {"method": "PATCH", "taskId": task["taskId"], "body": {"title": "x"}}])
    assert response.status_code == 400
    assert response.json()["errors"] == {"operations": ["A task id appears at most once per batch."]}
    assert len(harness.table_items(table)) == 1


def test_hundred_creates_in_one_batch(api, table):
    response = _batch(api, [{"method": "POST", "body": {"title": f"t{i}"}} for i in range(100)])
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["body"]["title"] for r in results] == [f"t{i}" for i in range(100)]
    assert {r["body"]["taskId"] for r in results} == set(_stored(table))
    assert uuid.UUID(results[0]["body"]["taskId"])


def test_idempotency_key_replays_the_first_batch_answer_and_applies_once(api, make_task, table):
    task = make_task(title="Once")
    key = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    operations = [{"method": "POST", "body": {"title": "Created once"}},
                  {"method": "PATCH", "taskId": task["taskId"], "body": {"priority": "low"}}]
    first, again = _batch(api, operations, **key), _batch(api, operations, **key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert [r["status"] for r in first.json()["results"]] == [201, 200]
    assert len(_stored(table)) == 2
    assert _stored(table)[task["taskId"]]["version"] == {"N": "2"}
    other = _batch(api, operations[:1], **key)
    assert other.status_code == 422
    assert other["Content-Type"] == "application/problem+json"


def test_idempotency_key_replays_a_409_of_an_atomic_batch(api, table):
    key = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    operations = [{"method": "DELETE", "taskId": MISSING}]
    first, again = _batch(api, operations, atomic=True, **key), _batch(api, operations, atomic=True, **key)
    assert first.status_code == again.status_code == 409
    assert again["Content-Type"] == first["Content-Type"] == "application/problem+json"
    assert again.json() == first.json()


def test_atomic_batches_racing_single_writes_never_lose_an_acknowledged_write(api, make_task, table):
    from concurrent.futures import ThreadPoolExecutor

    from rest_framework.test import APIClient

    tasks = [make_task(title=f"r{i}") for i in range(4)]

    def single(task_id):
        return APIClient().patch(f"/tasks/{task_id}", {"description": "single"}, format="json",
                                 HTTP_IF_MATCH='"1"').status_code

    def whole():
        ops = [{"method": "PATCH", "taskId": t["taskId"], "body": {"title": "batch"}, "ifMatch": '"1"'}
               for t in tasks]
        return APIClient().post("/tasks/batch", {"operations": ops, "atomic": True}, format="json")

    with ThreadPoolExecutor(max_workers=3) as pool:
        batch_future = pool.submit(whole)
        singles = list(pool.map(single, [t["taskId"] for t in tasks]))
        batch_response = batch_future.result()
    stored = _stored(table)
    batch_won = batch_response.status_code == 200
    assert batch_response.status_code in (200, 409)
    for task, status in zip(tasks, singles):
        item = stored[task["taskId"]]
        assert status in (200, 412)
        # Each version-1 write that was answered 200 is the only one that landed on that task.
        assert item["version"] == ({"N": "2"} if (status == 200 or batch_won) else {"N": "1"})
        assert (item.get("description") == {"S": "single"}) == (status == 200)
        assert (item["title"] == {"S": "batch"}) == batch_won
        assert not (status == 200 and batch_won)


def test_a_keyed_batch_run_again_after_a_crash_creates_no_second_task(api, make_task, table):
    # The function dying between the writes and storing the answer cannot be staged through the test
    # client, so the batch is applied twice through tasks.batch, as a takeover of the expired claim would.
    from tasks import batch

    raw = [{"method": "POST", "body": {"title": "Once"}}, {"method": "POST", "body": {"title": "Twice?"}}]
    operations = batch.operations_parse(raw)
    location = "http://testserver/tasks/{}".format
    first = batch.batch_apply(operations=operations, owner=None, location=location, key="k-1\nbody")
    again = batch.batch_apply(operations=batch.operations_parse(raw), owner=None, location=location, key="k-1\nbody")
    assert [r.status for r in first] == [r.status for r in again] == [201, 201]
    assert [r.body for r in again] == [r.body for r in first]
    assert len(_stored(table)) == 2
    other = batch.batch_apply(operations=batch.operations_parse(raw), owner=None, location=location, key="k-1\nother")
    assert {r.body["taskId"] for r in other}.isdisjoint({r.body["taskId"] for r in first})
    assert len(_stored(table)) == 4


def test_a_keyed_atomic_batch_run_again_after_a_crash_writes_nothing_twice(api, table):
    # As above: the second run stands for a takeover of the claim after the function died.
    from tasks import batch
    from tasks.domain import PreconditionFailed

    raw = [{"method": "POST", "body": {"title": "A"}}, {"method": "POST", "body": {"title": "B"}}]
    location = "http://testserver/tasks/{}".format
    applied, first = batch.batch_apply_atomic(operations=batch.operations_parse(raw), owner=None,
                                              location=location, key="k-2\nbody")
    assert applied and [r.status for r in first] == [201, 201]
    with pytest.raises(PreconditionFailed):
        batch.batch_apply_atomic(operations=batch.operations_parse(raw), owner=None, location=location,
                                 key="k-2\nbody")
    assert sorted(_stored(table)) == sorted(r.body["taskId"] for r in first)


def test_batch_answers_cors_preflights_and_cors_headers_like_the_single_endpoints(api, table):
    preflight = api.options("/tasks/batch", HTTP_ORIGIN="https://app.example.com",
                            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,idempotency-key")
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "idempotency-key" in preflight["Access-Control-Allow-Headers"]
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    response = _batch(api, [{"method": "POST", "body": {"title": "From a browser"}}], HTTP_ORIGIN="https://app.example.com")
    assert (response.status_code, response["Access-Control-Allow-Origin"]) == (200, "*")
    assert "Retry-After" in response["Access-Control-Expose-Headers"]


def test_the_browsable_api_offers_a_raw_post_form_for_batches(table):
    from django.test import Client

    page = Client().get("/tasks/batch", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert (page.status_code, page["Content-Type"]) == (405, "text/html; charset=utf-8")  # POST only, shown as HTML
    assert re.search(rb'<form[^>]+method="POST"', page.content)
    assert b'name="_content"' in page.content  # the Raw data form: a batch is one JSON document


def test_an_atomic_batch_that_changes_nothing_writes_nothing_and_keeps_versions(api, make_task, table):
    task = make_task(title="Same", priority="high")
    response = _batch(api, [{"method": "PATCH", "taskId": task["taskId"], "body": {"priority": "high"}}], atomic=True)
    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["body"] == task  # same version and updatedAt, as a single no-op PATCH
