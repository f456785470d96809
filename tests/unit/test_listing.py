"""GET /tasks: order, filters, limits and cursors over a known set of 57 tasks."""
import uuid
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing

from tasks import repository
from tasks.domain import Task, timestamp
from tests.problems import RFC3339_MESSAGE, invalid, problem

STATUSES = ("pending", "in_progress", "completed")
PRIORITIES = ("low", "medium", "high")


def _created_at(i: int) -> str:
    # Task 5k shares its timestamp with task 5k-1, so ties broken by taskId are exercised.
    second = i - 1 if i % 5 == 0 and i else i
    return f"2026-11-20T10:00:{second:02d}.000Z"


@pytest.fixture(scope="module")
def tasks_57() -> list[Task]:
    """57 tasks over every status and priority, a few tags, some with equal createdAt."""
    import os

    from tests.harness import table_clear

    table_clear(os.environ["TASKS_TABLE"])
    table_clear(f"{os.environ['TASKS_TABLE']}-tags", keys=("taskId", "slot"))  # their tag slots (issue 18)
    tasks = []
    for i in range(57):
        created = _created_at(i)
        task = Task(
            task_id=str(uuid.UUID(int=(i * 7919) % 1000 + (i << 64))),
            title=f"task {i}",
            status=STATUSES[i % 3],
            priority=PRIORITIES[(i // 3) % 3],
            created_at=created,
            updated_at=created,
            version=1,
            tags=[tag for tag, every in (("red", 2), ("blue", 5)) if i % every == 0],
        )
        tasks.append(repository.task_insert(task=task))
    return tasks


def _expected(tasks, *, status=None, priority=None, tag=None, created_from=None, created_to=None, order="desc"):
    matching = [
        t for t in tasks
        if (status is None or t.status == status)
        and (priority is None or t.priority == priority)
        and (tag is None or tag in t.tags)
        and (created_from is None or t.created_at >= created_from)
        and (created_to is None or t.created_at <= created_to)
    ]
    return [t.task_id for t in sorted(matching, key=lambda t: (t.created_at, t.task_id), reverse=order == "desc")]


def _all_pages(api, params: dict) -> tuple[list[str], list[dict]]:
    """Follows `next` from the first page; returns every taskId seen and every page."""
    pages = [api.get("/tasks", params)]
    while pages[-1].json()["next"]:
        link = urlsplit(pages[-1].json()["next"])
        assert link.scheme == "http" and link.netloc == "testserver" and link.path == "/tasks"
        pages.append(api.get(link.path, {k: v[0] for k, v in parse_qs(link.query).items()}))
    assert all(page.status_code == 200 for page in pages)
    return [task["taskId"] for page in pages for task in page.json()["results"]], [p.json() for p in pages]


FILTERS = [
    {},
    {"order": "asc"},
    {"status": "pending"},
    {"status": "completed", "order": "asc"},
    {"priority": "high"},
    {"tag": "red"},
    {"tag": "blue", "priority": "low"},
    {"status": "in_progress", "tag": "red"},
    {"tag": "blue", "order": "asc"},  # issue 18: the tag indexes, with every other filter
    {"tag": "red", "status": "completed", "priority": "low"},
    {"tag": "red", "priority": "medium", "order": "asc"},
    {"createdFrom": "2026-11-20T10:00:10.000Z"},
    {"createdTo": "2026-11-20T10:00:30.000Z", "order": "asc"},
    {"createdFrom": "2026-11-20T10:00:05.000Z", "createdTo": "2026-11-20T10:00:40.000Z", "status": "pending"},
    {"createdFrom": "2026-11-20T10:00:05Z", "createdTo": "2026-11-20T10:00:40+00:00", "priority": "medium",
     "tag": "red", "order": "asc"},
    {"status": "pending", "priority": "low", "tag": "nothing-has-this"},
]

_PARAM_TO_ARG = {"status": "status", "priority": "priority", "tag": "tag", "createdFrom": "created_from",
                 "createdTo": "created_to", "order": "order"}


def _normalised(value: str) -> str:
    return value if value in ("asc", "desc") or "T" not in value else timestamp(datetime.fromisoformat(value))


@pytest.mark.parametrize("limit", [1, 7, 100])
@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: "&".join(f"{k}={v}" for k, v in f.items()) or "all")
def test_pages_return_every_matching_task_exactly_once_in_order(api, tasks_57, filters, limit):
    expected = _expected(tasks_57, **{_PARAM_TO_ARG[k]: _normalised(v) for k, v in filters.items()})
    seen, pages = _all_pages(api, {**filters, "limit": limit})
    assert seen == expected
    assert len(pages) == max(1, -(-len(expected) // limit))  # no empty page after a non-null next
    assert all(len(page["results"]) == limit for page in pages[:-1])


def test_ties_in_created_at_are_ordered_by_task_id(api, tasks_57):
    seen, _ = _all_pages(api, {"limit": 3})
    by_id = {t.task_id: t for t in tasks_57}
    keys = [(by_id[i].created_at, i) for i in seen]
    assert keys == sorted(keys, reverse=True)
    assert len({by_id[i].created_at for i in seen}) < len(seen)  # the data really has ties


def test_default_page_is_20_newest_first(api, tasks_57):
    body = api.get("/tasks").json()
    assert [t["taskId"] for t in body["results"]] == _expected(tasks_57)[:20]
    assert set(parse_qs(urlsplit(body["next"]).query)) == {"limit", "cursor", "order"}


def test_limit_over_100_is_capped(api, tasks_57):
    body = api.get("/tasks", {"limit": 500}).json()
    assert len(body["results"]) == 57 and body["next"] is None
    assert len(api.get("/tasks", {"limit": 101, "status": "pending"}).json()["results"]) == 19


def test_next_carries_every_filter(api, tasks_57):
    params = {"status": "pending", "priority": "low", "tag": "red", "createdFrom": "2026-11-20T10:00:00.000Z",
              "createdTo": "2026-11-20T11:00:00.000Z", "order": "asc", "limit": "1"}
    body = api.get("/tasks", params).json()
    query = {k: v[0] for k, v in parse_qs(urlsplit(body["next"]).query).items()}
    assert query.pop("cursor")
    assert query == params


def test_tampered_cursor_returns_400(api, tasks_57):
    cursor = parse_qs(urlsplit(api.get("/tasks", {"limit": 2}).json()["next"]).query)["cursor"][0]
    tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    response = api.get("/tasks", {"limit": 2, "cursor": tampered})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == problem(400, "Invalid cursor", "The cursor is not one this API issued; start again without it.")


def test_cursor_signed_with_another_key_returns_400(api, tasks_57):
    foreign = signing.dumps({"a": ["2026-11-20T10:00:00.000Z", str(uuid.uuid4())], "f": {"order": "desc"}},
                            key="another-deployment", salt="tasks.cursor.v1", compress=True)
    response = api.get("/tasks", {"cursor": foreign})
    assert response.status_code == 400
    assert response.json()["title"] == "Invalid cursor"


def test_cursor_reused_with_other_filters_returns_400(api, tasks_57):
    cursor = parse_qs(urlsplit(api.get("/tasks", {"limit": 2, "status": "pending"}).json()["next"]).query)["cursor"][0]
    response = api.get("/tasks", {"limit": 2, "status": "completed", "cursor": cursor})
    assert response.status_code == 400
    assert response.json() == problem(
        400, "Invalid cursor", "The cursor belongs to a listing with other filters; keep the filters of `next`.")


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"limit": "0"}, {"limit": ["Ensure this value is greater than or equal to 1."]}),
        ({"limit": "ten"}, {"limit": ["Must be a whole number written with digits only, such as 20."]}),
        ({"status": "done"}, {"status": ["Must be one of: pending, in_progress, completed."]}),
        ({"priority": "urgent"}, {"priority": ["Must be one of: low, medium, high."]}),
        ({"order": "random"}, {"order": ["Must be one of: desc, asc."]}),
        ({"createdFrom": "yesterday"},
         {"createdFrom": [RFC3339_MESSAGE]}),
        ({"createdFrom": "2026-11-21T00:00:00Z", "createdTo": "2026-11-20T00:00:00Z"},
         {"createdFrom": ["Must not be after createdTo."]}),
        ({"sort": "title"}, {"sort": ["Unknown query parameter."]}),
    ],
)
def test_invalid_list_parameters_return_400(api, params, errors):
    response = api.get("/tasks", params)
    assert response.status_code == 400
    assert response.json() == invalid(errors)


def test_repeated_parameter_returns_400(api):
    response = api.get("/tasks?status=pending&status=completed")
    assert response.json() == invalid({"status": ["Give this parameter once."]})
