"""Request-level middleware: request ids and access logs, and the request body cap."""
import logging
import re
import time
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from taskapi.logs import request_context
from taskapi.problems import problem_response

access_logger = logging.getLogger("taskapi.requests")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def request_id_from(request: HttpRequest) -> str:
    """Returns the caller's X-Request-ID when it is safe to echo, else a new one."""
    given = request.headers.get("X-Request-ID", "")
    return given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex


def route_template(request: HttpRequest) -> str:
    """Returns the matched route as a template such as `GET /tasks/{taskId}`, or `unmatched`."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return f"{request.method} unmatched"
    route = _NAMED_GROUP.sub(r"{\1}", match.route)
    route = route.removeprefix("^").removesuffix("$").removesuffix("/?").removesuffix("/")
    return f"{request.method} /{route}"


class RequestLogMiddleware:
    """Gives each request an id (X-Request-ID) and writes one JSON access line per request."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_from(request)
        request.request_id = request_id
        token = request_context.set({"request_id": request_id})
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            access_logger.info(
                "request",
                extra={
                    "method": request.method,
                    "route": route_template(request),
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response
        finally:
            request_context.reset(token)


class BodySizeLimitMiddleware:
    """Answers 413 for bodies over MAX_BODY_BYTES before anything reads them."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return problem_response(400, detail="Content-Length is not a number.")
        if length > settings.MAX_BODY_BYTES:
            return problem_response(413, title="Content Too Large",  # RFC 9110's name for 413
                                    detail=f"The body may be at most {settings.MAX_BODY_BYTES} bytes.")
        return self.get_response(request)
