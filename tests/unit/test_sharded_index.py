"""Issue 18: the write-sharded listing indexes, their keys on every write, and the online backfill."""
import io
import threading
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command

from ops import index_backfill
from tasks import repository, shards
from tasks.domain import Task
from tests import harness
from tests.unit.test_list_cost import dynamodb_calls  # noqa: F401 (fixture)


def _task(i: int, *, at: str, status="pending", priority="medium", tags=()) -> Task:
    return Task(task_id=str(uuid.uuid4()), title=f"t{i}", status=status, priority=priority,
                created_at=at, updated_at=at, version=1, tags=list(tags))


def _pages(api, params: dict) -> list[list[dict]]:
    pages = [api.get("/tasks", params).json()]
    while pages[-1]["next"]:
        query = parse_qs(urlsplit(pages[-1]["next"]).query)
        pages.append(api.get("/tasks", {k: v[0] for k, v in query.items()}).json())
    return [page["results"] for page in pages]


def _item(table: str, task_id: str) -> dict:
    return harness.dynamodb().get_item(TableName=table, Key={"taskId": {"S": task_id}}, ConsistentRead=True)["Item"]


def test_shards_are_stable_spread_and_in_range():
    ids = [str(uuid.UUID(int=i)) for i in range(4000)]
    counts = [0] * 8
    for task_id in ids:
        shard = shards.task_shard(task_id, shards=8)
        assert shard == shards.task_shard(task_id, shards=8)
        counts[shard] += 1
    assert min(counts) > 400 and max(counts) < 600  # 500 expected each
    assert shards.list_key(owner=None, status="pending", shard=3) == "#pending#3"
    assert shards.priority_key(owner="ann", status="completed", priority="high", shard=0) == "ann#completed#high#0"


def test_every_write_keeps_both_index_keys(api, table):
    assert shards.shard_count() > 1  # the listing tests below cross shard boundaries
    task = api.post("/tasks", {"title": "a", "priority": "low"}, format="json").json()
    shard = shards.task_shard(task["taskId"])
    assert _item(table, task["taskId"])["listKey"] == {"S": f"#pending#{shard}"}
    api.patch(f"/tasks/{task['taskId']}", {"status": "completed"}, format="json")
    item = _item(table, task["taskId"])
    assert (item["listKey"], item["priorityKey"]) == ({"S": f"#completed#{shard}"}, {"S": f"#completed#low#{shard}"})
    api.patch(f"/tasks/{task['taskId']}", {"priority": "high"}, format="json")
    assert _item(table, task["taskId"])["priorityKey"] == {"S": f"#completed#high#{shard}"}
    listed = api.get("/tasks", {"status": "completed", "priority": "high"}).json()["results"]
    assert [t["taskId"] for t in listed] == [task["taskId"]]
    assert api.get("/tasks", {"status": "pending"}).json()["results"] == []


@pytest.mark.parametrize("params", [{"limit": 3}, {"limit": 4, "order": "asc"}, {"limit": 2, "priority": "high"},
                                    {"limit": 3, "status": "pending", "tag": "red"}])
def test_listing_across_shards_with_ties_returns_each_task_once_newest_first(api, table, params):
    # 40 tasks on 5 timestamps: every tie group spans several shards.
    tasks = [repository.task_insert(task=_task(i, at=f"2026-11-22T10:00:0{i % 5}.000Z", status=("pending", "completed")[i % 2],
                                               priority=("high", "low")[i % 3 == 0], tags=["red"] * (i % 4 == 0)))
             for i in range(40)]
    assert len({shards.task_shard(t.task_id) for t in tasks}) == shards.shard_count()
    pages = _pages(api, params)
    assert all(pages)  # no empty page after a non-null next
    seen = [t["taskId"] for page in pages for t in page]
    wanted = [t for t in tasks if (params.get("priority") in (None, t.priority))
              and params.get("status") in (None, t.status) and (params.get("tag") in (None, *t.tags))]
    order = sorted(wanted, key=lambda t: (t.created_at, t.task_id), reverse=params.get("order") != "asc")
    assert seen == [t.task_id for t in order]


def test_a_priority_page_reads_only_matching_tasks(api, table, dynamodb_calls):  # noqa: F811
    for i in range(120):
        repository.task_insert(task=_task(i, at=f"2026-11-22T11:{i // 60:02d}:{i % 60:02d}.000Z", priority="low"))
    for i in range(3):
        repository.task_insert(task=_task(i, at=f"2026-11-22T09:00:0{i}.000Z", priority="high"))
    dynamodb_calls.clear()
    assert len(api.get("/tasks", {"priority": "high", "limit": 10}).json()["results"]) == 3
    assert {index for _, index, _ in dynamodb_calls} == {"priority-shard-index"}
    assert sum(read for _, _, read in dynamodb_calls) == 3  # none of the 120 low ones


def _old_item(table: str, i: int) -> str:
    """Writes a task as code from before issue 18 did: no listKey, no priorityKey."""
    task_id = str(uuid.uuid4())
    at = f"2026-11-23T10:00:{i % 60:02d}.{i // 60:03d}Z"
    harness.dynamodb().put_item(TableName=table, Item={
        "taskId": {"S": task_id}, "title": {"S": f"old {i}"}, "status": {"S": "pending"},
        "priority": {"S": "medium"}, "createdAt": {"S": at}, "updatedAt": {"S": at}, "version": {"N": "1"},
        "tags": {"L": []}})
    return task_id


@pytest.fixture
def unmigrated(table):
    """The table as create_table finds it before the backfill: old items, the legacy indexes (a new table,
    as this session's, lacks them), layout not recorded."""
    from ops import aws
    from ops.specs import LEGACY_INDEX_SPECS, TableSpec

    have = {index["IndexName"] for index in aws.table_describe(table)["GlobalSecondaryIndexes"]}
    attributes = TableSpec(name=table).create_request(legacy=True)["AttributeDefinitions"]
    for index in LEGACY_INDEX_SPECS:
        if index["IndexName"] not in have:
            keys = {key["AttributeName"] for key in index["KeySchema"]}
            aws.table_index_add(table, index=index, attributes=[a for a in attributes if a["AttributeName"] in keys])
    repository.index_backfill_record(state="running", resume=None)
    repository.index_layout_reset_cache()
    yield table
    repository.index_backfill_record(state="complete")
    repository.index_layout_reset_cache()


def test_listing_switches_only_after_a_backfill_under_concurrent_writes(api, unmigrated):
    old = [_old_item(unmigrated, i) for i in range(60)]
    listed = {t["taskId"] for page in _pages(api, {"limit": 50}) for t in page}
    assert listed == set(old)  # still the old index while the backfill has not run

    stop, written = threading.Event(), []

    def writer():  # creates and status changes while the backfill runs
        while not stop.is_set():
            task = api.post("/tasks", {"title": "new"}, format="json").json()
            api.patch(f"/tasks/{task['taskId']}", {"status": "in_progress"}, format="json")
            written.append(task["taskId"])

    thread = threading.Thread(target=writer)
    thread.start()
    out = io.StringIO()
    try:
        index_backfill.backfill(fresh=False, dry_run=False, out=out, segments=2, page_size=7)
    finally:
        stop.set()
        thread.join()
    assert out.getvalue().startswith("index backfill: complete (")
    assert repository.index_backfill_state() == ("complete", None)
    repository.index_layout_reset_cache()
    pages = _pages(api, {"limit": 25})
    assert all(pages)
    seen = [t["taskId"] for page in pages for t in page]
    assert sorted(seen) == sorted(old + written) and len(seen) == len(set(seen))
    in_progress = {t["taskId"] for page in _pages(api, {"status": "in_progress"}) for t in page}
    assert in_progress == set(written)
    assert all(_item(unmigrated, task_id)["version"] == {"N": "1"} for task_id in old)  # no ETag moved


def test_an_interrupted_backfill_resumes_where_it_stopped(unmigrated, monkeypatch):
    old = [_old_item(unmigrated, i) for i in range(30)]
    real, calls = repository.task_index_backfill_page, []

    def crash_after_three_pages(**kwargs):
        if len(calls) == 3:
            raise RuntimeError("crash")
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(repository, "task_index_backfill_page", crash_after_three_pages)
    with pytest.raises(RuntimeError):
        index_backfill.backfill(fresh=False, dry_run=False, out=io.StringIO(), segments=1, page_size=5)
    state, resume = repository.index_backfill_state()
    assert state == "running" and resume[0]["start"] is not None
    monkeypatch.setattr(repository, "task_index_backfill_page", lambda **kwargs: calls.append(kwargs) or real(**kwargs))
    index_backfill.backfill(fresh=False, dry_run=False, out=io.StringIO(), segments=1, page_size=5)
    assert calls[3]["start"] == resume[0]["start"]  # went on from the recorded key, not from the start
    # 30 items in pages of 5: 3 before the crash, 3 after (and an empty one where the engine still
    # answered a LastEvaluatedKey with the sixth page).
    assert len(calls) in (6, 7)
    assert all("listKey" in _item(unmigrated, task_id) for task_id in old)


def test_create_table_reports_the_backfill_and_a_second_run_changes_nothing():
    out = io.StringIO()
    call_command("create_table", stdout=out)
    assert "index backfill: unchanged (complete)" in out.getvalue()


def test_the_changes_feed_ignores_a_backfill_write_but_not_a_task_change():
    from tasks import changelog, feed

    image = {"taskId": {"S": str(uuid.uuid4())}, "title": {"S": "old"}, "status": {"S": "pending"},
             "priority": {"S": "low"}, "createdAt": {"S": "2026-11-23T10:00:00.000Z"},
             "updatedAt": {"S": "2026-11-23T10:00:00.000Z"}, "version": {"N": "3"}, "tags": {"L": []},
             "owner": {"S": f"feed-{uuid.uuid4().hex}"}}
    keyed = {**image, "listKey": {"S": "x#pending#0"}, "priorityKey": {"S": "x#pending#low#0"}}
    owner = image["owner"]["S"]
    backfill_write = {"eventName": "MODIFY", "dynamodb": {"OldImage": image, "NewImage": keyed}}
    assert feed.change_record(backfill_write) == 0  # no change recorded
    assert changelog.changes_head(owner=owner) == 0
    edited = {**keyed, "title": {"S": "new"}, "version": {"N": "4"}}
    edited_write = {"eventName": "MODIFY", "dynamodb": {"OldImage": keyed, "NewImage": edited}}
    assert feed.change_record(edited_write) == 1  # its seq in the owner's log
    assert changelog.changes_head(owner=owner) == 1


def test_retiring_the_legacy_indexes_deletes_them_once_and_create_table_does_not_add_them_back():
    from ops import aws
    from ops.management.commands.create_table import Command
    from ops.specs import TableSpec

    name = f"taskapi-test-retire-{uuid.uuid4().hex[:8]}"
    aws.table_create(TableSpec(name=name).create_request(legacy=True))  # a table from before issue 18
    try:
        out = io.StringIO()
        command = Command(stdout=out)
        command._retire(name, dry_run=False)
        command._retire(name, dry_run=False)
        assert out.getvalue().splitlines() == [
            f"index status-index on {name}: retire", f"index owner-status-index on {name}: retire",
            f"index status-index on {name}: unchanged (retired)", f"index owner-status-index on {name}: unchanged (retired)"]
        current = aws.table_describe(name)
        command._indexes(name, current, TableSpec(name=name).create_request(legacy=True), dry_run=False,
                         retired=command._retired())
        indexes = {index["IndexName"] for index in aws.table_describe(name)["GlobalSecondaryIndexes"]}
        assert indexes == {"list-shard-index", "priority-shard-index"}
    finally:
        aws.table_delete(name)


def test_legacy_indexes_are_not_retired_before_the_backfill_completes(unmigrated):
    from django.core.management.base import CommandError

    from ops.management.commands.create_table import Command

    with pytest.raises(CommandError, match="backfill is not complete"):
        Command(stdout=io.StringIO())._retire(unmigrated, dry_run=False)


def test_a_new_table_gets_only_the_sharded_indexes_and_an_old_one_keeps_its_legacy_ones():
    from ops import aws
    from ops.specs import TableSpec

    fresh, old = (f"taskapi-test-layout-{uuid.uuid4().hex[:8]}" for _ in range(2))
    aws.table_create(TableSpec(name=fresh).create_request())
    aws.table_create(TableSpec(name=old).create_request(legacy=True))
    try:
        def indexes(name: str) -> set[str]:
            return {index["IndexName"] for index in aws.table_describe(name)["GlobalSecondaryIndexes"]}

        assert indexes(fresh) == {"list-shard-index", "priority-shard-index"}
        out = io.StringIO()
        call_command("create_table", table=old, stdout=out)  # --table: the old table's layout is its own
        assert indexes(old) == {"status-index", "owner-status-index", "list-shard-index", "priority-shard-index"}
        assert not [line for line in out.getvalue().splitlines() if line.endswith(": add")]
        call_command("create_table", table=fresh, stdout=out)
        assert indexes(fresh) == {"list-shard-index", "priority-shard-index"}  # nothing legacy added back
        assert not [line for line in out.getvalue().splitlines() if line.endswith(": add")]
    finally:
        aws.table_delete(fresh)
        aws.table_delete(old)
