"""The /tasks HTTP API: validate with a serializer, call a service, serialize the result."""
from django.urls import reverse
from rest_framework import status as http
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from tasks import conditional, idempotency, services
from tasks.authentication import IdentityRequired, owner_of
from tasks.conditional import Preconditions, task_etag, task_last_modified
from tasks.domain import Task, TaskQuery
from tasks.pagination import cursor_decode, cursor_encode, next_link
from tasks.serializers import TaskListQuerySerializer, TaskSerializer, TaskUpdateSerializer, TaskWriteSerializer

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ALWAYS_ALLOWED_PARAMS = {"format"}  # DRF's renderer override
# GET /tasks's own parameters, named once: binding a serializer's fields deep-copies them (issue 19).
LIST_QUERY_PARAMS = frozenset(TaskListQuerySerializer().fields)
FILTER_PARAMS = ("status", "priority", "tag", "createdFrom", "createdTo", "order")


def if_match_versions(request: Request) -> list[int] | None:
    """Returns the versions the request's If-Match accepts, None when any version will do."""
    return conditional.if_match_versions(request.headers.get("If-Match"))


class TaskViewSet(viewsets.GenericViewSet):
    """Tasks: create, read, update the fields sent, delete, and list newest first."""

    permission_classes = [IdentityRequired]
    lookup_field = "taskId"
    lookup_value_regex = UUID_PATTERN
    serializer_class = TaskWriteSerializer
    filter_backends: list = []
    pagination_class = None
    # tasks.openapi sets the schema when /openapi.json is first served. DRF's router reads every class
    # attribute, and the default schema would import drf-spectacular on every cold start.
    schema = None

    def get_serializer_class(self):
        # The browsable API's form on a task page edits it: no creation defaults there.
        return TaskUpdateSerializer if self.lookup_field in self.kwargs else TaskWriteSerializer

    def get_queryset(self):  # There is no queryset; the browsable API only asks whether one exists.
        return []

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        allowed = ALWAYS_ALLOWED_PARAMS | (LIST_QUERY_PARAMS if self.action == "list" else set())
        errors = {}
        for name, values in request.query_params.lists():
            if name not in allowed:
                errors[name] = ["Unknown query parameter."]
            elif len(values) > 1:
                errors[name] = ["Give this parameter once."]
        if errors:
            raise ValidationError(errors)

    def get_object(self) -> Task:
        return services.task_get(task_id=self._task_id(), owner=owner_of(self.request))

    def _task_id(self) -> str:
        return self.kwargs[self.lookup_field].lower()

    def _task_response(self, task: Task, status: int = http.HTTP_200_OK, **headers) -> Response:
        return Response(TaskSerializer(task).data, status=status,
                        headers={"ETag": task_etag(task), "Last-Modified": task_last_modified(task), **headers})

    def list(self, request: Request) -> Response:
        params = TaskListQuerySerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        values = params.validated_data
        filters = {name: values[name] for name in FILTER_PARAMS if name in values}
        query = TaskQuery(
            statuses=(values["status"],) if "status" in values else TaskQuery.statuses,
            priority=values.get("priority"),
            tag=values.get("tag"),
            created_from=values.get("createdFrom"),
            created_to=values.get("createdTo"),
            descending=values["order"] == "desc",
        )
        after = cursor_decode(values["cursor"], filters=filters) if "cursor" in values else None
        tasks, more = services.task_list(query=query, after=after, limit=values["limit"], owner=owner_of(request))
        next_url = None
        if more:
            cursor = cursor_encode(last=tasks[-1], filters=filters)
            next_url = next_link(request, filters=filters, limit=values["limit"], cursor=cursor)
        return Response({"results": TaskSerializer(tasks, many=True).data, "next": next_url})

    def create(self, request: Request) -> Response:
        data = TaskWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = idempotency.key_parse(request.headers.get(idempotency.HEADER))
        if key is not None:
            return self._create_once(request, key, data.validated_data)
        task = services.task_create(owner=owner_of(request), **data.validated_data)
        return self._task_response(task, http.HTTP_201_CREATED, Location=self._location(request, task))

    def _location(self, request: Request, task: Task) -> str:
        return request.build_absolute_uri(reverse("task-detail", kwargs={"taskId": task.task_id}))

    def _create_once(self, request: Request, key: str, fields: dict) -> Response:
        """POST with an Idempotency-Key: the first response, stored with the task, answers every retry."""

        def respond(task: Task) -> idempotency.StoredResponse:
            headers = {"ETag": task_etag(task), "Location": self._location(request, task)}
            return idempotency.StoredResponse(status=http.HTTP_201_CREATED, headers=headers,
                                              body=dict(TaskSerializer(task).data))

        stored = idempotency.task_create_once(key=key, payload_fingerprint=idempotency.fingerprint(request.data),
                                              owner=owner_of(request), respond=respond, fields=fields)
        return Response(stored.body, status=stored.status, headers=stored.headers)

    def retrieve(self, request: Request, taskId: str) -> Response:
        task = services.task_get(task_id=self._task_id(), owner=owner_of(request))
        if not Preconditions.from_headers(request.headers).evaluate(task, safe=True):
            return Response(status=http.HTTP_304_NOT_MODIFIED,
                            headers={"ETag": task_etag(task), "Last-Modified": task_last_modified(task)})
        return self._task_response(task)

    def update(self, request: Request, taskId: str) -> Response:
        data = TaskUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        owner = owner_of(request)
        # Read first: preconditions are judged on the stored task, and an update that changes nothing
        # is answered with it unchanged (same version and updatedAt).
        current = services.task_get(task_id=self._task_id(), owner=owner)
        conditions = Preconditions.from_headers(request.headers)
        conditions.evaluate(current, safe=False)
        task = services.task_update(task_id=current.task_id, changes=data.validated_data,
                                    versions=self._guard(request, conditions, current), owner=owner, current=current)
        return self._task_response(task)

    @staticmethod
    def _guard(request: Request, conditions: Preconditions, current: Task) -> "list[int] | None":
        """The versions a write may replace: If-Match's, or exactly the version the other preconditions were
        judged on, so a change landing in between gives 412 rather than a write past a stale check."""
        if conditions.if_none_match is not None or (conditions.if_match is None
                                                    and conditions.if_unmodified_since is not None):
            return [current.version]
        return if_match_versions(request)

    def partial_update(self, request: Request, taskId: str) -> Response:
        return self.update(request, taskId)

    def destroy(self, request: Request, taskId: str) -> Response:
        task_id = self._task_id()
        conditions = Preconditions.from_headers(request.headers)
        versions = if_match_versions(request)
        if conditions.if_none_match is not None or conditions.if_unmodified_since is not None:
            current = services.task_get(task_id=task_id, owner=owner_of(request))
            conditions.evaluate(current, safe=False)
            versions = self._guard(request, conditions, current)
        services.task_delete(task_id=task_id, versions=versions, owner=owner_of(request))
        return Response({"taskId": task_id, "deleted": True})
