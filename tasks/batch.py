"""POST /tasks/batch: validate every operation first, then apply them (in parallel, or as one transaction)."""
import dataclasses
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from taskapi.problems import Problem, exception_handler, problem_body
from tasks import repository, services
from tasks.domain import PreconditionFailed, Task, TaskNotFound, now
from tasks.conditional import if_match_versions, task_etag, task_last_modified
from tasks.serializers import TaskSerializer, TaskUpdateSerializer, TaskWriteSerializer

MAX_OPERATIONS = 100  # TransactWriteItems takes at most 100 items
WORKERS = 8  # concurrent conditional writes of a non-atomic batch
METHODS = ("POST", "PATCH", "PUT", "DELETE")
UUID_RE = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class OperationSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=METHODS)
    taskId = serializers.RegexField(UUID_RE, required=False)
    body = serializers.DictField(required=False)
    ifMatch = serializers.CharField(required=False, max_length=200)

    def validate(self, attrs):
        if attrs["method"] == "POST":
            if "taskId" in attrs or "ifMatch" in attrs:
                raise ValidationError({"taskId": ["A create names no task id nor ifMatch."]})
        elif "taskId" not in attrs:
            raise ValidationError({"taskId": ["This field is required."]})
        if attrs["method"] != "DELETE" and "body" not in attrs:
            raise ValidationError({"body": ["This field is required."]})
        if attrs["method"] == "DELETE" and "body" in attrs:
            raise ValidationError({"body": ["A delete takes no body."]})
        return attrs


class BatchSerializer(serializers.Serializer):
    operations = OperationSerializer(many=True, allow_empty=False, min_length=1, max_length=MAX_OPERATIONS)
    atomic = serializers.BooleanField(default=False)

    def validate_operations(self, operations):
        ids = [op["taskId"].lower() for op in operations if "taskId" in op]
        if len(ids) != len(set(ids)):
            raise ValidationError("A task id appears at most once per batch.")
        return operations


class AtomicBatchTooLarge(Problem):
    status, title = 422, "Atomic batch too large"


@dataclass
class Result:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"status": self.status, "headers": self.headers, "body": self.body}


@dataclass
class Operation:
    """One validated operation: what it does, or the problem that stops it."""

    method: str
    task_id: str | None
    fields: dict
    versions: list[int] | None
    problem: Result | None = None


def _problem(error: Exception) -> Result:
    response = exception_handler(error, {})
    return Result(status=response.status_code, body=dict(response.data),
                  headers={name: value for name, value in response.items() if name != "Content-Type"})


def operations_parse(raw: list[dict]) -> list[Operation]:
    """Validates every operation's body with the single endpoints' serializer; invalid ones carry a 400."""
    parsed = []
    for op in raw:
        method = op["method"]
        operation = Operation(method=method, task_id=op.get("taskId", "").lower() or None, fields={},
                              versions=if_match_versions(op.get("ifMatch")))
        if method != "DELETE":
            serializer = TaskWriteSerializer if method == "POST" else TaskUpdateSerializer
            data = serializer(data=op["body"], partial=method != "POST")
            if data.is_valid():
                operation.fields = dict(data.validated_data)
            else:
                operation.problem = _problem(ValidationError(data.errors))
        parsed.append(operation)
    return parsed


def _task_result(task: Task, status: int, location: Callable[[str], str] | None = None) -> Result:
    headers = {"ETag": task_etag(task), "Last-Modified": task_last_modified(task)}
    if location is not None:
        headers["Location"] = location(task.task_id)
    return Result(status=status, body=dict(TaskSerializer(task).data), headers=headers)


# Creates of a batch sent with an Idempotency-Key get ids derived from (owner, key, position): if the
# function dies after writing but before storing the answer, the retry finds those tasks, not new ones.
BATCH_ID_NAMESPACE = uuid.UUID("6f1d3c2e-5b8a-4e7f-9c0d-2a4b6e8f1a3c")


def batch_task_id(*, key: str, owner: str | None, index: int) -> str:
    """Returns the task id of the create at `index` of the batch sent with Idempotency-Key `key`."""
    return str(uuid.uuid5(BATCH_ID_NAMESPACE, f"{owner or ''}\n{key}\n{index}"))


def _apply_one(operation: Operation, owner: str | None, location: Callable[[str], str],
               task_id: str | None = None) -> Result:
    """The single endpoint's service call for one operation, answered as that endpoint answers."""
    if operation.problem is not None:
        return operation.problem
    try:
        if operation.method == "POST":
            task = services.task_create(owner=owner, task_id=task_id, **operation.fields)
            return _task_result(task, 201, location)
        if operation.method == "DELETE":
            services.task_delete(task_id=operation.task_id, versions=operation.versions, owner=owner)
            return Result(status=200, body={"taskId": operation.task_id, "deleted": True})
        # As the single endpoint does: read first, so an update that changes nothing keeps its version.
        current = services.task_get(task_id=operation.task_id, owner=owner)
        task = services.task_update(task_id=operation.task_id, changes=operation.fields,
                                    versions=operation.versions, owner=owner, current=current)
        return _task_result(task, 200)
    except Exception as error:  # rendered like the single endpoint's exception handler renders it
        return _problem(error)


def batch_apply(*, operations: list[Operation], owner: str | None,
                location: Callable[[str], str], key: str | None = None) -> list[Result]:
    """Applies each operation on its own (conditional writes, WORKERS at a time); results in request order.

    With the batch's Idempotency-Key `key`, running the same batch again creates no second task.
    """
    ids = [batch_task_id(key=key, owner=owner, index=index) if key else None for index in range(len(operations))]
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(operations))) as pool:
        return list(pool.map(lambda op, task_id: _apply_one(op, owner, location, task_id), operations, ids))


NOT_APPLIED = 424  # Failed Dependency: valid on its own, not applied because another operation fails


def batch_apply_atomic(*, operations: list[Operation], owner: str | None,
                       location: Callable[[str], str], key: str | None = None) -> tuple[bool, list[Result]]:
    """Applies all operations in one TransactWriteItems, or none. Returns (applied, results).

    Reads the tasks named first (consistent), checks every operation's rules against them, and writes
    with each task's read version as the condition, so a writer in between cancels the transaction.
    """
    token = uuid.uuid4().hex  # ClientRequestToken: a retried TransactWriteItems applies once
    for _ in range(3):
        current = repository.tasks_fetch_many(task_ids=[op.task_id for op in operations if op.task_id])
        results, writes = _plan(operations, current, owner, location, key)
        if any(result.status >= 400 for result in results):
            return False, [_not_applied(result) for result in results]
        actions = repository.atomic_actions(writes=writes)
        if actions > repository.TRANSACTION_MAX_ACTIONS:
            raise AtomicBatchTooLarge(
                f"This atomic batch needs {actions} DynamoDB transaction actions (one per task written, plus one per "
                f"tag slot written or deleted when tags, status or priority of a task with tags change); one "
                f"transaction holds at most {repository.TRANSACTION_MAX_ACTIONS}. Split it, or send it with "
                f"\"atomic\": false.")
        # Every operation a no-op: nothing to write (TransactWriteItems refuses an empty list).
        if not writes or repository.tasks_write_atomic(writes=writes, owner=owner, token=token):
            return True, results
        token = uuid.uuid4().hex  # a condition failed: someone wrote in between; check again
    raise PreconditionFailed("The tasks kept changing while this batch was written; try again.")


def _not_applied(result: Result) -> Result:
    if result.status >= 400:
        return result
    body = problem_body(NOT_APPLIED, title="Not applied",
                        detail="This operation is valid but was not applied: another operation of the atomic batch fails.")
    return Result(status=NOT_APPLIED, body=body)


def _plan(operations, current: dict[str, tuple[Task, str | None]], owner, location, key=None):
    results, writes = [], []
    stamp = now()
    for index, op in enumerate(operations):
        if op.problem is not None:
            results.append(op.problem)
            continue
        if op.method == "POST":
            task_id = batch_task_id(key=key, owner=owner, index=index) if key else None
            task = services.task_new(task_id=task_id, **op.fields)
            writes.append(("create", task, None))
            results.append(_task_result(task, 201, location))
            continue
        found = current.get(op.task_id)
        if found is None or found[1] != owner:
            results.append(_problem(TaskNotFound(f"No task has the id {op.task_id}.")))
            continue
        task = found[0]
        if op.versions is not None and task.version not in op.versions:
            results.append(_problem(PreconditionFailed("The task has changed since the ETag in If-Match was issued.")))
            continue
        if op.method == "DELETE":
            writes.append(("delete", task, None))
            results.append(Result(status=200, body={"taskId": op.task_id, "deleted": True}))
            continue
        if services.task_unchanged(task, _domain_changes(op.fields)):
            results.append(_task_result(task, 200))  # changes nothing: no write, same version, as single PATCH
            continue
        changed = dataclasses.replace(task, **_domain_changes(op.fields), updated_at=max(stamp, task.updated_at),
                                      version=task.version + 1)
        writes.append(("update", changed, task))
        results.append(_task_result(changed, 200))
    return results, writes


def _domain_changes(fields: dict) -> dict:
    return {name: (list(value or []) if name == "tags" else value) for name, value in fields.items()}


class ResultSerializer(serializers.Serializer):
    """One operation's answer, as its single endpoint would have given it (for the OpenAPI document)."""

    status = serializers.IntegerField()
    headers = serializers.DictField(child=serializers.CharField())
    body = serializers.DictField(help_text="The task, the deletion result or a problem document.")


class BatchResultsSerializer(serializers.Serializer):
    results = ResultSerializer(many=True)
