"""One Scan page of a backfill: old tasks brought to the sharded index keys or to their tag slots."""
import uuid

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from tasks import shards, tag_index
from tasks.domain import PreconditionFailed
from tasks.models import TaskModel
from tasks.repository.common import _cancelled, _condition_failed, _store_errors, _task
from tasks.repository.writes import _CLOCK_RETRIES


@_store_errors
def task_index_backfill_page(*, segment: int, segments: int, start: dict | None,
                             page_size: int) -> tuple[dict | None, int, int]:
    """Scans one page of `segment` from `start` and writes the sharded index keys onto items lacking them
    (or holding stale ones). Returns (the key to go on from or None at the segment's end, items read,
    items written).

    Each write is conditioned on the version read and bumps nothing, so it is safe under concurrent
    writes (a writer that got there first wrote the keys itself) and safe to rerun.
    """
    items = TaskModel.scan(segment=segment, total_segments=segments, last_evaluated_key=start,
                           limit=page_size, page_size=page_size, consistent_read=True)
    read = written = 0
    connection = TaskModel._get_connection()
    for item in items:
        read += 1
        keys = shards.task_keys(task_id=item.task_id, owner=item.owner, status=item.status, priority=item.priority)
        if item.list_key == keys["list_key"] and item.priority_key == keys["priority_key"]:
            continue
        try:
            # The connection's update_item, not the model's: the model's would bump the version (and ETag).
            connection.update_item(item.task_id, actions=[TaskModel.list_key.set(keys["list_key"]),
                                                          TaskModel.priority_key.set(keys["priority_key"])],
                                   condition=TaskModel.version == item.version)
            written += 1
        except UpdateError as error:
            if not _condition_failed(error):
                raise
    return (items.last_evaluated_key if read == page_size else None), read, written


@_store_errors
def task_tag_backfill_page(*, segment: int, segments: int, start: dict | None,
                           page_size: int) -> tuple[dict | None, int, int]:
    """Scans one page of `segment` from `start` and brings each task's tag slots to what it holds (Puts of
    missing or stale slots, Deletes of extra ones). Returns (the key to go on from or None at the segment's
    end, tasks read, tasks whose slots were written).

    Each task's slots are written in one transaction with a ConditionCheck on the version read: a concurrent
    writer (who writes the slots itself) wins, and the task is read again. A task whose slots are right costs
    one Query, so a rerun writes nothing.
    """
    items = TaskModel.scan(segment=segment, total_segments=segments, last_evaluated_key=start,
                           limit=page_size, page_size=page_size, consistent_read=True)
    read = written = 0
    for item in items:
        read += 1
        written += _tag_slots_sync(item)
    return (items.last_evaluated_key if read == page_size else None), read, written


def _tag_slots_sync(item: TaskModel) -> bool:
    """Brings one task's slots to its stored tags, re-reading it while concurrent writers move it; returns
    whether anything was written (False too when the task was deleted meanwhile: its delete took its slots)."""
    for _ in range(_CLOCK_RETRIES):
        try:
            return tag_index.slots_sync(task=_task(item), owner=item.owner, token=uuid.uuid4().hex)
        except TransactWriteError as error:
            if not _cancelled(error, "ConditionalCheckFailed", "TransactionConflict"):
                raise
        try:
            item = TaskModel.get(item.task_id, consistent_read=True)
        except DoesNotExist:
            return False
    raise PreconditionFailed(f"The task {item.task_id} kept changing while its tag slots were written; rerun.")
