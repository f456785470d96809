"""Listing pages: Queries per status or per (status, shard), merged in order, and tag pages from the tag indexes."""
import functools
import heapq
import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from pynamodb.exceptions import PynamoDBException

from tasks import shards, tag_index
from tasks.domain import Task, TaskQuery
from tasks.models import TaskModel
from tasks.repository.common import _owner_status, _store_errors, _task, _transient
from tasks.repository.layouts import _layout_ready, _sharded_listing


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
