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
}


def strip_trailing_slashes(result: dict, **kwargs) -> dict:
    """drf-spectacular hook: documents /tasks and /tasks/{taskId}; both also answer with a slash."""
    result["paths"] = {path.rstrip("/") or "/": item for path, item in result["paths"].items()}
    return result


def stage_server(result: dict, request=None, **kwargs) -> dict:
    """drf-spectacular hook: the server is this deployment's path prefix (`/dev` on a stage), so docs call it."""
    if request is not None:
        result["servers"] = [{"url": request.META.get("SCRIPT_NAME", "").rstrip("/") or "/"}]
    return result
