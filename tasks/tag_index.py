"""Tag listings by index (issue 18): one item per (task, tag) in the tags table, kept in the task's transaction.

Slot i of a task holds its tags[i] with the keys of tag-shard-index and tag-priority-shard-index (tasks.shards),
so a `?tag=` page reads about a page of small index items instead of filtering the task listing. Only the
repository imports this module: it owns the transactions these writes join and the merge these reads feed.
"""
from collections.abc import Iterator
from typing import NamedTuple

from pynamodb.transactions import TransactWrite

from tasks import shards
from tasks.domain import Task, TaskQuery
from tasks.models import TaskModel, TaskTagModel, transaction_connection


class TagEntry(NamedTuple):
    """A tag index item as a listing merges it: ordered like a task, by (createdAt, taskId)."""

    task_id: str
    created_at: str


def slot_items(task: Task, owner: str | None) -> list[TaskTagModel]:
    """Returns the tags table's items of `task` as stored by `owner`: slot i for tags[i]."""
    shard = shards.task_shard(task.task_id)
    return [TaskTagModel(task.task_id, slot, tag=tag, created_at=task.created_at,
                         tag_key=shards.tag_key(owner=owner, status=task.status, tag=tag, shard=shard),
                         tag_priority_key=shards.tag_priority_key(owner=owner, status=task.status,
                                                                  priority=task.priority, tag=tag, shard=shard))
            for slot, tag in enumerate(task.tags)]


def slots_touched(old: Task | None, new: Task | None) -> bool:
    """Whether going from `old` to `new` (None: absent) changes any slot: tags, status or priority of a task
    holding tags before or after. Tasks without tags on both sides never touch the tags table."""
    if not (old is not None and old.tags) and not (new is not None and new.tags):
        return False
    if old is None or new is None:
        return True
    return (old.tags, old.status, old.priority) != (new.tags, new.status, new.priority)


def slot_actions(old: Task | None, new: Task | None) -> int:
    """The transaction actions rewriting the slots from `old` to `new`: a Put per tag of `new`, a Delete per
    slot of `old` past them (0 when nothing changes)."""
    if not slots_touched(old, new):
        return 0
    return max(len(old.tags) if old else 0, len(new.tags) if new else 0)


def slots_write(write: TransactWrite, *, old: Task | None, new: Task | None, owner: str | None) -> None:
    """Adds to `write` the Puts and Deletes that take the task's slots from `old` to `new` (None: no task)."""
    if not slots_touched(old, new):
        return
    items = slot_items(new, owner) if new is not None else []
    for item in items:
        write.save(item)  # overwrites the slot, whatever it held
    task_id = (new or old).task_id
    for slot in range(len(items), len(old.tags) if old is not None else 0):
        write.delete(TaskTagModel(task_id, slot))


def tag_queries(query: TaskQuery, range_condition, owner: str | None, page_size: int) -> list[Iterator[TaskTagModel]]:
    """One lazy Query per (status, shard) of tag-shard-index (tag-priority-shard-index with a priority)."""
    queries = []
    for status in query.statuses:
        for shard in range(shards.shard_count()):
            if query.priority:
                index = TaskTagModel.tag_priority_shard_index
                key = shards.tag_priority_key(owner=owner, status=status, priority=query.priority, tag=query.tag,
                                              shard=shard)
            else:
                index = TaskTagModel.tag_shard_index
                key = shards.tag_key(owner=owner, status=status, tag=query.tag, shard=shard)
            queries.append(index.query(key, range_key_condition=range_condition,
                                       scan_index_forward=not query.descending, page_size=page_size))
    return queries


def created_attribute():
    """The range key attribute of both tag indexes, for the listing's createdAt conditions."""
    return TaskTagModel.created_at


def tag_entry(item: TaskTagModel) -> TagEntry:
    return TagEntry(task_id=item.task_id, created_at=item.created_at)


def tag_client() -> None:
    """Creates the tags model's botocore client before a page's threads share it (PynamoDB makes it unlocked)."""
    _ = TaskTagModel._get_connection().connection.client


def stored_slots(task_id: str) -> dict[int, TaskTagModel]:
    """Returns the task's slots as stored (consistent Query on the table's hash key)."""
    return {item.slot: item for item in TaskTagModel.query(task_id, consistent_read=True)}


def slots_sync(*, task: Task, owner: str | None, token: str) -> bool:
    """Brings the stored slots of `task` (as read, at its version) to what it holds, in one transaction
    conditioned on the task still being at that version. Returns whether anything was written; raises
    TransactWriteError when the condition failed (a concurrent writer moved the task: read it again)."""
    stored = stored_slots(task.task_id)
    wanted = {item.slot: item for item in slot_items(task, owner)}
    changed = [item for slot, item in wanted.items()
               if slot not in stored or stored[slot].serialize() != item.serialize()]
    extra = [slot for slot in stored if slot not in wanted]
    if not changed and not extra:
        return False
    with TransactWrite(connection=transaction_connection(), client_request_token=token) as write:
        write.condition_check(TaskModel, task.task_id, condition=TaskModel.version == task.version)
        for item in changed:
            write.save(item)
        for slot in extra:
            write.delete(TaskTagModel(task.task_id, slot))
    return True
