"""What clients rely on beyond validity (issue 12): every valid task fits the body cap in any JSON encoding,
text is free of control characters, updates that change nothing change nothing, and a missing task's
browsable page offers nothing to edit."""
import json

import pytest
from django.conf import settings
from django.test import Client

from tasks.domain import DESCRIPTION_MAX, TAG_MAX, TAGS_MAX, TITLE_MAX
from tests.harness import table_items
from tests.problems import invalid

HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ASTRAL = 0x1F600  # characters outside the BMP: one code point, a 12-byte surrogate pair when escaped


def _escape_everything(text: str) -> str:
    """Returns `text` as a JSON string with every character escaped: the largest valid encoding of it."""
    units = text.encode("utf-16-be")
    return '"' + "".join(f"\\u{int.from_bytes(units[i:i + 2], 'big'):04x}" for i in range(0, len(units), 2)) + '"'


def _dumps_largest(value, indent: int = 4, level: int = 0) -> str:
    """JSON with every string character escaped and pretty-printed with CRLF and `indent` spaces."""
    pad, inner = "\r\n" + " " * indent * level, "\r\n" + " " * indent * (level + 1)
    if isinstance(value, dict):
        members = [f"{inner}{_escape_everything(key)} : {_dumps_largest(item, indent, level + 1)}"
                   for key, item in value.items()]
        return "{" + " ,".join(members) + pad + "}"
    if isinstance(value, list):
        return "[" + " ,".join(inner + _dumps_largest(item, indent, level + 1) for item in value) + pad + "]"
    return _escape_everything(value) if isinstance(value, str) else json.dumps(value)


def _largest_task() -> dict:
    """A valid task with every field at its limit, in characters that escape to the most bytes."""
    def text(length: int, start: int) -> str:
        return "".join(chr(ASTRAL + start + i % 64) for i in range(length))

    return {
        "title": text(TITLE_MAX, 0),
        "description": text(DESCRIPTION_MAX, 0),
        "status": "in_progress",
        "priority": "medium",
        "dueDate": "2026-11-25T06:14:00.123456789+02:00",
        # distinct tags: each starts with its own character
        "tags": [chr(ASTRAL + 100 + n) + text(TAG_MAX - 1, 0) for n in range(TAGS_MAX)],
    }


def test_the_body_cap_admits_the_largest_valid_task_in_its_largest_json_encoding():
    body = _dumps_largest(_largest_task())
    assert json.loads(body) == _largest_task()
    # ~162 KB; the cap (192 KiB) leaves room, and stays far under API Gateway's 10 MB and Lambda's 6 MB.
    assert 150_000 < len(body.encode()) <= settings.MAX_BODY_BYTES


def test_the_largest_valid_task_is_created_and_written_back_in_its_largest_encoding(api, table):
    task = _largest_task()
    created = api.post("/tasks", _dumps_largest(task), content_type="application/json")
    assert created.status_code == 201, created.content[:300]
    stored = created.json()

    again = api.put(f"/tasks/{stored['taskId']}", _dumps_largest(task), content_type="application/json")

    assert again.status_code == 200
    assert again.json() == stored  # written back unchanged: the same version


@pytest.mark.parametrize("field, value", [
    ("title", "bell\x07"), ("title", "two\nlines"), ("title", "del\x7f"), ("title", "c1\x85"),
    ("description", "nul\x00"), ("description", "escape\x1b[31m"),
])
def test_control_characters_in_text_are_refused(api, table, field, value):
    body = {"title": "ok", field: value}
    response = api.post("/tasks", body, format="json")

    message = ("Must not contain control characters other than tab and line breaks." if field == "description"
               else "Must not contain control characters.")
    assert response.status_code == 400
    assert response.json() == invalid({field: [message]})
    assert table_items(table) == []


def test_tags_refuse_line_breaks_and_descriptions_keep_them(api, table):
    refused = api.post("/tasks", {"title": "t", "tags": ["one\ntwo"]}, format="json")
    kept = api.post("/tasks", {"title": "t", "description": "line 1\r\n\tline 2\n"}, format="json")

    assert refused.json() == invalid({"tags": ["0: Must not contain control characters."]})
    assert kept.status_code == 201 and kept.json()["description"] == "line 1\r\n\tline 2\n"


def test_an_update_that_changes_nothing_keeps_version_and_updated_at(api, table):
    task = api.post("/tasks", {"title": "Same", "tags": ["a"], "dueDate": "2026-12-01T10:00:00.500Z"},
                    format="json").json()

    same = api.patch(f"/tasks/{task['taskId']}", {"title": "Same", "tags": ["a"], "priority": "medium",
                                                  "dueDate": "2026-12-01T12:00:00.500+02:00"}, format="json")
    stale = api.patch(f"/tasks/{task['taskId']}", {"title": "Same"}, format="json", HTTP_IF_MATCH='"9"')

    assert same.status_code == 200 and same.json() == task and same["ETag"] == '"1"'
    assert stale.status_code == 412  # a no-op still honours If-Match
    assert [item["version"] for item in table_items(table)] == [{"N": "1"}]


@pytest.fixture
def client() -> Client:
    return Client()


def test_a_missing_tasks_browsable_page_offers_no_edit_form_and_no_delete(client, table):
    response = client.get("/tasks/00000000-0000-4000-8000-000000000000", HTTP_ACCEPT=HTML)
    page = response.content.decode()

    assert response.status_code == 404
    assert 'data-method="PUT"' not in page and 'data-method="PATCH"' not in page
    assert "#deleteModal" not in page and 'name="title"' not in page


def test_an_existing_tasks_browsable_page_still_has_both(client, table):
    task = client.post("/tasks", {"title": "Here"}, content_type="application/json").json()
    page = client.get(f"/tasks/{task['taskId']}", HTTP_ACCEPT=HTML).content.decode()

    assert 'data-method="PUT"' in page and "#deleteModal" in page
