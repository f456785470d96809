"""RFC 9457 problem details: the one error type and the renderers of every error."""
import logging
from http import HTTPStatus

from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.utils.serializer_helpers import ReturnDict

logger = logging.getLogger("taskapi.errors")

PROBLEM_CONTENT_TYPE = "application/problem+json"


class Problem(Exception):
    """An error the API answers with a problem document; subclass per domain error."""

    status = 500
    type = "about:blank"
    title = "Internal Server Error"

    def __init__(self, detail: str = "", *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}


class BadRequest(Problem):
    status, title = 400, "Bad Request"


def problem_body(status: int, *, title: str | None = None, detail: str | None = None, type: str = "about:blank",
                 **extra) -> dict:
    """Returns an RFC 9457 problem document for `status`."""
    phrase = HTTPStatus(status).phrase
    body = {"type": type, "title": title or phrase, "status": status, "detail": detail or title or phrase}
    body.update(extra)
    return body


def problem_response(status: int, **fields) -> JsonResponse:
    """Returns a plain Django problem+json response, for errors raised outside DRF."""
    return JsonResponse(problem_body(status, **fields), status=status, content_type=PROBLEM_CONTENT_TYPE,
                        json_dumps_params={"separators": (",", ":")})


def _field_errors(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        errors = {}
        for field, messages in detail.items():
            name = "body" if field == "non_field_errors" else field
            errors[name] = _flatten(messages)
        return errors
    return {"body": _flatten(detail)}


def _flatten(messages) -> list[str]:
    if isinstance(messages, dict):
        return [f"{key}: {message}" for key, value in messages.items() for message in _flatten(value)]
    if isinstance(messages, list):
        return [message for item in messages for message in _flatten(item)]
    return [str(messages)]


def exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's EXCEPTION_HANDLER: every error raised in a view becomes a problem document."""
    request = context.get("request")
    if isinstance(exc, Problem):
        return Response(problem_body(exc.status, title=exc.title, detail=exc.detail, type=exc.type),
                        status=exc.status, headers=exc.headers)
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        body = problem_body(400, title="Invalid request", detail="The request has invalid fields.", errors=errors)
        serializer = getattr(exc.detail, "serializer", None)
        if serializer is not None:
            # Keeps the failed serializer with the body, so the browsable API redraws its form with the errors.
            body = ReturnDict(body, serializer=serializer)
        return Response(body, status=400)
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait:
            headers["Retry-After"] = str(int(exc.wait))
        status = exc.status_code
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return Response(problem_body(status, detail=str(detail)), status=status, headers=headers)
    if isinstance(exc, Http404):
        return Response(problem_body(404, detail="No resource at this URL."), status=404)
    if isinstance(exc, SuspiciousOperation):  # DisallowedHost, raised when a view builds an absolute URL
        logger.warning("suspicious request refused: %s", exc)
        return Response(problem_body(400, detail="The request could not be understood."), status=400)
    logger.exception("unhandled error in %s %s", getattr(request, "method", "?"), getattr(request, "path", "?"))
    return Response(problem_body(500, detail="An unexpected error occurred; it has been logged."), status=500)


# Django's own error views (urls.py names them), so errors outside DRF are problems too.

def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(400, detail="The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(403, detail="You may not access this resource.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(404, detail="No resource at this URL.")


def server_error(request: HttpRequest) -> JsonResponse:
    return problem_response(500, detail="An unexpected error occurred; it has been logged.")
