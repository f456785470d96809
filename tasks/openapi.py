"""The OpenAPI description of /tasks, attached to TaskViewSet only when /openapi.json is first served.

drf-spectacular's schema machinery (its AutoSchema pulls in django.test, unittest and every contrib
extension) is ~10% of a cold start; an API call never needs it, so nothing imports this module but
the /openapi.json view.
"""
import functools

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view

from taskapi.schema import PROBLEM_RESPONSES
from tasks import batch, idempotency
from tasks.batch_views import TaskBatchView
from tasks.serializers import (
    TaskDeletedSerializer,
    TaskListQuerySerializer,
    TaskPageSerializer,
    TaskSerializer,
    TaskWriteSerializer,
)
from tasks.views import TaskViewSet

_ETAG = OpenApiParameter("ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200, 201, 304],
                         description="The task's version as a strong entity tag.")
_LOCATION = OpenApiParameter("Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[201],
                             description="The new task's absolute URL.")
_IF_MATCH = OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER,
                             description="Write only if the task still has this ETag; otherwise 412.")
_IF_NONE_MATCH = OpenApiParameter("If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                  description="Answer 304 if the task still has this ETag.")
_TASK_ID = OpenApiParameter("taskId", OpenApiTypes.UUID, OpenApiParameter.PATH)
_IDEMPOTENCY_KEY = OpenApiParameter(
    idempotency.HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, pattern=idempotency.KEY_PATTERN,
    description="Makes retries safe: the same key and body within 24 h replay the first response; "
                "another body gives 422, a retry while the first is running 409.")


def _errors(codes: tuple[int, ...]) -> dict:
    # Every task operation may also answer 401 (identity required) and 503 (DynamoDB unavailable).
    return {code: PROBLEM_RESPONSES[code] for code in (*codes, 401, 503)}


@functools.cache
def task_views_document() -> None:
    """Attaches the schema and the operations' descriptions to TaskViewSet, once per process."""
    TaskViewSet.schema = AutoSchema()
    extend_schema_view(
        list=extend_schema(
            summary="List tasks, newest first",
            parameters=[TaskListQuerySerializer],
            responses={200: TaskPageSerializer, **_errors((400,))},
        ),
        create=extend_schema(
            summary="Create a task",
            request=TaskWriteSerializer,
            parameters=[_IDEMPOTENCY_KEY, _ETAG, _LOCATION],
            responses={201: TaskSerializer, **_errors((400, 409, 413, 415, 422))},
        ),
        retrieve=extend_schema(
            summary="Get a task",
            parameters=[_TASK_ID, _IF_NONE_MATCH, _ETAG],
            responses={200: TaskSerializer,
                       304: OpenApiResponse(description="Not modified: the task still has the ETag sent."),
                       **_errors((400, 404))},
        ),
        update=extend_schema(
            summary="Update the fields sent (same as PATCH)",
            parameters=[_TASK_ID, _IF_MATCH, _ETAG],
            request=TaskWriteSerializer(partial=True),
            responses={200: TaskSerializer, **_errors((400, 404, 412, 413, 415))},
        ),
        partial_update=extend_schema(
            summary="Update the fields sent",
            parameters=[_TASK_ID, _IF_MATCH, _ETAG],
            request=TaskWriteSerializer(partial=True),
            responses={200: TaskSerializer, **_errors((400, 404, 412, 413, 415))},
        ),
        destroy=extend_schema(
            summary="Delete a task",
            parameters=[_TASK_ID, _IF_MATCH],
            responses={200: TaskDeletedSerializer, **_errors((400, 404, 412))},
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
