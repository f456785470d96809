"""The browsable API's forms, the API root and /docs, in-process (the browser suite drives them for real)."""
import re

import pytest
from django.test import Client

HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # what a browser sends


@pytest.fixture
def client() -> Client:
    return Client()


def _create(client: Client, **fields) -> dict:
    response = client.post("/tasks", {"title": "A task", **fields}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def test_html_form_post_from_the_browsable_api_creates_a_task(client, table):
    response = client.post("/tasks", {
        "csrfmiddlewaretoken": "token", "title": "From a form", "description": "", "status": "in_progress",
        "priority": "high", "dueDate": "2026-12-01T17:00", "tags": "home, errands\r\n\r\n  night \r\n",
    }, HTTP_ACCEPT=HTML)

    assert response.status_code == 201
    assert response["Content-Type"] == "text/html; charset=utf-8"
    task = client.get(response["Location"]).json()
    assert {key: task[key] for key in ("title", "description", "status", "priority", "dueDate", "tags")} == {
        "title": "From a form", "description": "", "status": "in_progress", "priority": "high",
        "dueDate": "2026-12-01T17:00:00.000Z", "tags": ["home, errands", "night"],
    }


def test_form_bodies_from_api_clients_still_get_415(client):
    for accept in ("*/*", "application/json"):
        response = client.post("/tasks", {"title": "x"}, HTTP_ACCEPT=accept)
        assert response.status_code == 415
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["title"] == "Unsupported Media Type"
    form = client.post("/tasks", "title=x", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415


def test_json_clients_may_not_send_form_control_fields(client):
    response = client.post("/tasks", {"title": "x", "csrfmiddlewaretoken": "t", "_method": "PUT"},
                           content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"csrfmiddlewaretoken": ["Unknown field."], "_method": ["Unknown field."]}


def test_empty_title_in_the_form_shows_the_error_next_to_the_field_in_an_html_page(client):
    response = client.post("/tasks", {"title": "", "status": "pending", "priority": "medium", "tags": ""},
                           HTTP_ACCEPT=HTML)

    assert response.status_code == 400
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    title_group = re.search(r'<div class="form-group has-error">\s*<label[^>]*>\s*Title\s*</label>(.*?)</div>',
                            page, re.DOTALL)
    assert title_group is not None
    assert "This field may not be blank." in title_group[1]
    assert "application/problem+json" in page  # the headers shown are the API's own


def test_put_form_on_a_task_is_filled_from_the_task(client, table):
    task = _create(client, title="Fill me", priority="high", tags=["a", "b"], dueDate="2026-12-01T17:00:00+01:00")

    page = client.get(f"/tasks/{task['taskId']}", HTTP_ACCEPT=HTML).content.decode()

    put_form = re.search(r'<form action="[^"]*" data-method="PUT" enctype="multipart/form-data".*?</form>', page, re.DOTALL)
    assert put_form is not None
    form = put_form[0]
    assert 'name="title" class="form-control" type="text"  value="Fill me"' in form
    assert '<option value="high" selected' in form
    assert 'placeholder="home&#10;errands">\na\nb</textarea>' in form
    assert 'type="datetime-local" step="0.001"\n           value="2026-12-01T16:00:00.000"' in form
    assert "<textarea" in form and 'name="description"' in form
    assert "None" not in re.sub(r"<[^>]+>", "", form)  # no field shows a missing value or error as text


def test_put_from_the_form_updates_and_redraws_the_form_from_the_task(client, table):
    task = _create(client, title="Before")
    body = ("--b\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nAfter\r\n"
            "--b\r\nContent-Disposition: form-data; name=\"tags\"\r\n\r\nx\r\ny\r\n"
            "--b\r\nContent-Disposition: form-data; name=\"dueDate\"\r\n\r\n\r\n--b--\r\n")

    response = client.put(f"/tasks/{task['taskId']}", body, content_type="multipart/form-data; boundary=b",
                          HTTP_ACCEPT="text/html; q=1.0, */*")

    assert response.status_code == 200
    assert 'value="After"' in response.content.decode()
    assert {k: v for k, v in client.get(f"/tasks/{task['taskId']}").json().items()
            if k in ("title", "tags", "dueDate", "version")} == {"title": "After", "tags": ["x", "y"],
                                                                 "dueDate": None, "version": 2}


def test_list_page_links_to_the_next_page(client, table):
    for number in range(3):
        _create(client, title=f"Task {number}")

    page = client.get("/tasks?limit=2", HTTP_ACCEPT=HTML).content.decode()

    link = re.search(r'<a id="next-page"[^>]*href="([^"]+)"', page)
    assert link is not None
    assert link[1].startswith("http://testserver/tasks?order=desc&amp;limit=2&amp;cursor=")
    assert "None" not in re.search(r'<ul class="nav navbar-nav pull-right">(.*?)</ul>', page, re.DOTALL)[1]


def test_root_links_json_clients_and_browsers_to_tasks_and_docs(client):
    response = client.get("/")

    assert response.status_code == 200
    assert response.json() == {"tasks": "http://testserver/tasks", "docs": "http://testserver/docs",
                               "openapi": "http://testserver/openapi.json"}
    page = client.get("/", HTTP_ACCEPT=HTML).content.decode()
    assert 'href="http://testserver/docs"' in page and 'href="http://testserver/tasks"' in page


def test_docs_load_swagger_ui_from_this_server_only(client):
    response = client.get("/docs", HTTP_ACCEPT=HTML)

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert re.findall(r'(?:src|href)="(https?:)?//', page) == []


def test_schema_documents_json_bodies_and_a_server_at_the_script_prefix(client):
    schema = client.get("/openapi.json").json()
    staged = client.get("/openapi.json", SCRIPT_NAME="/dev").json()

    assert schema["servers"] == [{"url": "/"}]
    assert staged["servers"] == [{"url": "/dev"}]
    assert list(schema["paths"]["/tasks"]["post"]["requestBody"]["content"]) == ["application/json"]
    patch = schema["paths"]["/tasks/{taskId}"]["patch"]["requestBody"]["content"]
    assert list(patch) == ["application/json", "application/merge-patch+json"]
    assert "/" not in schema["paths"]


def test_tag_errors_show_under_the_tags_input_with_the_tag_number(client):
    response = client.post("/tasks", {"title": "x", "tags": f"ok\n{'t' * 65}"}, HTTP_ACCEPT=HTML)

    assert response.status_code == 400
    page = response.content.decode()
    tags_group = re.search(r'<div class="form-group has-error">\s*<label[^>]*>Tags</label>(.*?)</div>', page, re.DOTALL)
    assert tags_group is not None
    assert "Tag 2: Ensure this field has no more than 64 characters." in tags_group[1]
    assert f'errands">\nok\n{"t" * 65}</textarea>' in tags_group[1]  # what was typed stays in the input


def test_a_due_date_that_is_not_a_date_shows_under_the_field(client):
    response = client.post("/tasks", {"title": "x", "dueDate": "tomorrow"}, HTTP_ACCEPT=HTML)

    assert response.status_code == 400
    page = response.content.decode()
    due_group = re.search(r'<div class="form-group has-error">\s*<label[^>]*>Due date \(UTC\)</label>(.*?)</div>',
                          page, re.DOTALL)
    assert due_group is not None
    assert "Must be an RFC 3339 date-time with a time zone" in due_group[1]
