"""The task entity, its vocabulary and its errors, shared by every layer of the app."""
from dataclasses import dataclass, field
from datetime import UTC, datetime

from taskapi.problems import Problem

STATUSES = ("pending", "in_progress", "completed")
PRIORITIES = ("low", "medium", "high")
# Field limits, in characters (code points); tasks.limits derives the body cap from them.
TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
TAG_MAX = 64
TAGS_MAX = 50


@dataclass(frozen=True)
class Task:
    task_id: str
    title: str
    status: str
    priority: str
    created_at: str
    updated_at: str
    version: int
    description: str | None = None
    due_date: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TaskQuery:
    """What a listing asks for: filters and order, but not the page position."""

    statuses: tuple[str, ...] = STATUSES
    priority: str | None = None
    tag: str | None = None
    created_from: str | None = None
    created_to: str | None = None
    descending: bool = True


def timestamp(moment: datetime) -> str:
    """Returns `moment` as fixed-width UTC RFC 3339 with milliseconds, so string order is time order."""
    moment = moment.astimezone(UTC)
    # %Y does not pad years before 1000 on glibc; four digits keep string order equal to time order.
    return f"{moment.year:04d}-" + moment.strftime("%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now() -> str:
    """Returns the current time as a task timestamp."""
    return timestamp(datetime.now(UTC))


class TaskNotFound(Problem):
    status, title = 404, "Task not found"


class PreconditionFailed(Problem):
    status, title = 412, "Precondition Failed"


class StoreUnavailable(Problem):
    status, title = 503, "Service Unavailable"


class IdempotencyKeyReused(Problem):
    status, title = 422, "Idempotency-Key reused"


class IdempotencyInFlight(Problem):
    status, title = 409, "Request in progress"
