"""Change-log persistence on DynamoDB: the only module that touches ChangeModel."""
import json
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from tasks.models import ChangeModel, transaction_connection

UNOWNED = "-"  # the partition of unowned (demo-mode) tasks


@dataclass(frozen=True)
class Change:
    """One recorded change: its per-owner position, what happened, and the task's image (None if deleted)."""

    seq: int
    change: str
    task_id: str
    version: int
    at: str
    image: dict[str, Any] | None


def _partition(owner: str | None) -> str:
    return owner or UNOWNED


def changes_head(*, owner: str | None) -> int:
    """Returns the last seq assigned to `owner`'s changes, 0 when there are none."""
    try:
        return int(ChangeModel.get(_partition(owner), 0, consistent_read=True).last or 0)
    except ChangeModel.DoesNotExist:
        return 0


def changes_after(*, owner: str | None, seq: int, limit: int) -> tuple[list[Change], bool]:
    """Returns up to `limit` changes with seq > `seq`, oldest first, and whether more follow.

    One Query of limit + 1 items: its cost does not depend on the size of the log.
    """
    items = list(ChangeModel.query(_partition(owner), ChangeModel.seq > seq, limit=limit + 1, consistent_read=True))
    changes = [Change(seq=int(item.seq), change=item.change, task_id=item.task_id, version=int(item.version),
                      at=item.at, image=json.loads(item.image) if item.image else None) for item in items[:limit]]
    return changes, len(items) > limit


class CounterMoved(Exception):
    """Another consumer took the next seq of this owner first; read the counter again."""


def change_append(*, owner: str | None, change: str, task_id: str, version: int, at: str,
                  image: dict[str, Any] | None, after: int) -> bool:
    """Records a change as seq `after` + 1 of its owner, once: False if it was already recorded.

    One transaction marks (task, version, change) as seen, moves the owner's counter from `after` and
    writes the change, so seq N + 1 can only commit once seq N has: a reader that has seen N has seen
    every change up to N. Raises CounterMoved when `after` is stale, TransactWriteError otherwise.
    """
    partition = _partition(owner)
    expires = int(time.time()) + settings.CHANGES_RETENTION_SECONDS
    seen = ChangeModel(f"seen#{partition}#{task_id}#{version}#{change}", 0, expires_at=expires)
    counter = ChangeModel(partition, 0, last=after + 1)
    entry = ChangeModel(partition, after + 1, change=change, task_id=task_id, version=version, at=at,
                        image=json.dumps(image) if image is not None else None, expires_at=expires)
    counter_condition = ChangeModel.last == after if after else ChangeModel.owner.does_not_exist()
    try:
        with TransactWrite(connection=transaction_connection()) as transaction:
            transaction.save(seen, condition=ChangeModel.owner.does_not_exist())
            transaction.save(counter, condition=counter_condition)
            transaction.save(entry, condition=ChangeModel.owner.does_not_exist())
    except TransactWriteError as error:
        reasons = [reason.code if reason is not None else None for reason in (error.cancellation_reasons or [])]
        if reasons[:1] == ["ConditionalCheckFailed"]:
            return False
        if "ConditionalCheckFailed" in reasons[1:]:
            raise CounterMoved() from error
        raise
    return True
