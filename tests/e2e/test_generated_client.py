"""A client generated from the live /openapi.json by openapi-python-client, driven as a new user would.

The client is generated at test time into a temporary directory (never committed), so the test
always meets the schema the server serves now. Every request body it sends is recorded, to check
that a partial update carries only the fields the caller set.
"""
import datetime
import importlib
import json
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import requests

pytestmark = pytest.mark.e2e

GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(scope="module")
def generated(api_server, tmp_path_factory):
    """The generated package `taskapi_client`, imported from a temporary directory."""
    root = tmp_path_factory.mktemp("generated")
    schema = root / "openapi.json"
    schema.write_text(requests.get(f"{api_server.url}/openapi.json", timeout=10).text)
    config = root / "config.json"
    # No post hooks: the generator would otherwise run ruff over the output, which the test does not need.
    config.write_text(json.dumps({"post_hooks": [], "package_name_override": "taskapi_client"}))
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(schema), "--output-path", str(root / "taskapi_client"),
         "--meta", "none", "--config", str(config)],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("taskapi_client")
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name.split(".")[0] == "taskapi_client"]:
            del sys.modules[name]


@pytest.fixture
def sent(api_server, generated):
    """A generated client, and the list of (method, content type, JSON body) of every request it made."""
    bodies: list[tuple[str, str | None, dict | None]] = []

    def record(request: httpx.Request) -> None:
        content = request.read()
        bodies.append((request.method, request.headers.get("Content-Type"),
                       json.loads(content) if content else None))

    with generated.Client(base_url=api_server.url, raise_on_unexpected_status=True,
                          httpx_args={"event_hooks": {"request": [record]}}) as client:
        yield client, bodies


def _module(generated, name: str):
    return importlib.import_module(f"taskapi_client.{name}")


def test_generated_client_creates_reads_revalidates_pages_updates_and_deletes(generated, sent):
    client, bodies = sent
    models = _module(generated, "models")
    api = {name: _module(generated, f"api.tasks.{name}") for name in
           ("tasks_create", "tasks_retrieve", "tasks_list", "tasks_partial_update", "tasks_destroy")}
    tag = f"gen-{uuid.uuid4().hex[:8]}"
    due = datetime.datetime(2026, 12, 15, 17, 0, 0, 123000, tzinfo=datetime.UTC)

    # Create: the defaults of the create body (status, priority) are the API's own.
    created = api["tasks_create"].sync_detailed(client=client, body=models.TaskWriteRequest(
        title="Generated", priority=models.PriorityEnum.HIGH, tags=[tag, "with, comma"], due_date=due,
        description=None))
    assert created.status_code == 201
    task = created.parsed
    assert (task.title, task.status, task.priority, task.tags, task.due_date, task.description, task.version) == (
        "Generated", models.StatusEnum.PENDING, models.PriorityEnum.HIGH, [tag, "with, comma"], due, None, 1)
    assert created.headers["ETag"] == '"1"'

    # Get, then revalidate: 304 while unchanged.
    fetched = api["tasks_retrieve"].sync_detailed(task.task_id, client=client)
    assert fetched.status_code == 200 and fetched.parsed == task
    assert fetched.headers["Cache-Control"] == "private, no-cache"
    etag = fetched.headers["ETag"]
    not_modified = api["tasks_retrieve"].sync_detailed(task.task_id, client=client, if_none_match=etag)
    assert (not_modified.status_code, not_modified.content, not_modified.headers["ETag"]) == (304, b"", etag)

    # List and page: two more tasks with the tag, pages of two, every task exactly once.
    others = [api["tasks_create"].sync(client=client, body=models.TaskWriteRequest(title=f"Other {n}", tags=[tag]))
              for n in range(2)]
    seen, cursor, pages = [], generated.types.UNSET, 0
    while True:
        page = api["tasks_list"].sync(client=client, tag=tag, limit=2, cursor=cursor)
        seen += [item.task_id for item in page.results]
        pages += 1
        if page.next_ is None:
            break
        cursor = parse_qs(urlsplit(page.next_).query)["cursor"][0]
    assert pages == 2
    assert sorted(seen) == sorted([task.task_id, *(other.task_id for other in others)])

    # Partial update with If-Match: only the title goes over the wire, and nothing else changes.
    bodies.clear()
    renamed = api["tasks_partial_update"].sync_detailed(
        task.task_id, client=client, if_match=etag, body=models.PatchedTaskUpdateRequest(title="Renamed"))
    assert renamed.status_code == 200
    assert bodies == [("PATCH", "application/merge-patch+json", {"title": "Renamed"})]
    after = renamed.parsed
    assert after.title == "Renamed" and after.version == 2
    unchanged = ("status", "priority", "tags", "due_date", "description", "created_at", "task_id")
    assert {name: getattr(after, name) for name in unchanged} == {name: getattr(task, name) for name in unchanged}

    # The same If-Match again is stale now: 412, as a parsed problem, and the task is as it was.
    stale = api["tasks_partial_update"].sync_detailed(
        task.task_id, client=client, if_match=etag, body=models.PatchedTaskUpdateRequest(title="Lost"))
    assert stale.status_code == 412 and stale.parsed.status == 412
    # Sending what is stored already changes nothing: same version, same updatedAt.
    same = api["tasks_partial_update"].sync(task.task_id, client=client,
                                            body=models.PatchedTaskUpdateRequest(title="Renamed"))
    assert same == after

    # Delete with If-Match, then it is gone.
    deleted = api["tasks_destroy"].sync_detailed(task.task_id, client=client, if_match='"2"')
    assert deleted.status_code == 200 and deleted.parsed.deleted is True
    gone = api["tasks_retrieve"].sync_detailed(task.task_id, client=client)
    assert gone.status_code == 404 and gone.parsed.title == "Task not found"
    for other in others:
        api["tasks_destroy"].sync(other.task_id, client=client)


def test_update_schema_gives_a_generated_client_no_defaults(generated):
    models = _module(generated, "models")
    # A fresh update model sets nothing: serialised, it is empty (the server then asks for a field).
    assert models.PatchedTaskUpdateRequest().to_dict() == {}
    assert models.PatchedTaskUpdateRequest(priority=models.PriorityEnum.LOW).to_dict() == {"priority": "low"}
