"""The /tasks contract, in-process through Django's test client, DynamoDB on the emulator."""
import json
import re
import uuid

import pytest

from tasks import services
from tests.harness import table_items
from tests.problems import RFC3339_MESSAGE, invalid, problem

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PROBLEM_TYPE = "application/problem+json"


def test_create_returns_201_with_the_task_location_and_etag(api):
    response = api.post(
        "/tasks",
        {"title": "  Write the README  ", "description": "Two commands", "priority": "high",
         "dueDate": "2026-12-01T17:00:00+01:00", "tags": ["docs", "launch"]},
        format="json",
    )
    body = response.json()
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    assert response["Location"] == f"http://testserver/tasks/{body['taskId']}"
    assert response["ETag"] == '"1"'
    assert str(uuid.UUID(body["taskId"])) == body["taskId"]
    assert TIMESTAMP.match(body["createdAt"]) and body["updatedAt"] == body["createdAt"]
    assert body == {
        "taskId": body["taskId"],
        "title": "Write the README",
        "description": "Two commands",
        "status": "pending",
        "priority": "high",
        "dueDate": "2026-12-01T16:00:00.000Z",
        "tags": ["docs", "launch"],
        "createdAt": body["createdAt"],
        "updatedAt": body["createdAt"],
        "version": 1,
    }


def test_create_applies_defaults(make_task):
    task = make_task(title="Only a title")
    assert {k: task[k] for k in ("description", "status", "priority", "dueDate", "tags", "version")} == {
        "description": None, "status": "pending", "priority": "medium", "dueDate": None, "tags": [], "version": 1,
    }


def test_get_returns_the_task_with_its_etag(api, make_task):
    task = make_task(title="Read me")
    response = api.get(f"/tasks/{task['taskId']}")
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert response.json() == task


def test_get_with_current_etag_in_if_none_match_returns_304(api, make_task):
    task = make_task()
    response = api.get(f"/tasks/{task['taskId']}", HTTP_IF_NONE_MATCH='"1"')
    assert response.status_code == 304
    assert response["ETag"] == '"1"'
    assert response.content == b""


def test_get_with_stale_etag_in_if_none_match_returns_200(api, make_task):
    task = make_task()
    api.patch(f"/tasks/{task['taskId']}", {"title": "New"}, format="json")
    response = api.get(f"/tasks/{task['taskId']}", HTTP_IF_NONE_MATCH='"1"')
    assert response.status_code == 200
    assert response["ETag"] == '"2"'


@pytest.mark.parametrize("path", ["/tasks/{id}", "/tasks/{id}/"])
def test_get_works_with_and_without_trailing_slash(api, make_task, path):
    task = make_task()
    assert api.get(path.format(id=task["taskId"])).json() == task


@pytest.mark.parametrize("path", ["/tasks", "/tasks/"])
def test_list_and_create_work_with_and_without_trailing_slash(api, path, table):
    assert api.post(path, {"title": "Slash"}, format="json").status_code == 201
    assert [task["title"] for task in api.get(path).json()["results"]] == ["Slash"]


def test_get_of_an_unknown_task_returns_404_problem(api):
    task_id = str(uuid.uuid4())
    response = api.get(f"/tasks/{task_id}")
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM_TYPE
    assert response.json() == problem(404, "Task not found", f"No task has the id {task_id}.")


@pytest.mark.parametrize("path", ["/tasks/not-a-uuid", "/tasks/1234", "/nothing-here", "/tasks/x/y"])
def test_unknown_paths_return_404_problem(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM_TYPE
    assert response.json() == problem(404, "Not Found", "No resource at this URL.")


def test_patch_changes_only_the_fields_sent(api, make_task):
    task = make_task(title="Before", description="Keep me", tags=["a"], priority="low")
    response = api.patch(f"/tasks/{task['taskId']}", {"status": "in_progress"}, format="json")
    body = response.json()
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    assert body == {**task, "status": "in_progress", "version": 2, "updatedAt": body["updatedAt"]}
    assert body["updatedAt"] >= task["updatedAt"] and body["createdAt"] == task["createdAt"]


def test_put_also_changes_only_the_fields_sent(api, make_task):
    task = make_task(title="Before", description="Keep me")
    response = api.put(f"/tasks/{task['taskId']}", {"title": "After"}, format="json")
    assert response.status_code == 200
    assert response.json() == {**task, "title": "After", "version": 2, "updatedAt": response.json()["updatedAt"]}


def test_patch_with_null_clears_description_and_due_date(api, make_task):
    task = make_task(description="text", dueDate="2027-01-01T00:00:00Z")
    response = api.patch(f"/tasks/{task['taskId']}", {"description": None, "dueDate": None}, format="json")
    assert response.status_code == 200
    assert (response.json()["description"], response.json()["dueDate"]) == (None, None)
    stored = next(item for item in table_items(response_table()) if item["taskId"]["S"] == task["taskId"])
    assert "description" not in stored and "dueDate" not in stored


def response_table() -> str:
    from django.conf import settings

    return settings.TASKS_TABLE


def test_patch_with_matching_if_match_succeeds(api, make_task):
    task = make_task()
    response = api.patch(f"/tasks/{task['taskId']}", {"title": "Guarded"}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200
    assert response.json()["title"] == "Guarded"


@pytest.mark.parametrize("method", ["put", "patch"])
def test_update_with_stale_etag_returns_412_and_writes_nothing(api, make_task, method):
    task = make_task(title="Original")
    api.patch(f"/tasks/{task['taskId']}", {"priority": "high"}, format="json")
    response = getattr(api, method)(f"/tasks/{task['taskId']}", {"title": "Lost"}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert response["Content-Type"] == PROBLEM_TYPE
    assert response.json() == problem(412, "Precondition Failed",
                                      "The task has changed since the ETag in If-Match was issued.")
    current = api.get(f"/tasks/{task['taskId']}").json()
    assert (current["title"], current["version"]) == ("Original", 2)


def test_update_with_weak_etag_in_if_match_returns_412(api, make_task):
    task = make_task()
    response = api.patch(f"/tasks/{task['taskId']}", {"title": "x"}, format="json", HTTP_IF_MATCH='W/"1"')
    assert response.status_code == 412


def test_update_of_an_unknown_task_returns_404_and_creates_nothing(api, table):
    task_id = str(uuid.uuid4())
    response = api.patch(f"/tasks/{task_id}", {"title": "Ghost"}, format="json")
    assert response.status_code == 404
    assert response.json() == problem(404, "Task not found", f"No task has the id {task_id}.")
    assert table_items(table) == []


def test_update_with_no_fields_returns_400(api, make_task):
    task = make_task()
    response = api.patch(f"/tasks/{task['taskId']}", {}, format="json")
    assert response.status_code == 400
    assert response.json() == invalid(
        {"body": ["Send at least one of: title, description, status, priority, dueDate, tags."]})


def test_update_rejects_read_only_fields(api, make_task):
    task = make_task()
    response = api.patch(f"/tasks/{task['taskId']}", {"createdAt": "2020-01-01T00:00:00Z", "version": 9},
                         format="json")
    assert response.status_code == 400
    assert response.json() == invalid({"createdAt": ["This field is read-only."], "version": ["This field is read-only."]})


def test_delete_returns_200_and_the_task_is_gone(api, make_task):
    task = make_task()
    response = api.delete(f"/tasks/{task['taskId']}")
    assert response.status_code == 200
    assert response.json() == {"taskId": task["taskId"], "deleted": True}
    assert api.get(f"/tasks/{task['taskId']}").status_code == 404
    assert api.delete(f"/tasks/{task['taskId']}").status_code == 404


def test_delete_with_stale_etag_returns_412_and_keeps_the_task(api, make_task):
    task = make_task()
    api.patch(f"/tasks/{task['taskId']}", {"title": "v2"}, format="json")
    response = api.delete(f"/tasks/{task['taskId']}", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert api.get(f"/tasks/{task['taskId']}").status_code == 200


def test_patch_after_delete_returns_404_and_recreates_nothing(api, make_task, table):
    task = make_task()
    api.delete(f"/tasks/{task['taskId']}")
    assert api.patch(f"/tasks/{task['taskId']}", {"title": "Zombie"}, format="json").status_code == 404
    assert table_items(table) == []


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"title": ["This field is required."]}),
        ({"title": "   "}, {"title": ["This field may not be blank."]}),
        ({"title": "x" * 201}, {"title": ["Ensure this field has no more than 200 characters."]}),
        ({"title": 42}, {"title": ["Must be a string."]}),
        ({"title": "t", "description": "d" * 10_001},
         {"description": ["Ensure this field has no more than 10000 characters."]}),
        ({"title": "t", "status": "done"}, {"status": ["Must be one of: pending, in_progress, completed."]}),
        ({"title": "t", "priority": "urgent"}, {"priority": ["Must be one of: low, medium, high."]}),
        ({"title": "t", "dueDate": "tomorrow"},
         {"dueDate": [RFC3339_MESSAGE]}),
        ({"title": "t", "dueDate": "2026-12-01T10:00:00"},
         {"dueDate": [RFC3339_MESSAGE]}),
        ({"title": "t", "tags": "docs"}, {"tags": ['Must be a list of strings, such as ["home", "errands"].']}),
        ({"title": "t", "tags": ["a", "a"]}, {"tags": ["Tags must be distinct."]}),
        ({"title": "t", "tags": [""]}, {"tags": ["0: This field may not be blank."]}),
        ({"title": "t", "tags": ["x" * 65]}, {"tags": ["0: Ensure this field has no more than 64 characters."]}),
        ({"title": "t", "tags": [f"t{i}" for i in range(51)]}, {"tags": ["Ensure this field has no more than 50 elements."]}),
        ({"title": "t", "owner": "me"}, {"owner": ["Unknown field."]}),
        ({"title": "t", "taskId": str(uuid.uuid4())}, {"taskId": ["This field is read-only."]}),
    ],
)
def test_create_with_invalid_fields_returns_400_with_field_errors(api, body, errors, table):
    response = api.post("/tasks", body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM_TYPE
    assert response.json() == invalid(errors)
    assert table_items(table) == []


def test_create_with_a_json_array_returns_400(api):
    response = api.post("/tasks", "[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == invalid({"body": ["Invalid data. Expected a dictionary, but got list."]})


def test_create_with_malformed_json_returns_400(api):
    response = api.post("/tasks", '{"title": ', content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM_TYPE
    assert response.json()["title"] == "Bad Request"
    assert response.json()["detail"].startswith("JSON parse error")


def test_create_with_another_media_type_returns_415(api):
    response = api.post("/tasks", "title=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json() == problem(415, "Unsupported Media Type", 'Unsupported media type "text/plain" in request.')


def test_body_over_192_kib_returns_413(api, table):
    body = json.dumps({"title": "big", "description": "x" * (192 * 1024)})
    response = api.post("/tasks", body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM_TYPE
    assert response.json() == problem(413, "Content Too Large", "The body may be at most 196608 bytes.")
    assert table_items(table) == []


def test_unsupported_method_returns_405_problem(api):
    response = api.put("/tasks", {"title": "x"}, format="json")
    assert response.status_code == 405
    assert response.json() == problem(405, "Method Not Allowed", 'Method "PUT" not allowed.')


def test_unknown_query_parameter_returns_400(api, make_task):
    task = make_task()
    response = api.get(f"/tasks/{task['taskId']}?expand=all")
    assert response.status_code == 400
    assert response.json() == invalid({"expand": ["Unknown query parameter."]})


def test_format_query_parameter_is_allowed(api, make_task):
    task = make_task()
    response = api.get(f"/tasks/{task['taskId']}?format=json")
    assert response.status_code == 200
    assert response.json() == task


def test_unexpected_error_returns_generic_500_without_a_trace(api, monkeypatch, log_lines):
    # Fault injection: no real dependency fails on demand, so the service raises.
    def explode(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "task_get", explode)
    response = api.get(f"/tasks/{uuid.uuid4()}", HTTP_X_REQUEST_ID="trace-me-500")
    assert response.status_code == 500
    assert response["Content-Type"] == PROBLEM_TYPE
    assert response.json() == problem(500, "Internal Server Error", "An unexpected error occurred; it has been logged.")
    assert b"secret internals" not in response.content and b"Traceback" not in response.content
    error_line = next(line for line in log_lines() if line["logger"] == "taskapi.errors")
    assert error_line["request_id"] == "trace-me-500"
    assert "secret internals" in error_line["exception"]


def test_request_id_is_echoed_or_generated(api):
    echoed = api.get("/tasks?limit=1", HTTP_X_REQUEST_ID="abc-123")
    generated = api.get("/tasks?limit=1")
    assert echoed["X-Request-ID"] == "abc-123"
    assert re.fullmatch(r"[0-9a-f]{32}", generated["X-Request-ID"])


def test_unsafe_request_id_is_replaced(api):
    response = api.get("/tasks?limit=1", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_each_request_writes_one_json_access_line(api, make_task, log_lines):
    task = make_task()
    log_lines()
    api.get(f"/tasks/{task['taskId']}", HTTP_X_REQUEST_ID="log-me")
    access = [line for line in log_lines() if line["logger"] == "taskapi.requests"]
    assert len(access) == 1
    assert {k: access[0][k] for k in ("method", "route", "status", "request_id")} == {
        "method": "GET", "route": "GET /tasks/{taskId}", "status": 200, "request_id": "log-me",
    }
    assert access[0]["duration_ms"] >= 0


def test_cors_headers_are_on_errors_too(api):
    response = api.get("/tasks/nope", HTTP_ORIGIN="https://app.example.com")
    assert response.status_code == 404
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Access-Control-Expose-Headers"] == "ETag, Last-Modified, Location, Retry-After, X-Request-ID"


def test_cors_preflight_allows_the_conditional_headers(api):
    response = api.options(
        "/tasks/00000000-0000-4000-8000-000000000000",
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="PATCH",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="if-match, content-type",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "PATCH" in response["Access-Control-Allow-Methods"]
    assert {"if-match", "content-type"} <= set(response["Access-Control-Allow-Headers"].split(", "))


def test_browser_gets_the_browsable_api(api):
    response = api.get("/tasks", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert b"Django REST framework" in response.content


def test_openapi_schema_documents_every_operation_and_problem(api):
    response = api.get("/openapi.json")
    schema = response.json()
    assert response.status_code == 200
    operations = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert operations == {
        ("/tasks", "get"), ("/tasks", "post"), ("/tasks/{taskId}", "get"), ("/tasks/{taskId}", "put"),
        ("/tasks/{taskId}", "patch"), ("/tasks/{taskId}", "delete"), ("/tasks/batch", "post"),
        ("/tasks/changes", "get"),
    }
    # Generated clients name their functions after these: they must not change when paths are added.
    assert {item[method]["operationId"] for item in schema["paths"].values() for method in item} == {
        "tasks_list", "tasks_create", "tasks_retrieve", "tasks_update", "tasks_partial_update", "tasks_destroy",
        "tasks_batch_create", "tasks_changes_retrieve"}
    changes = schema["paths"]["/tasks/changes"]["get"]
    assert set(changes["responses"]) == {"200", "400", "401", "405", "406", "410", "503"}
    assert {p["name"] for p in changes["parameters"]} == {"since", "limit"}
    patch = schema["paths"]["/tasks/{taskId}"]["patch"]
    # 401: identity required (TASKS_REQUIRE_IDENTITY); 503: DynamoDB unavailable past retries (issue 6).
    # 405 and 406: the method and Accept errors any operation may give (issue 12).
    assert set(patch["responses"]) == {"200", "400", "401", "404", "405", "406", "412", "413", "415", "503"}
    assert "ETag" in patch["responses"]["200"]["headers"]
    assert {p["name"] for p in schema["paths"]["/tasks"]["get"]["parameters"]} == {
        "status", "priority", "tag", "createdFrom", "createdTo", "order", "limit", "cursor",
    }
    assert set(schema["components"]["schemas"]["Problem"]["required"]) == {"type", "title", "status", "detail"}
