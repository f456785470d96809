"""OpenAPI pieces shared by every endpoint: the problem document and its responses."""
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem document (application/problem+json)."""

    type = serializers.CharField(help_text="A URI naming the kind of problem; about:blank for plain HTTP errors.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="Validation errors: field or parameter name -> messages.",
    )


def _problem(description: str) -> OpenApiResponse:
    return OpenApiResponse(ProblemSerializer, description=description)


PROBLEM_RESPONSES = {
    400: _problem("Invalid body, parameter or cursor."),
    404: _problem("No such task."),
    412: _problem("If-Match does not match the task's ETag; nothing was written."),
    413: _problem("Body over 64 KiB."),
    415: _problem("Body is not application/json."),
    401: _problem("No caller identity, and this stage requires one (TASKS_REQUIRE_IDENTITY)."),
    409: _problem("A request with this Idempotency-Key is still in progress; retry after Retry-After."),
    422: _problem("This Idempotency-Key was used with another request body."),
    503: _problem("DynamoDB is unavailable or throttling; nothing was written. Retry after Retry-After."),
}


def strip_trailing_slashes(result: dict, **kwargs) -> dict:
    """drf-spectacular hook: documents /tasks and /tasks/{taskId}; both also answer with a slash."""
    result["paths"] = {path.rstrip("/") or "/": item for path, item in result["paths"].items()}
    return result
