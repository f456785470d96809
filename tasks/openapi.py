"""The OpenAPI description of /tasks, attached to TaskViewSet only when /openapi.json is first served.

drf-spectacular's schema machinery (its AutoSchema pulls in django.test, unittest and every contrib
extension) is ~10% of a cold start; an API call never needs it, so nothing imports this module but
the /openapi.json view.
"""
import functools

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers

from taskapi.schema import PROBLEM_RESPONSES
from tasks import batch, idempotency
from tasks.batch_views import TaskBatchView
from tasks.conditional import ETAG_LIST_PATTERN
from tasks.feed_views import ChangesQuerySerializer, ChangesView
from tasks.serializers import (
    RFC3339Field,
    TaskDeletedSerializer,
    TaskListQuerySerializer,
    TaskPageSerializer,
    TaskSerializer,
    TaskUpdateSerializer,
    TaskWriteSerializer,
)
from tasks.views import TaskViewSet

# The serializers' own annotations live here too, so that serving a task never imports drf-spectacular.
extend_schema_field(OpenApiTypes.DATETIME)(RFC3339Field)
extend_schema_serializer(many=False)(TaskPageSerializer)  # the list action returns one page object, not an array

_ETAG = OpenApiParameter("ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200, 201, 304],
                         description="The task's version as a strong entity tag, such as \"3\".")
_LAST_MODIFIED = OpenApiParameter("Last-Modified", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                  response=[200, 201, 304], description="updatedAt as an HTTP-date (whole seconds).")
_CACHE_CONTROL = OpenApiParameter(
    "Cache-Control", OpenApiTypes.STR, OpenApiParameter.HEADER, response=True,
    description="`private, no-cache` on tasks (no shared cache keeps them; revalidate with the ETag), "
                "`no-store` on errors.")
_LOCATION = OpenApiParameter("Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[201],
                             description="The new task's absolute URL.")
_IF_MATCH = OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, pattern=ETAG_LIST_PATTERN,
                             description="Proceed only if the task still has one of these ETags (strong "
                                         "comparison); otherwise 412 and nothing is written.",
                             examples=[OpenApiExample("Version 3", value='"3"')])
_IF_NONE_MATCH_READ = OpenApiParameter(
    "If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, pattern=ETAG_LIST_PATTERN,
    description="Answer 304 without a body if the task still has one of these ETags (weak comparison).",
    examples=[OpenApiExample("Version 3", value='"3"')])
_IF_NONE_MATCH_WRITE = OpenApiParameter(
    "If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, pattern=ETAG_LIST_PATTERN,
    description="Refuse with 412 if the task has one of these ETags; `*` always refuses, as the task exists.")
_IF_MODIFIED_SINCE = OpenApiParameter("If-Modified-Since", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                      description="HTTP-date; answer 304 if the task is unchanged since "
                                                  "(ignored when If-None-Match is sent).")
_IF_UNMODIFIED_SINCE = OpenApiParameter("If-Unmodified-Since", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                        description="HTTP-date; refuse with 412 if the task changed since "
                                                    "(ignored when If-Match is sent).")

_TASK_EXAMPLE = {
    "taskId": "7d2c1f0e-5b8a-4c3e-9f61-2a4b8c9d0e1f", "title": "Renew the passport",
    "description": "Photos from the shop on Main Street; the form is in the drawer.", "status": "in_progress",
    "priority": "high", "dueDate": "2026-12-15T17:00:00.000Z", "tags": ["admin", "travel"],
    "createdAt": "2026-11-25T06:14:00.000Z", "updatedAt": "2026-11-26T09:30:12.345Z", "version": 3,
}
_CREATE_EXAMPLES = [
    OpenApiExample("A task with a due date", request_only=True, value={
        "title": "Renew the passport", "description": "Photos from the shop on Main Street.",
        "priority": "high", "dueDate": "2026-12-15T18:00:00+01:00", "tags": ["admin", "travel"]}),
    OpenApiExample("Only a title", request_only=True, value={"title": "Call the plumber"}),
]
_UPDATE_EXAMPLES = [
    OpenApiExample("Mark as done", request_only=True, value={"status": "completed"}),
    OpenApiExample("Clear the due date", request_only=True, value={"dueDate": None}),
]
_TASK_RESPONSE_EXAMPLES = [OpenApiExample("A task", response_only=True, value=_TASK_EXAMPLE)]
_PAGE_EXAMPLES = [OpenApiExample("A page with more to come", response_only=True, value={
    "results": [_TASK_EXAMPLE],
    "next": "https://api.example.com/tasks?status=in_progress&limit=1&cursor=eyJrIjpbIjIwMjYtMTEtMjVUMDY6MTQ6MDAu"})]
_TASK_ID = OpenApiParameter("taskId", OpenApiTypes.UUID, OpenApiParameter.PATH)
_IDEMPOTENCY_KEY = OpenApiParameter(
    idempotency.HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, pattern=idempotency.KEY_PATTERN,
    description="Makes retries safe: the same key and body within 24 h replay the first response; "
                "another body gives 422, a retry while the first is running 409.")


# OpenAPI 3.0 has no null type: a nullable reference needs `type` beside `nullable` (Redocly's rule).
@extend_schema_field({"type": "object", "nullable": True, "allOf": [{"$ref": "#/components/schemas/Task"}]})
class _NullableTaskField(serializers.JSONField):
    pass


class ChangeSerializer(serializers.Serializer):
    """One entry of the changes feed, as ChangesView answers it (schema only)."""

    change = serializers.ChoiceField(choices=["created", "updated", "deleted"])
    taskId = serializers.UUIDField()
    version = serializers.IntegerField(min_value=1)
    at = serializers.DateTimeField(help_text="When the change was made: RFC 3339, UTC, milliseconds.")
    task = _NullableTaskField(help_text="The task as GET returns it after the change; null for deletions.")


class ChangesPageSerializer(serializers.Serializer):
    """A page of the feed: its changes, the token to poll with next, and whether more are waiting."""

    changes = ChangeSerializer(many=True)
    since = serializers.CharField(help_text="Opaque signed token: pass it as `since` in the next request.")
    more = serializers.BooleanField(help_text="True when more changes are waiting: poll again at once.")



def _errors(codes: tuple[int, ...]) -> dict:
    # Every task operation may also answer 401 (identity required), 405 (a method the path lacks),
    # 406 (an Accept the API cannot satisfy) and 503 (DynamoDB unavailable).
    return {code: PROBLEM_RESPONSES[code] for code in sorted((*codes, 401, 405, 406, 503))}


@functools.cache
def task_views_document() -> None:
    """Attaches the schema and the operations' descriptions to TaskViewSet, once per process."""
    TaskViewSet.schema = AutoSchema()
    extend_schema_view(
        list=extend_schema(
            summary="List tasks, newest first",
            description="One page of the caller's tasks, filtered by status, priority, tag and creation time. "
                        "Follow `next` for the following page: it keeps the filters and the order.",
            parameters=[TaskListQuerySerializer, _CACHE_CONTROL],
            responses={200: TaskPageSerializer, **_errors((400,))},
            examples=_PAGE_EXAMPLES,
        ),
        create=extend_schema(
            summary="Create a task",
            description="Stores a new task owned by the caller. Omitted fields take their defaults: status "
                        "`pending`, priority `medium`, no description, due date or tags. Send an "
                        "Idempotency-Key to make retries safe.",
            request=TaskWriteSerializer,
            parameters=[_IDEMPOTENCY_KEY, _ETAG, _LAST_MODIFIED, _LOCATION, _CACHE_CONTROL],
            responses={201: TaskSerializer, **_errors((400, 409, 413, 415, 422))},
            examples=[*_CREATE_EXAMPLES, *_TASK_RESPONSE_EXAMPLES],
        ),
        retrieve=extend_schema(
            summary="Get a task",
            description="The task with its ETag and Last-Modified. Revalidate with If-None-Match (or "
                        "If-Modified-Since) to get 304 while it is unchanged; If-Match that no longer matches "
                        "gives 412.",
            parameters=[_TASK_ID, _IF_MATCH, _IF_NONE_MATCH_READ, _IF_MODIFIED_SINCE, _IF_UNMODIFIED_SINCE,
                        _ETAG, _LAST_MODIFIED, _CACHE_CONTROL],
            responses={200: TaskSerializer,
                       304: OpenApiResponse(description="Not modified: the task still has the ETag sent."),
                       **_errors((400, 404, 412))},
            examples=_TASK_RESPONSE_EXAMPLES,
        ),
        update=extend_schema(
            summary="Update the fields sent (same as PATCH)",
            description="Changes only the fields in the body; fields not sent keep their values, and no "
                        "field has a default here. An update that changes nothing keeps the version and "
                        "updatedAt. Send If-Match with the ETag you read so a concurrent change gives 412 "
                        "instead of being overwritten.",
            parameters=[_TASK_ID, _IF_MATCH, _IF_NONE_MATCH_WRITE, _IF_UNMODIFIED_SINCE, _ETAG, _LAST_MODIFIED,
                        _CACHE_CONTROL],
            request=TaskUpdateSerializer(partial=True),
            responses={200: TaskSerializer, **_errors((400, 404, 412, 413, 415))},
            examples=[*_UPDATE_EXAMPLES, *_TASK_RESPONSE_EXAMPLES],
        ),
        partial_update=extend_schema(
            summary="Update the fields sent",
            description="A JSON Merge Patch (RFC 7396; `application/json` or `application/merge-patch+json`): "
                        "members sent replace the task's, null clears description or dueDate, members not "
                        "sent are kept. An update that changes nothing keeps the version and updatedAt. "
                        "Send If-Match with the ETag you read; a concurrent change then gives 412.",
            parameters=[_TASK_ID, _IF_MATCH, _IF_NONE_MATCH_WRITE, _IF_UNMODIFIED_SINCE, _ETAG, _LAST_MODIFIED,
                        _CACHE_CONTROL],
            request=TaskUpdateSerializer(partial=True),
            responses={200: TaskSerializer, **_errors((400, 404, 412, 413, 415))},
            examples=[*_UPDATE_EXAMPLES, *_TASK_RESPONSE_EXAMPLES],
        ),
        destroy=extend_schema(
            summary="Delete a task",
            description="Deletes the task for good. With If-Match, only if it still has that ETag (else 412).",
            parameters=[_TASK_ID, _IF_MATCH, _IF_NONE_MATCH_WRITE, _IF_UNMODIFIED_SINCE, _CACHE_CONTROL],
            responses={200: TaskDeletedSerializer, **_errors((400, 404, 412))},
            examples=[OpenApiExample("Deleted", response_only=True,
                                     value={"taskId": _TASK_EXAMPLE["taskId"], "deleted": True})],
        ),
    )(TaskViewSet)
    TaskBatchView.schema = AutoSchema()
    extend_schema(
        summary="Apply up to 100 task writes in one request, atomically when asked",
        request=batch.BatchSerializer,
        parameters=[_IDEMPOTENCY_KEY],
        responses={200: batch.BatchResultsSerializer,
                   409: OpenApiResponse(description="Atomic batch not applied: a problem document with `results`, "
                                                    "per operation, saying which fail and why (424: not applied)."),
                   **_errors((400, 413, 415, 422))},
    )(TaskBatchView)
    ChangesView.schema = AutoSchema()
    extend_schema(
        summary="Changes to your tasks after a feed token (delta sync)",
        description=("Without `since`: no changes and a token for now; list /tasks for a baseline, then poll with "
                     "the token. With `since`: changes made after it, oldest first, each task's in version order, "
                     "and the token to poll with next. Delivery is at least once: apply a change only when its "
                     "`version` is newer than the copy you hold. 410 when the token is older than the feed's "
                     "retention: list /tasks again."),
        parameters=[ChangesQuerySerializer],
        responses={200: ChangesPageSerializer, **_errors((400, 410))},
    )(ChangesView)
