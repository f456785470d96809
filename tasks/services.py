"""Task rules: ids, timestamps and versions. Views call these; these call the repository."""
import uuid
from typing import Any

from tasks import repository
from tasks.domain import Task, TaskQuery, now


def task_create(*, title: str, description: str | None = None, status: str = "pending",
                priority: str = "medium", due_date: str | None = None, tags: list[str] | None = None) -> Task:
    """Creates a task with a new id; createdAt and updatedAt are now. Returns the stored task."""
    created_at = now()
    task = Task(
        task_id=str(uuid.uuid4()),
        title=title,
        description=description,
        status=status,
        priority=priority,
        created_at=created_at,
        updated_at=created_at,
        due_date=due_date,
        tags=list(tags or []),
        version=1,
    )
    return repository.task_insert(task=task)


def task_get(*, task_id: str) -> Task:
    """Returns the task. Raises TaskNotFound."""
    return repository.task_fetch(task_id=task_id)


def task_update(*, task_id: str, changes: dict[str, Any], versions: list[int] | None = None) -> Task:
    """Changes the given fields only and moves updatedAt; createdAt never changes.

    `versions` (from If-Match) guards the write. Returns the task as stored. Raises TaskNotFound or
    PreconditionFailed.
    """
    return repository.task_change(task_id=task_id, changes=changes, updated_at=now(), versions=versions)


def task_delete(*, task_id: str, versions: list[int] | None = None) -> None:
    """Deletes the task. Raises TaskNotFound or PreconditionFailed."""
    repository.task_remove(task_id=task_id, versions=versions)


def task_list(*, query: TaskQuery, after: tuple[str, str] | None, limit: int) -> tuple[list[Task], bool]:
    """Returns a page of tasks past `after` and whether another page follows."""
    return repository.task_page(query=query, after=after, limit=limit)
