"""HTTP caching defaults: who may store a response (Cache-Control, Vary), and HEAD answered without a body."""
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

# Tasks belong to a caller: no shared cache may keep them, and a browser's own cache revalidates with the ETag.
IDENTITY_DEPENDENT = "private, no-cache"
# Errors are never stored (404 and 405 would otherwise be heuristically cacheable, RFC 9111 section 4.2.2).
ERROR = "no-store"


class CacheControlMiddleware:
    """Gives every response that sets no Cache-Control of its own one that keeps it out of shared caches.

    The same URL answers JSON or the browsable API's HTML by Accept, so responses vary on it.
    HEAD answers carry the headers of GET, Content-Length included, and no body.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = ERROR if response.status_code >= 400 else IDENTITY_DEPENDENT
            patch_vary_headers(response, ("Accept",))
        if request.method == "HEAD" and not response.streaming:
            response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response
