"""Idempotency-Key records (IETF httpapi idempotency-key draft), in their own table."""
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError
from django.conf import settings
from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from tasks import tag_index
from tasks.domain import IdempotencyInFlight, Task
from tasks.models import IdempotencyRecord, TaskModel, transaction_connection
from tasks.repository.common import _condition_failed, _error_code, _new_item, _store_errors, _task, _transient
from tasks.repository.layouts import _tag_slots_on


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
