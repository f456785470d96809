"""Issue 18: tag listings served by the tag indexes: slots kept in the task's transaction, pages that cost a
page, the backfill under concurrent writes, and atomic batches within DynamoDB's 100 actions."""
import dataclasses
import io
import os
import threading
import uuid

import pytest
from pynamodb.exceptions import TransactWriteError

from ops import index_backfill
from tasks import repository, shards
from tasks.domain import Task
from tasks.models import TaskModel, TaskTagModel
from tests import harness
from tests.problems import problem
from tests.unit.test_ownership import ALICE, BOB_IAM, NOBODY, call, handler  # noqa: F401 (fixture)
from tests.unit.test_sharded_index import _pages


def _tags_table() -> str:
    return f"{os.environ['TASKS_TABLE']}-tags"


def _slots(task_id: str) -> list[tuple[int, str, str, str]]:
    """The task's items in the tags table: (slot, tag, tagKey, tagPriorityKey), by slot."""
    items = [item for item in harness.table_items(_tags_table()) if item["taskId"]["S"] == task_id]
    return sorted((int(i["slot"]["N"]), i["tag"]["S"], i["tagKey"]["S"], i["tagPriorityKey"]["S"]) for i in items)


def _wanted_slots(task_id: str, *, tags, status: str, priority: str, owner: str | None = None) -> list[tuple]:
    shard = shards.task_shard(task_id)
    return [(slot, tag, shards.tag_key(owner=owner, status=status, tag=tag, shard=shard),
             shards.tag_priority_key(owner=owner, status=status, priority=priority, tag=tag, shard=shard))
            for slot, tag in enumerate(tags)]


def _listed(api, params: dict) -> list[str]:
    pages = _pages(api, params)
    assert all(pages) or len(pages) == 1  # no empty page after a non-null next
    return [task["taskId"] for page in pages for task in page]


def _task(i: int, *, at: str, status="pending", priority="medium", tags=()) -> Task:
    return Task(task_id=str(uuid.uuid4()), title=f"t{i}", status=status, priority=priority,
                created_at=at, updated_at=at, version=1, tags=list(tags))


# -- keys ------------------------------------------------------------------------------------------------------

def test_tag_keys_are_unambiguous_although_tags_and_owners_contain_hash():
    # Plain "<owner>#<status>#<shard>#<tag>" would give these two the same key.
    one = shards.tag_key(owner="ann", status="pending", tag="x#pending#1#y", shard=1)
    two = shards.tag_key(owner="ann#pending#1#x", status="pending", tag="y", shard=1)
    assert one != two
    assert one == "ann#pending#1#x%23pending%231%23y"
    # The escape is escaped too, so a tag spelling an escape is still another tag.
    assert shards.tag_key(owner=None, status="pending", tag="a%23b", shard=0) != shards.tag_key(
        owner=None, status="pending", tag="a#b", shard=0)
    assert shards.tag_priority_key(owner="o#high", status="completed", priority="low", tag="t", shard=2) != (
        shards.tag_priority_key(owner="o", status="completed", priority="high", tag="low#2#t", shard=2))


def test_a_tag_with_hash_lists_only_its_own_tasks(api, table):
    hashed = api.post("/tasks", {"title": "h", "tags": ["a#b"]}, format="json").json()
    api.post("/tasks", {"title": "split", "tags": ["a", "b"]}, format="json")
    api.post("/tasks", {"title": "longer", "tags": ["a#b#c", "a%23b"]}, format="json")
    response = api.get("/tasks", {"tag": "a#b"})
    assert (response.status_code, response.json()) == (200, {"results": [hashed], "next": None})
    assert _slots(hashed["taskId"]) == _wanted_slots(hashed["taskId"], tags=["a#b"], status="pending",
                                                     priority="medium")


# -- writes keep the slots -------------------------------------------------------------------------------------

def test_tag_status_and_priority_changes_and_deletes_move_a_task_in_and_out_of_tag_listings_at_once(api, table):
    task = api.post("/tasks", {"title": "t", "tags": ["red", "blue"], "priority": "low"}, format="json").json()
    task_id = task["taskId"]

    def check(listings: dict[tuple, bool], *, tags, status, priority):
        for params, listed in listings.items():
            assert (_listed(api, dict(params)) == [task_id]) is listed, params
        assert _slots(task_id) == _wanted_slots(task_id, tags=tags, status=status, priority=priority)

    check({(("tag", "red"),): True, (("tag", "blue"),): True, (("tag", "green"),): False},
          tags=["red", "blue"], status="pending", priority="low")
    api.patch(f"/tasks/{task_id}", {"tags": ["blue"]}, format="json")
    check({(("tag", "red"),): False, (("tag", "blue"),): True}, tags=["blue"], status="pending", priority="low")
    api.patch(f"/tasks/{task_id}", {"status": "completed"}, format="json")
    check({(("tag", "blue"), ("status", "pending")): False, (("tag", "blue"), ("status", "completed")): True,
           (("tag", "blue"),): True}, tags=["blue"], status="completed", priority="low")
    api.patch(f"/tasks/{task_id}", {"priority": "high"}, format="json")
    check({(("tag", "blue"), ("priority", "low")): False, (("tag", "blue"), ("priority", "high")): True,
           (("tag", "blue"), ("status", "completed"), ("priority", "high")): True},
          tags=["blue"], status="completed", priority="high")
    api.patch(f"/tasks/{task_id}", {"tags": ["green", "red", "blue"], "status": "in_progress"}, format="json")
    check({(("tag", "red"), ("status", "in_progress")): True, (("tag", "blue"), ("status", "completed")): False},
          tags=["green", "red", "blue"], status="in_progress", priority="high")
    api.patch(f"/tasks/{task_id}", {"tags": ["red"]}, format="json")  # slots 1 and 2 deleted
    check({(("tag", "green"),): False, (("tag", "red"),): True}, tags=["red"], status="in_progress", priority="high")
    api.patch(f"/tasks/{task_id}", {"title": "renamed"}, format="json")  # no slot touched
    check({(("tag", "red"),): True}, tags=["red"], status="in_progress", priority="high")
    api.put(f"/tasks/{task_id}", {"tags": []}, format="json")
    check({(("tag", "red"),): False}, tags=[], status="in_progress", priority="high")
    api.patch(f"/tasks/{task_id}", {"tags": ["x", "y"]}, format="json")
    check({(("tag", "y"),): True}, tags=["x", "y"], status="in_progress", priority="high")
    assert api.delete(f"/tasks/{task_id}").status_code == 200
    check({(("tag", "y"),): False}, tags=[], status="in_progress", priority="high")
    assert api.get(f"/tasks/{task_id}").status_code == 404


def test_a_stale_if_match_on_a_tagged_task_is_412_and_writes_nothing(api, table):
    task = api.post("/tasks", {"title": "t", "tags": ["red"]}, format="json").json()
    api.patch(f"/tasks/{task['taskId']}", {"title": "moved on"}, format="json")
    for method in ("patch", "delete"):
        body = {"tags": ["blue"]} if method == "patch" else None
        response = getattr(api, method)(f"/tasks/{task['taskId']}", body, format="json", HTTP_IF_MATCH='"1"')
        assert (response.status_code, response.json()) == (412, problem(
            412, "Precondition Failed", "The task has changed since the ETag in If-Match was issued."))
    assert _slots(task["taskId"]) == _wanted_slots(task["taskId"], tags=["red"], status="pending", priority="medium")
    response = api.delete(f"/tasks/{uuid.uuid4()}")
    assert response.status_code == 404


def test_untagged_writes_never_touch_the_tags_table(api, table, tag_calls):
    task = api.post("/tasks", {"title": "t"}, format="json").json()
    api.patch(f"/tasks/{task['taskId']}", {"status": "completed", "priority": "high"}, format="json")
    api.delete(f"/tasks/{task['taskId']}")
    # One PutItem, one UpdateItem (the update first assumes no tags, conditioned on that), one DeleteItem: no
    # transaction, nothing on the tags table (the views' reads aside).
    assert [operation for operation, _, _ in tag_calls if operation != "GetItem"] == ["PutItem", "UpdateItem",
                                                                                      "DeleteItem"]


def test_a_retried_transaction_applies_once(table):
    created = repository.task_insert(task=_task(0, at="2026-11-25T08:00:00.000Z", tags=["red", "blue"]))
    # A create whose answer was lost (botocore sends it again) finds its own task.
    assert repository.task_insert(task=created) == created
    first = repository.task_change(task_id=created.task_id, changes={"tags": ["blue"], "status": "completed"},
                                   updated_at="2026-11-25T08:00:01.000Z", versions=None, token="a" * 32)
    # botocore resending the same TransactWriteItems (its answer lost): DynamoDB answers it as done (same
    # ClientRequestToken); an engine without tokens refuses it on the version condition instead...
    try:
        repository._update_with_slots(created.task_id, {"tags": ["blue"], "status": "completed"},
                                      "2026-11-25T08:00:01.000Z", None, None, "a" * 32, created, 0)
    except TransactWriteError:
        pass
    # ...and a retry of the request recognises its own write instead of writing twice.
    again = repository.task_change(task_id=created.task_id, changes={"tags": ["blue"], "status": "completed"},
                                   updated_at="2026-11-25T08:00:01.000Z", versions=None, token="a" * 32)
    assert again == first == repository.task_fetch(task_id=created.task_id)
    assert first.version == 2
    assert _slots(created.task_id) == _wanted_slots(created.task_id, tags=["blue"], status="completed",
                                                    priority="medium")


# -- listings --------------------------------------------------------------------------------------------------

@pytest.fixture
def tag_calls():
    """Records every DynamoDB call of the tasks and the tags models and of transactions: [operation, index,
    items read]."""
    from tasks.models import transaction_connection

    recorded: list[list] = []
    clients = {id(client): client for client in (TaskModel._get_connection().connection.client,
                                                 TaskTagModel._get_connection().connection.client,
                                                 transaction_connection().client)}
    handlers = []

    def on_request(params, model, context, **kwargs):
        context["recorded call"] = [model.name, params.get("IndexName"), None]
        recorded.append(context["recorded call"])

    def on_response(parsed, context, **kwargs):
        if "recorded call" in context:
            responses = parsed.get("Responses", {})
            read = sum(len(items) for items in responses.values()) if isinstance(responses, dict) else None
            context["recorded call"][2] = parsed.get("ScannedCount", parsed.get("Count", read))

    for client in clients.values():
        client.meta.events.register("provide-client-params.dynamodb.*", on_request)
        client.meta.events.register("after-call.dynamodb.*", on_response)
        handlers.append(client)
    yield recorded
    for client in handlers:
        client.meta.events.unregister("after-call.dynamodb.*", on_response)
        client.meta.events.unregister("provide-client-params.dynamodb.*", on_request)


def _seed(count: int, *, start: int, tags=("common",), slots: bool = True) -> list[Task]:
    """Writes tasks (with their tag slots unless not `slots`) as the API stores them, in BatchWriteItems: moto
    copies every table, stream records included, per transaction, so hundreds of them slow the whole suite."""
    from tasks import tag_index

    tasks = [_task(i, at=f"2026-11-21T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
                   priority=("low", "high")[i % 2], tags=tags) for i in range(start, start + count)]
    with TaskModel.batch_write() as batch:
        for task in tasks:
            item = repository._new_item(task, None, None)
            item.version = task.version  # a batch write stores it as given
            batch.save(item)
    with TaskTagModel.batch_write() as batch:
        for item in (item for task in tasks if slots for item in tag_index.slot_items(task, None)):
            batch.save(item)
    return tasks


@pytest.mark.parametrize("params, index", [({"tag": "rare", "limit": 2}, "tag-shard-index"),
                                           ({"tag": "rare", "status": "pending", "limit": 2}, "tag-shard-index"),
                                           ({"tag": "rare", "priority": "high", "limit": 1}, "tag-priority-shard-index")])
def test_a_tag_page_reads_about_a_page_whatever_the_table_holds(api, table, tag_calls, params, index):
    rare = [repository.task_insert(task=_task(i, at=f"2026-11-20T10:00:0{i}.000Z", priority="high", tags=["x", "rare"]))
            for i in range(3)]
    costs = []
    for size in (60, 240):  # non-matching tasks: untagged, and holding another tag
        _seed(size // 2, start=len(costs) * 1000, tags=())
        _seed(size // 2, start=len(costs) * 1000 + 500)
        tag_calls.clear()
        response = api.get("/tasks", params)
        assert response.status_code == 200
        assert [t["taskId"] for t in response.json()["results"]] == [t.task_id for t in rare[::-1]][:params["limit"]]
        queries = [call for call in tag_calls if call[0] == "Query"]
        gets = [call for call in tag_calls if call[0] == "BatchGetItem"]
        assert {call[1] for call in queries} == {index}
        assert len(tag_calls) == len(queries) + len(gets) and len(gets) == 1
        statuses = 1 if "status" in params else 3
        assert len(queries) == statuses * shards.shard_count()  # each stream read once: nothing to filter past
        costs.append((len(queries), sum(call[2] for call in queries), gets[0][2]))
    assert costs[0] == costs[1]  # four times the table, the same page
    assert costs[0][1] == len(rare)  # index items read: the matching ones only
    assert costs[0][2] == params["limit"] + (params["limit"] < len(rare))


def test_stale_index_entries_are_skipped_and_every_page_is_full(api, table):
    tasks = [repository.task_insert(task=_task(i, at=f"2026-11-20T11:00:{i:02d}.000Z", tags=["red"])) for i in range(9)]
    # Index entries the tasks no longer match, as a lagging GSI still serves them: a task gone, a tag
    # removed, a status changed, and another owner's task.
    gone, untagged, moved, owned = (repository.task_insert(task=_task(20 + i, at=f"2026-11-20T11:00:{10 + i:02d}.000Z"))
                                    for i in range(4))
    repository.task_insert(task=_task(30, at="2026-11-20T11:00:30.000Z", tags=["red"]), owner="someone")
    from tasks import tag_index

    for stale in (gone, untagged, moved, owned):
        for item in tag_index.slot_items(dataclasses.replace(stale, tags=["red"]), None):
            item.save()
    harness.dynamodb().delete_item(TableName=table, Key={"taskId": {"S": gone.task_id}})
    repository.task_change(task_id=moved.task_id, changes={"status": "completed"}, updated_at=moved.updated_at,
                           versions=None)
    harness.dynamodb().put_item(TableName=table, Item={**harness.dynamodb().get_item(
        TableName=table, Key={"taskId": {"S": owned.task_id}})["Item"], "owner": {"S": "someone"}})
    for limit in (1, 2, 4, 100):
        pages = _pages(api, {"tag": "red", "status": "pending", "limit": limit})
        assert all(pages) and all(len(page) == limit for page in pages[:-1])
        assert [t["taskId"] for page in pages for t in page] == [t.task_id for t in tasks[::-1]]


def test_owners_see_only_their_own_tagged_tasks(handler, table):  # noqa: F811
    mine = call(handler, "POST", "/tasks", context=ALICE, body={"title": "a", "tags": ["shared"]})[2]
    bobs = call(handler, "POST", "/tasks", context=BOB_IAM, body={"title": "b", "tags": ["shared"]})[2]
    demo = call(handler, "POST", "/tasks", context=NOBODY, body={"title": "n", "tags": ["shared"]})[2]
    for context, task in ((ALICE, mine), (BOB_IAM, bobs), (NOBODY, demo)):
        status, _, page = call(handler, "GET", "/tasks", context=context, query={"tag": "shared"})
        assert (status, page) == (200, {"results": [task], "next": None})
    assert _slots(mine["taskId"])[0][2].startswith("cognito:alice-sub#pending#")


# -- atomic batches --------------------------------------------------------------------------------------------

def test_an_atomic_batch_past_100_transaction_actions_is_refused_and_writes_nothing(api, table):
    tags = [f"t{i}" for i in range(50)]
    operations = [{"method": "POST", "body": {"title": f"b{i}", "tags": tags}} for i in range(2)]
    response = api.post("/tasks/batch", {"operations": operations, "atomic": True}, format="json")
    assert (response.status_code, response.json()) == (422, problem(
        422, "Atomic batch too large",
        "This atomic batch needs 102 DynamoDB transaction actions (one per task written, plus one per tag slot "
        "written or deleted when tags, status or priority of a task with tags change); one transaction holds at "
        "most 100. Split it, or send it with \"atomic\": false."))
    assert harness.table_items(table) == []
    # 100 actions fit: two tasks of 49 tags each.
    operations = [{"method": "POST", "body": {"title": f"b{i}", "tags": tags[:49]}} for i in range(2)]
    response = api.post("/tasks/batch", {"operations": operations, "atomic": True}, format="json")
    assert response.status_code == 200, response.content
    created = [result["body"]["taskId"] for result in response.json()["results"]]
    assert sorted(_listed(api, {"tag": "t48", "limit": 1})) == sorted(created)


def test_an_atomic_batch_moves_tasks_between_tag_listings(api, table):
    one = api.post("/tasks", {"title": "1", "tags": ["a", "b"]}, format="json").json()
    two = api.post("/tasks", {"title": "2", "tags": ["a"]}, format="json").json()
    response = api.post("/tasks/batch", {"atomic": True, "operations": [
        {"method": "PATCH", "taskId": one["taskId"], "body": {"tags": ["c"]}},
        {"method": "DELETE", "taskId": two["taskId"]},
        {"method": "POST", "body": {"title": "3", "tags": ["a"], "status": "completed"}}]}, format="json")
    assert response.status_code == 200, response.content
    three = response.json()["results"][2]["body"]["taskId"]
    assert _listed(api, {"tag": "a"}) == [three]
    assert _listed(api, {"tag": "c"}) == [one["taskId"]]
    assert _slots(one["taskId"]) == _wanted_slots(one["taskId"], tags=["c"], status="pending", priority="medium")
    assert _slots(two["taskId"]) == []


# -- migration -------------------------------------------------------------------------------------------------

@pytest.fixture
def untagged_layout(table):
    """A stage as create_table finds it before the tag backfill: tasks with tags but no slots, layout running."""
    repository.index_backfill_record(state="running", resume=None, layout="tag")
    repository.index_layout_reset_cache()
    yield table
    repository.index_backfill_record(state="complete", layout="tag")
    repository.index_layout_reset_cache()


def test_the_tag_backfill_under_concurrent_writes_leaves_exactly_the_right_slots(api, untagged_layout, tag_calls):
    # Written by code from before the tags table: no slots.
    old = [repository.task_fetch(task_id=task.task_id) for task in _seed(12, start=0, tags=["old", "n0"], slots=False)
           + _seed(12, start=12, tags=["old", "n1"], slots=False)]
    tag_calls.clear()
    assert sorted(_listed(api, {"tag": "old", "limit": 15})) == sorted(t.task_id for t in old)  # filtered as before
    assert "tag-shard-index" not in {call[1] for call in tag_calls}

    # Writers get in at fixed points of the backfill, between its read of a task and its transaction: they
    # change that very task (its ConditionCheck then fails and it reads the task again), delete it, or create
    # another (bounded, so the Scan ends on every engine however slow).
    from tasks import tag_index

    real_stored_slots, lock, created, deleted, changed = tag_index.stored_slots, threading.Lock(), [], [], []

    def stored_slots_with_writers(task_id: str):
        with lock:
            n = len(changed) + len(created) + len(deleted)
            if task_id not in changed and task_id not in created and n % 3 == 0:
                changed.append(task_id)
                response = api.patch(f"/tasks/{task_id}", {"tags": ["old", f"m{n}"][: 1 + n % 2], "status": "in_progress"},
                                     format="json")
                assert response.status_code == 200, response.content
            elif task_id not in created and n % 3 == 1 and len(deleted) < 5:
                deleted.append(task_id)
                assert api.delete(f"/tasks/{task_id}").status_code == 200
            elif len(created) < 10:
                response = api.post("/tasks", {"title": "new", "tags": ["old", "new"]}, format="json")
                created.append(response.json()["taskId"])
        return real_stored_slots(task_id)

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tag_index, "stored_slots", stored_slots_with_writers)
        index_backfill.backfill(fresh=False, dry_run=False, out=out, segments=2, page_size=7, layout="tag")
    assert len(changed) > 5 and len(deleted) == 5 and len(created) == 10
    assert out.getvalue().startswith("tag backfill: complete (")
    assert repository.index_backfill_state(layout="tag") == ("complete", None)
    stored = {item["taskId"]["S"]: repository.task_from_image(item) for item in harness.table_items(untagged_layout)}
    assert set(stored) == ({t.task_id for t in old} - set(deleted)) | set(created)
    for task_id, task in stored.items():
        assert _slots(task_id) == _wanted_slots(task_id, tags=task.tags, status=task.status, priority=task.priority)
    assert {item["taskId"]["S"] for item in harness.table_items(_tags_table())} == {
        task_id for task_id, task in stored.items() if task.tags}
    assert all(task.version == 1 for task in stored.values() if task.task_id in {t.task_id for t in old}
               and task.status == "pending")  # the backfill moved no version (no ETag changed)

    repository.index_layout_reset_cache()
    tag_calls.clear()
    pages = _pages(api, {"tag": "old", "limit": 9})
    assert all(pages)
    assert sorted(t["taskId"] for page in pages for t in page) == sorted(
        task_id for task_id, task in stored.items() if "old" in task.tags)
    assert "tag-shard-index" in {call[1] for call in tag_calls}  # switched once complete

    # A rerun of create_table's backfill changes nothing; run again from scratch, it writes nothing either.
    out = io.StringIO()
    index_backfill.backfill(fresh=False, dry_run=False, out=out, layout="tag")
    assert out.getvalue() == "tag backfill: unchanged (complete)"
    repository.index_backfill_record(state="running", resume=None, layout="tag")
    out = io.StringIO()
    index_backfill.backfill(fresh=False, dry_run=False, out=out, layout="tag")
    assert out.getvalue() == f"tag backfill: complete ({len(stored)} tasks read, 0 slotted)"


def test_the_tag_backfill_removes_slots_a_task_no_longer_holds(untagged_layout):
    task = repository.task_insert(task=_task(0, at="2026-11-23T11:00:00.000Z", tags=["a", "b", "c"]))
    harness.dynamodb().update_item(TableName=untagged_layout, Key={"taskId": {"S": task.task_id}},
                                   UpdateExpression="SET tags = :t", ExpressionAttributeValues={":t": {"L": [{"S": "b"}]}})
    out = io.StringIO()
    index_backfill.backfill(fresh=False, dry_run=False, out=out, segments=1, layout="tag")
    assert out.getvalue() == "tag backfill: complete (1 tasks read, 1 slotted)"
    assert _slots(task.task_id) == _wanted_slots(task.task_id, tags=["b"], status="pending", priority="medium")


def test_rebuilding_the_tag_index_lists_tasks_written_without_slots(api, table):
    # As import_tasks writes a task (a conditional PutItem of its exported item): no tag slots.
    task = repository.task_insert(task=_task(0, at="2026-11-23T12:00:00.000Z", tags=["imported"]))
    harness.table_clear(_tags_table(), keys=("taskId", "slot"))
    assert _listed(api, {"tag": "imported"}) == []
    out = io.StringIO()
    from django.core.management import call_command

    call_command("create_table", rebuild_tag_index=True, stdout=out)
    assert out.getvalue().splitlines()[-3:] == ["tag backfill: rebuild", "index backfill: unchanged (complete)",
                                                "tag backfill: complete (1 tasks read, 1 slotted)"]
    assert _listed(api, {"tag": "imported"}) == [task.task_id]


def test_an_update_from_a_stale_read_whose_tags_another_writer_already_set_succeeds(table):
    task = repository.task_insert(task=_task(0, at="2026-11-25T09:00:00.000Z", tags=["a"]))
    repository.task_change(task_id=task.task_id, changes={"tags": ["a", "b"]}, updated_at="2026-11-25T09:00:01.000Z",
                           versions=None, token="other-writer")
    # Read before the other writer's change: its transaction fails on the version, the task read again already
    # holds these tags, so the slots stay and a plain update conditioned on that version is written.
    changed = repository.task_change(task_id=task.task_id, changes={"tags": ["a", "b"], "title": "mine"},
                                     updated_at="2026-11-25T09:00:02.000Z", versions=None, token="me", current=task)
    assert (changed.title, changed.tags, changed.version) == ("mine", ["a", "b"], 3)
    assert _slots(task.task_id) == _wanted_slots(task.task_id, tags=["a", "b"], status="pending", priority="medium")


# -- code deployed ahead of the tags table -----------------------------------------------------------------------

@pytest.fixture
def tags_table_missing(table):
    """A stage whose code runs before create_table made the tags table: the tag layout not recorded."""
    from tasks.models import IdempotencyRecord

    IdempotencyRecord(repository._layout_key("tag")).delete()
    repository.index_layout_reset_cache()
    yield table
    repository.index_backfill_record(state="complete", layout="tag")
    repository.index_layout_reset_cache()


def test_before_create_table_makes_the_tags_table_writes_leave_it_alone(api, tags_table_missing, tag_calls):
    # On AWS the table would not exist and every tagged write's transaction would fail: writes stay single-item.
    task = api.post("/tasks", {"title": "t", "tags": ["early"]}, format="json").json()
    assert api.patch(f"/tasks/{task['taskId']}", {"tags": ["early", "b"], "status": "completed"},
                     format="json").status_code == 200
    other = api.post("/tasks", {"title": "u", "tags": ["early"]}, format="json").json()
    assert api.delete(f"/tasks/{other['taskId']}").status_code == 200
    assert {call[0] for call in tag_calls} <= {"PutItem", "UpdateItem", "DeleteItem", "GetItem", "Query"}
    assert "TransactWriteItems" not in {call[0] for call in tag_calls}
    assert _slots(task["taskId"]) == [] and _slots(other["taskId"]) == []
    assert _listed(api, {"tag": "early"}) == [task["taskId"]]  # the filter, as before the tag indexes

    # create_table records "writing" (waiting out the grace, none here: nothing else writes), and from then on
    # every write keeps its slots, before the backfill has even started.
    repository.index_backfill_record(state="writing", layout="tag")
    repository.index_layout_reset_cache()
    tag_calls.clear()
    later = api.post("/tasks", {"title": "v", "tags": ["early"]}, format="json").json()
    assert "TransactWriteItems" in {call[0] for call in tag_calls}
    assert _slots(later["taskId"]) == _wanted_slots(later["taskId"], tags=["early"], status="pending",
                                                    priority="medium")
    assert sorted(_listed(api, {"tag": "early"})) == sorted([task["taskId"], later["taskId"]])  # still filtered


def test_the_tag_backfill_records_writing_before_it_scans_and_waits_the_grace(tags_table_missing, monkeypatch):
    untagged = repository.task_insert(task=_task(0, at="2026-11-26T09:00:00.000Z", tags=["pre"]))
    assert _slots(untagged.task_id) == []
    states, real_record, real_page = [], repository.index_backfill_record, repository.task_tag_backfill_page
    slept = []

    def record(*, state, resume=None, layout="index"):
        states.append(state)
        real_record(state=state, resume=resume, layout=layout)

    def page(**kwargs):
        states.append("scan")
        return real_page(**kwargs)

    monkeypatch.setattr(repository, "index_backfill_record", record)
    monkeypatch.setattr(repository, "task_tag_backfill_page", page)
    monkeypatch.setattr(index_backfill.time, "sleep", slept.append)  # the grace itself: not waited in a test
    out = io.StringIO()
    index_backfill.backfill(fresh=False, dry_run=False, out=out, segments=1, layout="tag", writers_grace=65)
    assert slept == [65]
    assert states[:3] == ["writing", "running", "scan"] and states[-1] == "complete"
    assert out.getvalue() == ("tag backfill: writes keep tag slots from now; waiting 65 s for every process"
                              "tag backfill: complete (1 tasks read, 1 slotted)")
    assert _slots(untagged.task_id) == _wanted_slots(untagged.task_id, tags=["pre"], status="pending",
                                                     priority="medium")


def test_rebuilding_a_tag_index_never_written_to_waits_for_the_writers_first(tags_table_missing):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("create_table", rebuild_tag_index=True, writers_grace=0, stdout=out)
    assert out.getvalue().splitlines()[-3:] == ["tag backfill: rebuild", "index backfill: unchanged (complete)",
                                                "tag backfill: complete (0 tasks read, 0 slotted)"]
