"""Task persistence on DynamoDB: the only module that touches TaskModel."""
import heapq
import itertools
from collections.abc import Iterator
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError

from tasks.domain import PreconditionFailed, Task, TaskNotFound, TaskQuery
from tasks.models import TaskModel

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


def _condition_failed(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def _missing_or_stale(task_id: str) -> Exception:
    """After a failed condition: TaskNotFound when the task is gone, else PreconditionFailed."""
    try:
        TaskModel.get(task_id, consistent_read=True)
    except DoesNotExist:
        return TaskNotFound(f"No task has the id {task_id}.")
    return PreconditionFailed("The task has changed since the ETag in If-Match was issued.")


def _version_condition(versions: list[int] | None):
    if versions is None:
        return TaskModel.task_id.exists()
    return TaskModel.task_id.exists() & TaskModel.version.is_in(*versions)


def task_insert(*, task: Task) -> Task:
    """Writes a new task (never over an existing one) and returns it with its stored version."""
    item = TaskModel(
        task.task_id,
        title=task.title,
        description=task.description,
        status=task.status,
        priority=task.priority,
        created_at=task.created_at,
        updated_at=task.updated_at,
        due_date=task.due_date,
        tags=list(task.tags),
    )
    item.save(condition=TaskModel.task_id.does_not_exist())
    return _task(item)


def task_fetch(*, task_id: str) -> Task:
    """Returns the task (strongly consistent read). Raises TaskNotFound."""
    try:
        return _task(TaskModel.get(task_id, consistent_read=True))
    except DoesNotExist:
        raise TaskNotFound(f"No task has the id {task_id}.") from None


def task_change(*, task_id: str, changes: dict[str, Any], updated_at: str, versions: list[int] | None) -> Task:
    """Applies `changes` in one conditional UpdateItem and returns the task as stored.

    Only the named attributes are written, so concurrent changes of other fields survive, and the
    item must exist, so a deleted task is never recreated. With `versions`, the stored version must be
    one of them. Raises TaskNotFound or PreconditionFailed.
    """
    actions = [
        _UPDATABLE[name].remove() if value is None else _UPDATABLE[name].set(value)
        for name, value in changes.items()
    ]
    actions.append(TaskModel.updated_at.set(updated_at))
    # A placeholder version makes PynamoDB emit `ADD version 1`; its own condition is replaced by ours.
    item = TaskModel(task_id, version=0)
    try:
        item.update(actions=actions, condition=_version_condition(versions), add_version_condition=False)
    except UpdateError as error:
        if _condition_failed(error):
            raise _missing_or_stale(task_id) from None
        raise
    return _task(item)


def task_remove(*, task_id: str, versions: list[int] | None) -> None:
    """Deletes the task. Raises TaskNotFound, or PreconditionFailed when `versions` does not match."""
    try:
        TaskModel(task_id).delete(condition=_version_condition(versions), add_version_condition=False)
    except DeleteError as error:
        if _condition_failed(error):
            raise _missing_or_stale(task_id) from None
        raise


def _order_key(task: Task) -> tuple[str, str]:
    return (task.created_at, task.task_id)


def _status_tasks(status: str, query: TaskQuery, after: tuple[str, str] | None, page_size: int) -> Iterator[Task]:
    """Yields one status's matching tasks in (createdAt, taskId) order, strictly past `after`."""
    lower, upper = query.created_from, query.created_to
    if after is not None:
        if query.descending:
            upper = min(upper, after[0]) if upper else after[0]
        else:
            lower = max(lower, after[0]) if lower else after[0]
    if lower and upper:
        range_condition = TaskModel.created_at.between(lower, upper)
    elif lower:
        range_condition = TaskModel.created_at >= lower
    elif upper:
        range_condition = TaskModel.created_at <= upper
    else:
        range_condition = None

    filter_condition = None
    if query.priority:
        filter_condition = TaskModel.priority == query.priority
    if query.tag:
        has_tag = TaskModel.tags.contains(query.tag)
        filter_condition = has_tag if filter_condition is None else filter_condition & has_tag

    items = TaskModel.status_index.query(
        status,
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


def task_page(*, query: TaskQuery, after: tuple[str, str] | None, limit: int) -> tuple[list[Task], bool]:
    """Returns up to `limit` tasks past `after` in query order, and whether more match.

    Merges one status-index Query per status (never a Scan); each reads about `limit` items, so a
    page costs the same whatever the table's size.
    """
    # limit + 2: the page, one more to know whether a next page exists, one to close a tie group.
    streams = [_status_tasks(status, query, after, limit + 2) for status in query.statuses]
    merged = heapq.merge(*streams, key=_order_key, reverse=query.descending)
    tasks = list(itertools.islice(merged, limit + 1))
    return tasks[:limit], len(tasks) > limit

