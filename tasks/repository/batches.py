"""Batches (tasks.batch): one BatchGetItem to read, one TransactWriteItems to write all or nothing."""
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from tasks import tag_index
from tasks.domain import Task
from tasks.models import TaskModel, transaction_connection
from tasks.repository.common import (
    _error_code,
    _new_item,
    _owner_condition,
    _store_errors,
    _task,
    _transient,
    _version_condition,
)
from tasks.repository.layouts import _tag_slots_on


@_store_errors
def tasks_fetch_many(*, task_ids: list[str]) -> dict[str, tuple[Task, str | None]]:
    """Returns {task id: (task, owner)} for the ids that exist (consistent BatchGetItem; PynamoDB
    retries unprocessed keys)."""
    if not task_ids:
        return {}
    return {item.task_id: (_task(item), item.owner)
            for item in TaskModel.batch_get(task_ids, consistent_read=True)}


# A TransactWriteItems holds at most 100 actions.
TRANSACTION_MAX_ACTIONS = 100


def atomic_actions(*, writes: list[tuple[str, Task, Task | None]]) -> int:
    """Returns how many transaction actions tasks_write_atomic sends for `writes`: one per task, plus one per
    tag slot written or deleted."""
    if not _tag_slots_on():
        return len(writes)
    return sum(1 + tag_index.slot_actions(*_slot_change(kind, task, read)) for kind, task, read in writes)


def _slot_change(kind: str, task: Task, read: Task | None) -> tuple[Task | None, Task | None]:
    """A batch write's (old, new) task, for its tag slots."""
    return {"create": (None, task), "delete": (task, None)}.get(kind, (read, task))


@_store_errors
def tasks_write_atomic(*, writes: list[tuple[str, Task, Task | None]], owner: str | None, token: str) -> bool:
    """Writes ("create", task, None), ("update", task, task as read) and ("delete", task, None) in one
    transaction, each conditioned on the version read, with their tag slots (at most
    TRANSACTION_MAX_ACTIONS actions in all: see atomic_actions). Returns False when a condition failed
    (nothing was written)."""
    slotted = _tag_slots_on()
    try:
        with TransactWrite(connection=transaction_connection(), client_request_token=token) as write:
            for kind, task, read in writes:
                if slotted:
                    old, new = _slot_change(kind, task, read)
                    tag_index.slots_write(write, old=old, new=new, owner=owner)
                if kind == "create":
                    write.save(_new_item(task, owner, None), condition=TaskModel.task_id.does_not_exist())
                    continue
                if kind == "delete":
                    condition = _version_condition([task.version], owner)
                    write.delete(TaskModel(task.task_id), condition=condition, add_version_condition=False)
                    continue
                item = _new_item(task, owner, None)
                item.version = read.version  # PynamoDB conditions the save on it and stores it plus one
                write.save(item, condition=_owner_condition(owner))
    except TransactWriteError as error:
        if _error_code(error) == "TransactionCanceledException" and not _transient(error):
            return False
        raise
    return True
