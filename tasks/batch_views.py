"""The POST /tasks/batch view: envelope and per-operation validation, then tasks.batch applies."""
from django.urls import reverse
from rest_framework import status as http
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from taskapi.problems import problem_body
from tasks import batch, idempotency
from tasks.authentication import IdentityRequired, owner_of


class TaskBatchView(APIView):
    """Many task writes in one request: creates, updates and deletes, atomic when asked."""

    permission_classes = [IdentityRequired]
    serializer_class = batch.BatchSerializer
    schema = None

    def post(self, request: Request) -> Response:
        envelope = batch.BatchSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        key = idempotency.key_parse(request.headers.get(idempotency.HEADER))
        if key is None:
            return self._apply(request, envelope)

        fingerprint = idempotency.fingerprint(request.data)

        def run() -> idempotency.StoredResponse:
            # The body's fingerprint goes into the create ids too: the same key reused for another
            # batch after the record expired makes new tasks, never answers with the old ones.
            response = self._apply(request, envelope, key=f"{key}\n{fingerprint}")
            headers = {"Content-Type": response.content_type} if response.content_type else {}
            return idempotency.StoredResponse(status=response.status_code, headers=headers, body=dict(response.data))

        stored = idempotency.batch_once(key=key, payload_fingerprint=fingerprint,
                                        owner=owner_of(request), run=run)
        return Response(stored.body, status=stored.status, content_type=stored.headers.get("Content-Type"))

    def _apply(self, request: Request, envelope: batch.BatchSerializer, key: str | None = None) -> Response:
        operations = batch.operations_parse(envelope.validated_data["operations"])
        owner = owner_of(request)

        def location(task_id: str) -> str:
            return request.build_absolute_uri(reverse("task-detail", kwargs={"taskId": task_id}))

        if not envelope.validated_data["atomic"]:
            results = batch.batch_apply(operations=operations, owner=owner, location=location, key=key)
            return Response({"results": [result.as_dict() for result in results]})
        applied, results = batch.batch_apply_atomic(operations=operations, owner=owner, location=location, key=key)
        body = {"results": [result.as_dict() for result in results]}
        if applied:
            return Response(body)
        problem = problem_body(http.HTTP_409_CONFLICT, title="Batch not applied",
                               detail="An operation of the atomic batch fails, so none was applied.")
        return Response({**problem, **body}, status=http.HTTP_409_CONFLICT, content_type="application/problem+json")
