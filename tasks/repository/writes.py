"""Task persistence on DynamoDB: the only module that touches TaskModel."""
import dataclasses
import functools
import heapq
import itertools
import json
import math
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.transactions import TransactWrite

from tasks import shards, tag_index
from tasks.domain import IdempotencyInFlight, PreconditionFailed, StoreUnavailable, Task, TaskNotFound, TaskQuery
from tasks.models import IdempotencyRecord, TaskModel, transaction_connection

# Domain field name -> model attribute, for the fields an update may change.
_UPDATABLE = {
    "title": TaskModel.title,
    "description": TaskModel.description,
    "status": TaskModel.status,
    "priority": TaskModel.priority,
    "due_date": TaskModel.due_date,
    "tags": TaskModel.tags,
}


def _task(item: TaskModel) -> Task:
    return Task(
        task_id=item.task_id,
        title=item.title,
        description=item.description,
        status=item.status,
        priority=item.priority,
        created_at=item.created_at,
        updated_at=item.updated_at,
        due_date=item.due_date,
        tags=list(item.tags or []),
        version=item.version,
    )


def _error_code(error: Exception) -> str | None:
    """DynamoDB's error code behind a PynamoDB error; None for timeouts and dropped connections (whose
    botocore exceptions carry no response, which PynamoDB's own cause_response_code trips over)."""
    cause = getattr(error, "cause", None)
    return cause.response.get("Error", {}).get("Code") if isinstance(cause, ClientError) else None


def _condition_failed(error: Exception) -> bool:
    return _error_code(error) == "ConditionalCheckFailedException"


def _cancelled(error: Exception, *reasons: str) -> bool:
    """Whether a TransactWriteItems was cancelled for one of `reasons` (e.g. "ConditionalCheckFailed")."""
    return (isinstance(error, TransactWriteError) and _error_code(error) == "TransactionCanceledException"
            and any(reason is not None and reason.code in reasons for reason in error.cancellation_reasons))


def _overtaken(error: Exception) -> bool:
    """Whether a conditional write lost to a concurrent writer (its condition failed, or DynamoDB cancelled its
    transaction for another one on the same item): read the task again and write from what it holds."""
    return (_condition_failed(error) or _error_code(error) == "TransactionConflictException"
            or _cancelled(error, "ConditionalCheckFailed", "TransactionConflict"))


# DynamoDB answers that mean "try again later": throttling, capacity and its own 5xx errors.
_TRANSIENT_CODES = {
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "TransactionInProgressException", "LimitExceededException",
}
_TRANSIENT_REASONS = {"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"}


def _transient(error: Exception) -> bool:
    """Whether `error` (PynamoDB's, keeping botocore's cause) is DynamoDB being unavailable, not our bug."""
    cause = getattr(error, "cause", error)
    if isinstance(cause, BotoCoreError):  # timeouts, dropped connections, unreachable endpoint
        return True
    if isinstance(error, TransactWriteError) and any(
        reason is not None and reason.code in _TRANSIENT_REASONS for reason in error.cancellation_reasons
    ):
        return True
    if isinstance(cause, ClientError):
        response = cause.response
        return (response.get("Error", {}).get("Code") in _TRANSIENT_CODES
                or response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500)
    return False


def _store_errors(function):
    """Turns DynamoDB staying unavailable past botocore's bounded retries into StoreUnavailable (503).

    The one place such errors are mapped; anything else (a bug such as a ValidationException) propagates.
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (PynamoDBException, BotoCoreError) as error:
            if _transient(error):
                raise StoreUnavailable(
                    "The task store is unavailable or did not answer in time; try again after Retry-After "
                    "(send an Idempotency-Key with POST to retry creates safely).",
                    headers={"Retry-After": str(settings.UNAVAILABLE_RETRY_AFTER_SECONDS)},
                ) from error
            raise

    return wrapper


def _owner_condition(owner: str | None):
    return TaskModel.owner.does_not_exist() if owner is None else TaskModel.owner == owner


def _owner_status(owner: str | None, status: str) -> str | None:
    """The owner-status-index hash key; None (no index entry) for tasks without an owner."""
    return None if owner is None else f"{owner}#{status}"


def _untagged():
    """The condition that the stored task holds no tags (so it has no slots in the tags table to rewrite)."""
    return TaskModel.tags.does_not_exist() | (size(TaskModel.tags) == 0)


def _version_condition(versions: list[int] | None, owner: str | None = None):
    condition = TaskModel.task_id.exists() & _owner_condition(owner)
    if versions is None:
        return condition
    return condition & TaskModel.version.is_in(*versions)


def _new_item(task: Task, owner: str | None, token: str | None) -> TaskModel:
    return TaskModel(
        task.task_id,
        title=task.title,
        description=task.description,
        status=task.status,
        priority=task.priority,
        created_at=task.created_at,
        updated_at=task.updated_at,
        due_date=task.due_date,
        tags=list(task.tags),
        owner=owner,
        owner_status=_owner_status(owner, task.status),
        write_token=token,
        **shards.task_keys(task_id=task.task_id, owner=owner, status=task.status, priority=task.priority),
    )


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


def _order_key(task: Task) -> tuple[str, str]:
    return (task.created_at, task.task_id)


def _created_range(query: TaskQuery, after: tuple[str, str] | None, created_at=TaskModel.created_at):
    """The createdAt key condition of a listing query (on the index attribute `created_at`): its date bounds,
    narrowed to past `after` (None: no bound)."""
    lower, upper = query.created_from, query.created_to
    if after is not None:
        if query.descending:
            upper = min(upper, after[0]) if upper else after[0]
        else:
            lower = max(lower, after[0]) if lower else after[0]
    if lower and upper:
        return created_at.between(lower, upper)
    if lower:
        return created_at >= lower
    if upper:
        return created_at <= upper
    return None


def _status_tasks(status: str, query: TaskQuery, after: tuple[str, str] | None, page_size: int,
                  owner: str | None = None) -> Iterator[Task]:
    """Yields one status's matching tasks in (createdAt, taskId) order, strictly past `after`."""
    # An owner's tasks come from the sparse owner-status-index; unowned ones from status-index.
    index = TaskModel.status_index if owner is None else TaskModel.owner_status_index
    range_condition = _created_range(query, after)

    # Without an identity, owned tasks are hidden (in demo mode there are none, so nothing is skipped).
    filter_condition = TaskModel.owner.does_not_exist() if owner is None else None
    if query.priority:
        by_priority = TaskModel.priority == query.priority
        filter_condition = by_priority if filter_condition is None else filter_condition & by_priority
    if query.tag:
        has_tag = TaskModel.tags.contains(query.tag)
        filter_condition = has_tag if filter_condition is None else filter_condition & has_tag

    items = index.query(
        status if owner is None else _owner_status(owner, status),
        range_key_condition=range_condition,
        filter_condition=filter_condition,
        scan_index_forward=not query.descending,
        page_size=page_size,
    )
    # The index orders by createdAt only; equal timestamps are put in taskId order here.
    for _, same_time in itertools.groupby(map(_task, items), key=lambda task: task.created_at):
        for task in sorted(same_time, key=_order_key, reverse=query.descending):
            if after is None or (_order_key(task) < after if query.descending else _order_key(task) > after):
                yield task


@_store_errors
def task_page(*, query: TaskQuery, after: tuple[str, str] | None, limit: int,
              owner: str | None = None) -> tuple[list[Task], bool]:
    """Returns up to `limit` tasks past `after` in query order, and whether more match.

    Merges one Query per (status, shard) of the sharded indexes (never a Scan; until the backfill is
    complete, one per status of the legacy ones); together they read about `limit` items, so a page costs
    the same whatever the table's size. Raises StoreUnavailable when DynamoDB stays unavailable.
    """
    if query.tag and _layout_ready("tag"):
        return _tag_page(query, after, limit, owner)
    # limit + 2: the page, one more to know whether a next page exists, one to close a tie group.
    if _sharded_listing():
        streams = _sharded_streams(query, after, limit, owner)
    else:
        streams = [_status_tasks(status, query, after, limit + 2, owner) for status in query.statuses]
    merged = heapq.merge(*streams, key=_order_key, reverse=query.descending)
    tasks = list(itertools.islice(merged, limit + 1))
    return tasks[:limit], len(tasks) > limit


# Idempotency-Key records (IETF httpapi idempotency-key draft), in their own table.

@dataclass(frozen=True)
class IdempotencyAttempt:
    """A key's record as found when claiming it failed: whose, for which body, and how far it got."""

    fingerprint: str
    state: str
    response: str | None


@_store_errors
def idempotency_claim(*, key: str, fingerprint: str, token: str, now: int) -> IdempotencyAttempt | None:
    """Claims `key` for the request `token` in one conditional PutItem; returns None when claimed.

    The key is free when it has no record, its record has expired (TTL deletes lazily) or its claim's
    lease ran out unfinished (the claimer crashed). Otherwise returns the record found.
    """
    record = IdempotencyRecord(key, fingerprint=fingerprint, state="in_progress", token=token,
                               lease_until=now + settings.IDEMPOTENCY_LEASE_SECONDS,
                               expires_at=now + settings.IDEMPOTENCY_TTL_SECONDS)
    free = (IdempotencyRecord.key.does_not_exist() | (IdempotencyRecord.expires_at < now)
            | ((IdempotencyRecord.state == "in_progress") & (IdempotencyRecord.lease_until < now)))
    for _ in range(3):
        try:
            record.save(condition=free)
            return None
        except PutError as error:
            if not _condition_failed(error):
                raise
        try:
            found = IdempotencyRecord.get(key, consistent_read=True)
        except DoesNotExist:
            continue  # expired and deleted in between: claim again
        if found.token == token:
            return None  # botocore retried our own PutItem, whose first attempt landed
        return IdempotencyAttempt(fingerprint=found.fingerprint, state=found.state, response=found.response)
    raise IdempotencyInFlight("The Idempotency-Key is contended; retry.", headers={"Retry-After": "1"})


@_store_errors
def task_insert_idempotent(*, task: Task, owner: str | None, key: str, token: str, response: str) -> Task:
    """Writes the new task and completes the claim of `key` with `response` in one transaction.

    Both happen or neither does, so a crash never leaves a task behind an unfinished claim (whose retry
    would create it twice). Raises IdempotencyInFlight when the claim was taken over after its lease.
    """
    item = _new_item(task, owner, token)
    complete = IdempotencyRecord(key)
    try:
        # ClientRequestToken makes DynamoDB itself treat a retried TransactWriteItems as the same one.
        with TransactWrite(connection=transaction_connection(), client_request_token=token) as write:
            write.save(item, condition=TaskModel.task_id.does_not_exist())
            if _tag_slots_on():
                tag_index.slots_write(write, old=None, new=task, owner=owner)
            write.update(complete, actions=[IdempotencyRecord.state.set("complete"),
                                            IdempotencyRecord.response.set(response)],
                         condition=(IdempotencyRecord.token == token) & (IdempotencyRecord.state == "in_progress"))
    except TransactWriteError as error:
        if _error_code(error) != "TransactionCanceledException" or _transient(error):
            raise
        try:
            found = IdempotencyRecord.get(key, consistent_read=True)
        except DoesNotExist:
            found = None
        if found is None or found.token != token or found.state != "complete":
            raise IdempotencyInFlight("Another request took over this Idempotency-Key; retry.",
                                      headers={"Retry-After": "1"}) from None
        # A retried transaction whose first attempt landed.
    return _task(TaskModel.get(task.task_id, consistent_read=True))


def idempotency_release(*, key: str, token: str) -> None:
    """Gives up the unfinished claim of `key` held by `token` (after a failed create); best effort,
    since the lease frees the key anyway."""
    try:
        IdempotencyRecord(key).delete(
            condition=(IdempotencyRecord.token == token) & (IdempotencyRecord.state == "in_progress"))
    except (PynamoDBException, BotoCoreError):
        pass


def task_from_image(image: dict[str, Any]) -> Task:
    """Returns the task a stream record's image (DynamoDB JSON) holds."""
    return _task(TaskModel.from_raw_data(image))

# Batches (tasks.batch): one BatchGetItem to read, one TransactWriteItems to write all or nothing.

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


@_store_errors
def idempotency_complete(*, key: str, token: str, response: str) -> None:
    """Stores `response` as the answer of the claim of `key` held by `token` (for batches, whose writes
    are their own calls). Raises IdempotencyInFlight when the claim was taken over after its lease."""
    try:
        IdempotencyRecord(key).update(
            actions=[IdempotencyRecord.state.set("complete"), IdempotencyRecord.response.set(response)],
            condition=(IdempotencyRecord.token == token) & (IdempotencyRecord.state == "in_progress"))
    except UpdateError as error:
        if not _condition_failed(error):
            raise
        found = IdempotencyRecord.get(key, consistent_read=True)
        if found.token != token or found.state != "complete":  # else: a retried update whose first try landed
            raise IdempotencyInFlight("Another request took over this Idempotency-Key; retry.",
                                      headers={"Retry-After": "1"}) from None


# Write-sharded listing indexes (issue 18): keys kept on every write, listings merged across shards,
# the backfill of items from before them, and the switch that waits for it.

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


# Layouts a backfill brings old tasks to: "index" (the sharded listing keys) and "tag" (tasks.tag_index).
LAYOUTS = ("index", "tag")


def _layout_key(layout: str = "index") -> str:
    # Idempotency records are keyed by SHA-256 hex digests, so this key never meets a client's.
    return f"ops#{layout}-layout#{settings.TASKS_TABLE}"


_layouts = {layout: {"state": "missing", "checked": -math.inf} for layout in LAYOUTS}

# Tag layout states that mean every write keeps its task's tag slots: "writing" (create_table made the tags table
# and waits until every process has seen this before it backfills), "running" (the backfill) and "complete".
# Before that ("missing": code deployed ahead of the table) writes leave the tags table alone.
_SLOTS_KEPT = ("writing", "running", "complete")


def _layout_state(layout: str) -> str:
    """The state create_table last recorded for `layout` ("missing", "writing", "running" or "complete").

    Cached per process; until "complete" it looks again at most every TASK_LAYOUT_RECHECK_SECONDS (one GetItem).
    """
    cached = _layouts[layout]
    if cached["state"] == "complete":
        return "complete"
    moment = time.monotonic()
    if moment - cached["checked"] >= settings.TASK_LAYOUT_RECHECK_SECONDS:
        cached["checked"] = moment
        try:
            cached["state"] = IdempotencyRecord.get(_layout_key(layout), consistent_read=True).state
        except DoesNotExist:
            cached["state"] = "missing"
    return cached["state"]


def _layout_ready(layout: str) -> bool:
    """Whether listings read what `layout` built: once create_table has recorded its backfill complete."""
    return _layout_state(layout) == "complete"


def _tag_slots_on() -> bool:
    """Whether writes keep their tasks' tag slots: once create_table has made the tags table (tasks.tag_index)."""
    return _layout_state("tag") in _SLOTS_KEPT


def _sharded_listing() -> bool:
    """Whether listings read the sharded indexes (their backfill is complete)."""
    return _layout_ready("index")


def index_layout_reset_cache() -> None:
    """Forgets the cached switches (tests, and ops after a migration in the same process)."""
    for cached in _layouts.values():
        cached.update(state="missing", checked=-math.inf)


# An ops record that never expires: TTL deletes only items whose expiry has passed.
_NEVER = 253_402_300_799  # 9999-12-31T23:59:59Z


def index_backfill_state(*, layout: str = "index") -> tuple[str, list | None]:
    """Returns the backfill's state ("missing", "running" or "complete") and its resume point (per-segment
    Scan keys, JSON-ready) as create_table last recorded them, for `layout` (LAYOUTS)."""
    try:
        record = IdempotencyRecord.get(_layout_key(layout), consistent_read=True)
    except DoesNotExist:
        return "missing", None
    return record.state, (json.loads(record.response) if record.response else None)


def index_backfill_record(*, state: str, resume: list | None = None, layout: str = "index") -> None:
    """Records the backfill's state and resume point; "complete" switches listings to what `layout` built."""
    owner_command = "create_table"  # who holds the record (the token field of a lease), not a secret
    IdempotencyRecord(_layout_key(layout), fingerprint=f"{layout}-layout", state=state, token=owner_command,
                      lease_until=_NEVER, expires_at=_NEVER,
                      response=json.dumps(resume) if resume is not None else None).save()


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


def _shard_tasks(items: Iterator, first: Any, query: TaskQuery, after: tuple[str, str] | None,
                 reads: "_PageReads", convert=_task) -> Iterator[Task]:
    """Yields one shard's matching tasks (`convert`ed items: anything with created_at and task_id) in
    (createdAt, taskId) query order, strictly past `after`, from its Query's `first` item (already read) on;
    reads further pages only as the merge asks for them."""
    if first is None:
        return
    rest = iter(lambda: _read_next(items, reads), None)
    for _, same_time in itertools.groupby(map(convert, itertools.chain([first], rest)), key=lambda t: t.created_at):
        for task in sorted(same_time, key=_order_key, reverse=query.descending):
            if after is None or (_order_key(task) < after if query.descending else _order_key(task) > after):
                yield task


def _sharded_streams(query: TaskQuery, after: tuple[str, str] | None, limit: int,
                     owner: str | None) -> list[Iterator[Task]]:
    """One lazily read stream per (status, shard), from priority-shard-index when filtering by priority; every
    stream's first Query is read before this returns, concurrently."""
    count = shards.shard_count()
    # A page's tasks spread about evenly over the streams: each reads its share (plus the one that
    # tells whether more follow and the one that closes a tie group) and more pages only on demand.
    # A tag still filters, so each read may return fewer: those read whole pages.
    # (Per shard, not per stream: below 4 KB every Query costs the same 0.5 RCU, so fewer, fuller ones win.)
    page_size = limit + 2 if query.tag else -(-(limit + 2) // count) + 2
    range_condition = _created_range(query, after)
    # Owner, status and priority are in the key; only a tag still filters (see README, issue 18).
    filter_condition = TaskModel.tags.contains(query.tag) if query.tag else None
    queries = []
    for status in query.statuses:
        for shard in range(count):
            if query.priority:
                index = TaskModel.priority_shard_index
                key = shards.priority_key(owner=owner, status=status, priority=query.priority, shard=shard)
            else:
                index, key = TaskModel.list_shard_index, shards.list_key(owner=owner, status=status, shard=shard)
            # Lazy: PynamoDB sends the Query at the first next().
            queries.append(index.query(key, range_key_condition=range_condition, filter_condition=filter_condition,
                                       scan_index_forward=not query.descending, page_size=page_size))
    reads = _PageReads(deadline=time.monotonic() + settings.TASK_LIST_BUDGET_SECONDS)
    firsts = _read_firsts(queries, reads)
    return [_shard_tasks(items, first, query, after, reads) for items, first in zip(queries, firsts, strict=True)]


def _tag_page(query: TaskQuery, after: tuple[str, str] | None, limit: int,
              owner: str | None) -> tuple[list[Task], bool]:
    """A `?tag=` page from the tag indexes (tasks.tag_index): one stream per (status, shard) merged in the
    listing's order, then the page's tasks in one consistent BatchGetItem. An index entry the task no longer
    matches (a GSI lags its table) is skipped and the merge read on, so a page is full whenever more follow."""
    page_size = -(-(limit + 2) // shards.shard_count()) + 2
    range_condition = _created_range(query, after, tag_index.created_attribute())
    queries = tag_index.tag_queries(query, range_condition, owner, page_size)
    reads = _PageReads(deadline=time.monotonic() + settings.TASK_LIST_BUDGET_SECONDS)
    firsts = _read_firsts(queries, reads, prepare=tag_index.tag_client)
    streams = [_shard_tasks(items, first, query, after, reads, tag_index.tag_entry)
               for items, first in zip(queries, firsts, strict=True)]
    entries = heapq.merge(*streams, key=_order_key, reverse=query.descending)
    seen: set[str] = set()
    unique = (entry for entry in entries if not (entry.task_id in seen or seen.add(entry.task_id)))
    tasks: list[Task] = []
    while len(tasks) <= limit:
        wanted = list(itertools.islice(unique, limit + 1 - len(tasks)))
        if not wanted:
            break
        found = {item.task_id: item for item in TaskModel.batch_get([e.task_id for e in wanted], consistent_read=True)}
        tasks += [_task(found[e.task_id]) for e in wanted
                  if e.task_id in found and _tag_match(found[e.task_id], query, owner)]
    return tasks[:limit], len(tasks) > limit


def _tag_match(item: TaskModel, query: TaskQuery, owner: str | None) -> bool:
    """Whether the task as stored still belongs in the tag listing its index entry put it in."""
    return (item.owner == owner and query.tag in (item.tags or []) and item.status in query.statuses
            and query.priority in (None, "", item.priority))


# A page's reads: every stream's first Query at once, and a read that fails transiently past botocore's
# retries tried again for that stream only (PynamoDB leaves a failed page unread, so next() asks again).

@dataclass
class _PageReads:
    """One page's reads: the retries it has left (for all its streams), when the last one must have ended,
    and whether a stream failed for good (then the page answers 503 and no other read starts)."""

    deadline: float
    retries: int = field(default_factory=lambda: settings.TASK_LIST_READ_RETRIES)
    failed: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def retry(self, error: Exception) -> bool:
        """Whether to read again after `error`: it is transient, botocore still had retry quota for it, and
        the page has a retry left whose worst case ends before the deadline. Takes that retry."""
        if not _transient(error) or _retry_quota_reached(error) or self.failed.is_set():
            return False
        if time.monotonic() + _call_worst_seconds() > self.deadline:
            return False
        with self.lock:
            if self.retries <= 0:
                return False
            self.retries -= 1
            return True


def _retry_quota_reached(error: Exception) -> bool:
    """Whether botocore refused its own retries for want of retry quota (standard mode sheds retries while
    many calls fail); reading again would defeat that."""
    cause = getattr(error, "cause", error)
    return isinstance(cause, ClientError) and bool(cause.response.get("ResponseMetadata", {}).get("RetryQuotaReached"))


def _call_worst_seconds() -> float:
    """The longest one DynamoDB call takes through botocore's bounded retries: every attempt times out, and
    standard mode backs off at most 2**i seconds after the i-th (throttling; less for other errors)."""
    attempts = 1 + settings.DYNAMODB_MAX_RETRY_ATTEMPTS
    timeouts = settings.DYNAMODB_CONNECT_TIMEOUT_SECONDS + settings.DYNAMODB_READ_TIMEOUT_SECONDS
    return attempts * timeouts + 2 ** settings.DYNAMODB_MAX_RETRY_ATTEMPTS - 1


def _read_next(items: Iterator[TaskModel], reads: _PageReads) -> TaskModel | None:
    """Returns the next item of one stream (None at its end), reading its next Query page if it needs one,
    again after a transient failure while the page allows (`_PageReads.retry`). Raises the failure otherwise."""
    while True:
        try:
            return next(items, None)
        except (PynamoDBException, BotoCoreError) as error:
            if not reads.retry(error):
                reads.failed.set()
                raise


def _read_first(items: Iterator[TaskModel], reads: _PageReads) -> TaskModel | None:
    """A stream's first item; None without a read once another stream has failed (the page raises then)."""
    return None if reads.failed.is_set() else _read_next(items, reads)


@functools.cache
def _readers() -> ThreadPoolExecutor:
    """The threads list pages read their streams' first Queries on: started once per process, on first use."""
    return ThreadPoolExecutor(max_workers=settings.TASK_LIST_READ_WORKERS, thread_name_prefix="list-read")


def _read_firsts(queries: list[Iterator], reads: _PageReads, prepare=None) -> list[Any]:
    """Returns each stream's first item (None when it has none), read concurrently. Every read has ended
    when this returns or raises; a non-transient failure is raised before a transient one."""
    if len(queries) == 1 or settings.TASK_LIST_READ_WORKERS == 1:
        return [_read_next(items, reads) for items in queries]
    # One botocore client for all threads (clients are thread-safe); created here, not raced for in the
    # threads (PynamoDB creates it lazily and unlocked, from a per-thread session).
    _ = TaskModel._get_connection().connection.client
    if prepare is not None:
        prepare()
    futures = [_readers().submit(_read_first, items, reads) for items in queries]
    wait(futures)
    errors = [future.exception() for future in futures if future.exception() is not None]
    if errors:
        raise min(errors, key=_transient)
    return [future.result() for future in futures]
