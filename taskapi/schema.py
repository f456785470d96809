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
    503: _problem("DynamoDB is unavailable or throttling. Retry after Retry-After (creates: with an Idempotency-Key)."),
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


_TEXT = "^[^\\u0000]*$"
_TEXT_WITH_CONTENT = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


def problem_media_types(result: dict, **kwargs) -> dict:
    """drf-spectacular hook: the schema says what the code enforces. Error responses are
    application/problem+json (what the renderer sends); bodies state the serializers' extra rules."""
    for item in result["paths"].values():
        for method, operation in item.items():
            if method in {"put", "patch"} and "requestBody" in operation:
                operation["requestBody"]["required"] = True  # an update without a body is refused
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[0] in "45" and "application/json" in content:
                    content["application/problem+json"] = content.pop("application/json")
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["name"] in {"tag", "cursor"}:
                    parameter["schema"]["pattern"] = _TEXT_WITH_CONTENT if parameter["name"] == "tag" else _TEXT
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name in {"TaskWriteRequest", "PatchedTaskWriteRequest"}:
            component["additionalProperties"] = False
            properties = component["properties"]
            properties["tags"]["uniqueItems"] = True
            # DRF refuses NUL in any text, and a title of only whitespace (it trims before checking).
            properties["title"]["pattern"] = _TEXT_WITH_CONTENT
            properties["description"]["pattern"] = _TEXT
            properties["tags"]["items"]["pattern"] = _TEXT_WITH_CONTENT
        if name == "PatchedTaskWriteRequest":
            component["minProperties"] = 1  # an empty update is refused
    return result
