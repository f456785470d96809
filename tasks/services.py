"""Task rules: ids, timestamps and versions. Views call these; these call the repository."""
import uuid
from typing import Any

from tasks import repository
from tasks.domain import PreconditionFailed, Task, TaskQuery, now


def task_new(*, title: str, description: str | None = None, status: str = "pending",
             priority: str = "medium", due_date: str | None = None, tags: list[str] | None = None,
             task_id: str | None = None) -> Task:
    """Returns a new, not yet stored task with `task_id` or a new random id; createdAt and updatedAt are now."""
    created_at = now()
    return Task(
        task_id=task_id or str(uuid.uuid4()),
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


def task_create(*, owner: str | None = None, task_id: str | None = None, **fields) -> Task:
    """Creates a task (owned by `owner` when given). Returns the stored task.

    With a `task_id` derived from a retried request, a second create finds the first one's task and
    returns it instead of writing another.
    """
    return repository.task_insert(task=task_new(task_id=task_id, **fields), owner=owner)


def task_get(*, task_id: str, owner: str | None = None) -> Task:
    """Returns the task. Raises TaskNotFound, also when it belongs to another owner."""
    return repository.task_fetch(task_id=task_id, owner=owner)


def task_unchanged(task: Task, changes: dict[str, Any]) -> bool:
    """Returns whether applying `changes` would leave `task` as it is."""
    return all(getattr(task, name) == value for name, value in changes.items())


def task_update(*, task_id: str, changes: dict[str, Any], versions: list[int] | None = None,
                owner: str | None = None, current: Task | None = None) -> Task:
    """Changes the given fields only and moves updatedAt; createdAt never changes.

    `versions` (from If-Match) guards the write. `current`, the task as just read, lets an update
    that changes nothing return it untouched: no new version or updatedAt, so other clients' ETags
    stay valid. Returns the task as stored. Raises TaskNotFound or PreconditionFailed.
    """
    if current is not None and task_unchanged(current, changes):
        if versions is not None and current.version not in versions:
            raise PreconditionFailed("The task has changed since the ETag in If-Match was issued.")
        return current
    # The token lets a retried or late duplicate of this write recognise itself instead of applying twice.
    return repository.task_change(task_id=task_id, changes=changes, updated_at=now(), versions=versions,
                                  owner=owner, token=uuid.uuid4().hex, current=current)


def task_delete(*, task_id: str, versions: list[int] | None = None, owner: str | None = None) -> None:
    """Deletes the task. Raises TaskNotFound or PreconditionFailed."""
    repository.task_remove(task_id=task_id, versions=versions, owner=owner)


def task_list(*, query: TaskQuery, after: tuple[str, str] | None, limit: int,
              owner: str | None = None) -> tuple[list[Task], bool]:
    """Returns a page of the owner's tasks (unowned ones without an owner) past `after`, and whether
    another page follows."""
    return repository.task_page(query=query, after=after, limit=limit, owner=owner)
