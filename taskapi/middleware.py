"""Request-level middleware: request ids and access logs, and the request body cap."""
import functools
import logging
import os
import re
import time
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from taskapi.logs import request_context
from taskapi.metrics import request_metrics
from taskapi.problems import problem_response

access_logger = logging.getLogger("taskapi.requests")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_TRACE_ROOT = re.compile(r"(?:^|;)\s*Root=(1-[0-9a-f]{8}-[0-9a-f]{24})(?:;|$)")


def request_id_from(request: HttpRequest) -> str:
    """Returns the caller's X-Request-ID when it is safe to echo, else a new one."""
    given = request.headers.get("X-Request-ID", "")
    return given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex


def route_template(request: HttpRequest) -> str:
    """Returns the matched route as a template such as `GET /tasks/{taskId}`, or `unmatched`."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return f"{request.method} unmatched"
    return f"{request.method} /{_route_path(match.route)}"


@functools.lru_cache(maxsize=256)  # one entry per URL pattern: the app's routes are a fixed, small set
def _route_path(route: str) -> str:
    route = _NAMED_GROUP.sub(r"{\1}", route)
    return route.removeprefix("^").removesuffix("$").removesuffix("/?").removesuffix("/")


def _trace_root(header: str) -> str | None:
    match = _TRACE_ROOT.search(header)
    return match.group(1) if match else None


def aws_ids(request: HttpRequest) -> dict[str, str]:
    """Returns the API Gateway request id, Lambda request id and X-Ray trace id of this request, when present."""
    ids = {}
    # apig-wsgi puts the API Gateway event's requestContext and the Lambda context into the WSGI environ.
    api_request_id = (request.META.get("apig_wsgi.request_context") or {}).get("requestId")
    lambda_request_id = getattr(request.META.get("apig_wsgi.context"), "aws_request_id", None)
    # The Lambda runtime sets _X_AMZN_TRACE_ID per invocation (runtime state, not configuration: not in settings).
    trace = _trace_root(request.headers.get("X-Amzn-Trace-Id") or os.environ.get("_X_AMZN_TRACE_ID", ""))
    for key, value in (("apigw_request_id", api_request_id), ("lambda_request_id", lambda_request_id),
                       ("xray_trace_id", trace)):
        if isinstance(value, str) and value:
            ids[key] = value
    return ids


class RequestLogMiddleware:
    """Gives each request an id (X-Request-ID) and writes one JSON access line per request, with its EMF metrics."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_from(request)
        request.request_id = request_id
        token = request_context.set({"request_id": request_id, **aws_ids(request)})
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            route = route_template(request)
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            access_logger.info(
                "request",
                extra={
                    "method": request.method,
                    "route": route,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                    **request_metrics(stage=settings.STAGE, endpoint=route, status=response.status_code,
                                      latency_ms=duration_ms, timestamp_ms=int(time.time() * 1000)),
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
