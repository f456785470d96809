"""Single-task writes and reads by id: insert, fetch, change and remove, with their tag slots and index keys."""
import dataclasses
import uuid
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from tasks import shards, tag_index
from tasks.domain import PreconditionFailed, Task, TaskNotFound
from tasks.models import TaskModel, transaction_connection
from tasks.repository.common import (
    _cancelled,
    _condition_failed,
    _new_item,
    _overtaken,
    _owner_status,
    _store_errors,
    _task,
    _untagged,
    _version_condition,
)
from tasks.repository.layouts import _tag_slots_on

# Domain field name -> model attribute, for the fields an update may change.
_UPDATABLE = {
    "title": TaskModel.title,
    "description": TaskModel.description,
    "status": TaskModel.status,
    "priority": TaskModel.priority,
    "due_date": TaskModel.due_date,
    "tags": TaskModel.tags,
}


@_store_errors
def task_insert(*, task: Task, owner: str | None = None) -> Task:
    """Writes a new task (never over an existing one) and returns it with its stored version.

    Raises StoreUnavailable when DynamoDB stays unavailable.
    """
    item = _new_item(task, owner, None)
    try:
        if not task.tags or not _tag_slots_on():
            item.save(condition=TaskModel.task_id.does_not_exist())
        else:
            # The task and its tag slots in one transaction; its token makes botocore's retries of it apply once.
            with TransactWrite(connection=transaction_connection(), client_request_token=uuid.uuid4().hex) as write:
                write.save(item, condition=TaskModel.task_id.does_not_exist())
                tag_index.slots_write(write, old=None, new=task, owner=owner)
    except (PutError, TransactWriteError) as error:
        # botocore retried a PutItem whose first attempt landed: the new id is ours, so the item is too.
        if not (_condition_failed(error) or _cancelled(error, "ConditionalCheckFailed")):
            raise
        item = TaskModel.get(task.task_id, consistent_read=True)
    return _task(item)


@_store_errors
def task_fetch(*, task_id: str, owner: str | None = None) -> Task:
    """Returns the task (strongly consistent read). Raises TaskNotFound, also for another owner's task."""
    try:
        item = TaskModel.get(task_id, consistent_read=True)
    except DoesNotExist:
        raise TaskNotFound(f"No task has the id {task_id}.") from None
    if item.owner != owner:
        raise TaskNotFound(f"No task has the id {task_id}.")
    return _task(item)


@_store_errors
def task_change(*, task_id: str, changes: dict[str, Any], updated_at: str, versions: list[int] | None,
                owner: str | None = None, token: str | None = None, current: Task | None = None) -> Task:
    """Applies `changes` in one conditional UpdateItem and returns the task as stored.

    Only the named attributes are written, so concurrent changes of other fields survive, and the
    item must exist, so a deleted task is never recreated. With `versions`, the stored version must be
    one of them. `current` (the task as just read, if at hand) saves a read when only one of status and
    priority changes. A change of tags, status or priority of a task holding tags (before or after) is one
    TransactWriteItems with the rewrite of its tag slots, conditioned on the version it was derived from.
    Raises TaskNotFound or PreconditionFailed.
    """
    basis = _key_basis(task_id, changes, current)
    slotted = not _SLOTTED.isdisjoint(changes) and _tag_slots_on()
    # The stored task the tag slots are derived from: new tags need it at once; otherwise an update first
    # assumes the task holds none (conditioned on that) and reads it only when that fails.
    stored = (current or basis) if slotted else None
    if slotted and stored is None and changes.get("tags"):
        stored = _read(task_id)
    for attempt in range(_CLOCK_RETRIES):
        try:
            if stored is not None and tag_index.slots_touched(stored, _changed(stored, changes, updated_at)):
                return _update_with_slots(task_id, changes, updated_at, versions, owner, token, stored, attempt)
            guard = _slots_kept(stored) if slotted else None
            return _task(_update(task_id, changes, updated_at, versions, owner, token, basis, guard))
        except (UpdateError, TransactWriteError) as error:
            if not _overtaken(error):
                raise
        try:
            item = TaskModel.get(task_id, consistent_read=True)
        except DoesNotExist:
            raise TaskNotFound(f"No task has the id {task_id}.") from None
        if item.owner != owner:
            raise TaskNotFound(f"No task has the id {task_id}.")
        if token is not None and item.write_token == token:
            return _task(item)  # a retried copy of this write found its first attempt applied
        if versions is not None and item.version not in versions:
            raise PreconditionFailed("The task has changed since the ETag in If-Match was issued.")
        # Another writer stored a later updatedAt (a clock a little ahead), or changed the status or
        # priority the index keys were derived from: write again at its time, from what it stored.
        updated_at = max(updated_at, item.updated_at)
        basis = _task(item) if basis is not None else None
        stored = _task(item) if slotted else None
    raise PreconditionFailed("The task kept changing while this update was written; try again.")


# The fields a task's tag slots are derived from (tasks.tag_index).
_SLOTTED = {"tags", "status", "priority"}


def _slots_kept(stored: Task | None):
    """The condition under which an update of tags, status or priority leaves the tag slots as they are: the
    task holds no tags (assumed while not read), or is still the `stored` one whose slots the update keeps."""
    return _untagged() if stored is None or not stored.tags else TaskModel.version == stored.version


def _read(task_id: str) -> Task | None:
    """The stored task (consistent read), None when there is none."""
    try:
        return _task(TaskModel.get(task_id, consistent_read=True))
    except DoesNotExist:
        return None


def _changed(stored: Task, changes: dict[str, Any], updated_at: str) -> Task:
    """`stored` with `changes` applied, as an update conditioned on its version stores it."""
    fields = {name: ([] if name == "tags" and value is None else value) for name, value in changes.items()}
    return dataclasses.replace(stored, **fields, updated_at=updated_at, version=stored.version + 1)


def _update_with_slots(task_id: str, changes: dict[str, Any], updated_at: str, versions: list[int] | None,
                       owner: str | None, token: str | None, stored: Task, attempt: int) -> Task:
    """The update and the rewrite of the task's tag slots in one TransactWriteItems, conditioned on the version
    of `stored` (whose tags say which slots to delete). Returns the task as stored. Raises TransactWriteError."""
    new = _changed(stored, changes, updated_at)
    actions, condition = _update_parts(task_id, changes, updated_at, versions, owner, token, stored)
    # ClientRequestToken: botocore's retries of this try apply once (DynamoDB remembers it 10 minutes); each
    # try writes other items, so each has its own (a reused token with other items is refused).
    request_token = f"{token or uuid.uuid4().hex}-{attempt}"
    with TransactWrite(connection=transaction_connection(), client_request_token=request_token) as write:
        write.update(TaskModel(task_id, version=0), actions=actions,
                     condition=condition & (TaskModel.version == stored.version), add_version_condition=False)
        tag_index.slots_write(write, old=stored, new=new, owner=owner)
    return new


# Tries of one update whose updatedAt another writer overtook (concurrent writers, or clocks a little
# apart). Each failed try means another update of this task landed in between, so this bounds how many
# concurrent writers of one task succeed without a 412. Late network copies never reach this loop.
_CLOCK_RETRIES = 32


def _update(task_id: str, changes: dict[str, Any], updated_at: str, versions: list[int] | None,
            owner: str | None, token: str | None, basis: Task | None = None, guard=None) -> TaskModel:
    """One conditional UpdateItem (also conditioned on `guard`, if any); returns the item as stored.
    Raises UpdateError."""
    actions, condition = _update_parts(task_id, changes, updated_at, versions, owner, token, basis)
    if guard is not None:
        condition &= guard
    # A placeholder version makes PynamoDB emit `ADD version 1`; its own condition is replaced by ours.
    item = TaskModel(task_id, version=0)
    item.update(actions=actions, condition=condition, add_version_condition=False)
    return item


def _update_parts(task_id: str, changes: dict[str, Any], updated_at: str, versions: list[int] | None,
                  owner: str | None, token: str | None, basis: Task | None):
    """The actions and the condition of an update's UpdateItem (see task_change)."""
    if basis is not None and ("status" in changes) == ("priority" in changes):
        basis = None  # both or neither change: no stored value to keep
    actions = [
        _UPDATABLE[name].remove() if value is None else _UPDATABLE[name].set(value)
        for name, value in changes.items()
    ]
    actions.append(TaskModel.updated_at.set(updated_at))
    # updatedAt never moves back: a copy of an earlier request that lands late (its client long gone,
    # answered 503) cannot overwrite what later requests stored.
    condition = _version_condition(versions, owner) & (TaskModel.updated_at <= updated_at)
    if owner is not None and "status" in changes:
        actions.append(TaskModel.owner_status.set(_owner_status(owner, changes["status"])))
    if basis is not None or "status" in changes and "priority" in changes:
        key_actions, key_condition = _index_key_update(task_id, changes, owner, basis)
        actions += key_actions
        condition &= key_condition
    if token is not None:
        # A retried copy of this same UpdateItem must not apply twice (nor bump the version twice).
        actions.append(TaskModel.write_token.set(token))
        condition &= TaskModel.write_token.does_not_exist() | (TaskModel.write_token != token)
    return actions, condition


@_store_errors
def task_remove(*, task_id: str, versions: list[int] | None, owner: str | None = None) -> None:
    """Deletes the task (and its tag slots, in the same transaction). Raises TaskNotFound, or
    PreconditionFailed when `versions` does not match."""
    condition = _version_condition(versions, owner)
    retried = False
    stored = None  # first assume a task without tags (one DeleteItem), conditioned on that
    slotted = _tag_slots_on()
    for _ in range(_CLOCK_RETRIES):
        try:
            if not slotted:
                TaskModel(task_id).delete(condition=condition, add_version_condition=False)
            elif stored is None or not stored.tags:
                TaskModel(task_id).delete(condition=condition & _untagged(), add_version_condition=False)
            else:
                with TransactWrite(connection=transaction_connection(), client_request_token=uuid.uuid4().hex) as write:
                    write.delete(TaskModel(task_id), condition=condition & (TaskModel.version == stored.version),
                                 add_version_condition=False)
                    tag_index.slots_write(write, old=stored, new=None, owner=owner)
            return
        except (DeleteError, TransactWriteError) as error:
            if not _overtaken(error):
                raise
            retried = retried or _retried(error)
        try:
            item = TaskModel.get(task_id, consistent_read=True)
        except DoesNotExist:
            item = None
        if item is None or item.owner != owner:
            if retried:
                # botocore retried the DeleteItem (a lost answer, a timeout): the task is gone because an earlier
                # attempt of this very request deleted it, so the request succeeded. A DELETE is idempotent: were
                # it another deleter's between our attempts, both deleters were right that the task is gone.
                return
            raise TaskNotFound(f"No task has the id {task_id}.")
        stored = _task(item)
        if versions is not None and stored.version not in versions:
            raise PreconditionFailed("The task has changed since the ETag in If-Match was issued.")
    raise PreconditionFailed("The task kept changing while this delete was written; try again.")


def _retried(error: Exception) -> bool:
    """Whether botocore sent the failed request more than once (its earlier attempt may have applied).

    PynamoDB re-raises botocore's ClientError without its ResponseMetadata (where botocore counts RetryAttempts),
    chained `from` the original: the count is read there."""
    cause = getattr(error, "cause", None)
    while cause is not None:
        if isinstance(cause, ClientError) and "RetryAttempts" in cause.response.get("ResponseMetadata", {}):
            return cause.response["ResponseMetadata"]["RetryAttempts"] > 0
        cause = cause.__cause__
    return False


# Write-sharded listing indexes (issue 18): keys kept on every write (listings merged across shards: reads;
# the backfill of items from before them: backfills; the switch that waits for it: layouts).

def _key_basis(task_id: str, changes: dict[str, Any], current: Task | None) -> Task | None:
    """The stored task whose status or priority an update keeping one of them derives index keys from;
    None when the update changes neither or both (or the task is gone, so the update fails anyway)."""
    if ("status" in changes) == ("priority" in changes):
        return None
    if current is not None:
        return current
    try:
        return _task(TaskModel.get(task_id, consistent_read=True))
    except DoesNotExist:
        return None


def _index_key_update(task_id: str, changes: dict[str, Any], owner: str | None, basis: Task | None):
    """The SET actions for both sharded index keys after `changes`, and the condition that the status or
    priority taken from `basis` is still the stored one (so a concurrent change of it is never lost)."""
    stored = {} if basis is None else {"status": basis.status, "priority": basis.priority}
    status, priority = ({**stored, **changes}[name] for name in ("status", "priority"))
    keys = shards.task_keys(task_id=task_id, owner=owner, status=status, priority=priority)
    actions = [TaskModel.list_key.set(keys["list_key"]), TaskModel.priority_key.set(keys["priority_key"])]
    condition = TaskModel.task_id.exists()
    if "status" not in changes:
        condition &= TaskModel.status == status
    if "priority" not in changes:
        condition &= TaskModel.priority == priority
    return actions, condition
