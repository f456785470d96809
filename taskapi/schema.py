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
    405: _problem("This method is not allowed on this resource; Allow lists the ones that are."),
    406: _problem("No representation matches Accept: the API answers application/json (and HTML to browsers)."),
    413: _problem("Body over 192 KiB (every valid task fits, in any JSON encoding)."),
    415: _problem("Body is not application/json (PATCH also takes application/merge-patch+json)."),
    401: _problem("No caller identity, and this stage requires one (TASKS_REQUIRE_IDENTITY)."),
    409: _problem("A request with this Idempotency-Key is still in progress; retry after Retry-After."),
    422: _problem("This Idempotency-Key was used with another request body."),
    410: _problem("The feed token is older than the feed's retention: list /tasks again and take a new token."),
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


# What StrictCharField refuses: C0 controls, DEL and C1 controls (a description keeps tab, LF and CR).
_CONTROLS = "\\u0000-\\u001f\\u007f-\\u009f"
_TEXT_WITH_CONTENT = f"^[^{_CONTROLS}]*[^\\s{_CONTROLS}][^{_CONTROLS}]*$"
_MULTILINE_TEXT = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
_QUERY_TEXT = "^[^\\u0000]*$"  # an opaque cursor: anything but NUL reaches the decoder

# The identities API Gateway checks before the app sees a request (tasks.authentication reads them).
SECURITY_SCHEMES = {
    "cognito": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "A Cognito user pool (or other JWT authorizer) token, checked by API Gateway."},
    "sigv4": {"type": "apiKey", "in": "header", "name": "Authorization",
              "description": "An AWS Signature Version 4 signed request (IAM authorization), checked by API Gateway.",
              "x-amazon-apigateway-authtype": "awsSigv4"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key",
               "description": "A usage-plan API key, checked by API Gateway."},
}
# Any one of them; `{}` (none) only where TASKS_REQUIRE_IDENTITY is off (local and demo stages).
SECURITY = [{"cognito": []}, {"sigv4": []}, {"apiKey": []}, {}]


def problem_media_types(result: dict, **kwargs) -> dict:
    """drf-spectacular hook: the schema says what the code enforces. Error responses are
    application/problem+json (what the renderer sends); bodies state the serializers' extra rules."""
    for item in result["paths"].values():
        for method, operation in item.items():
            if method in {"put", "patch"} and "requestBody" in operation:
                operation["requestBody"]["required"] = True  # an update without a body is refused
            if method != "patch" and "requestBody" in operation:
                operation["requestBody"]["content"].pop("application/merge-patch+json", None)  # PATCH only
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[0] in "45" and "application/json" in content:
                    content["application/problem+json"] = content.pop("application/json")
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["name"] in {"tag", "cursor"}:
                    parameter["schema"]["pattern"] = _TEXT_WITH_CONTENT if parameter["name"] == "tag" else _QUERY_TEXT
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name in {"TaskWriteRequest", "PatchedTaskUpdateRequest"}:
            component["additionalProperties"] = False
            properties = component["properties"]
            properties["tags"]["uniqueItems"] = True
            # DRF refuses NUL in any text, and a title of only whitespace (it trims before checking).
            properties["title"]["pattern"] = _TEXT_WITH_CONTENT
            properties["description"]["pattern"] = _MULTILINE_TEXT
            properties["tags"]["items"]["pattern"] = _TEXT_WITH_CONTENT
        if name == "PatchedTaskUpdateRequest":
            component["minProperties"] = 1  # an empty update is refused
    components = result.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    result["security"] = SECURITY
    return result
