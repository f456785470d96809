"""What every repository module shares: TaskModel items as Tasks, DynamoDB errors classified, conditions."""
import functools
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import size

from tasks import shards
from tasks.domain import StoreUnavailable, Task
from tasks.models import TaskModel


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


def task_from_image(image: dict[str, Any]) -> Task:
    """Returns the task a stream record's image (DynamoDB JSON) holds."""
    return _task(TaskModel.from_raw_data(image))
