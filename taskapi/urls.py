"""URL routes: /tasks, the OpenAPI schema, and problem documents for Django's own errors."""
import functools

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tasks.views import TaskViewSet


class OptionalSlashRouter(SimpleRouter):
    """A router whose routes match with and without a trailing slash."""

    def __init__(self) -> None:
        super().__init__(trailing_slash=False)
        # DRF 3.18 takes a boolean; the pattern it interpolates may still be a regex.
        self.trailing_slash = "/?"


@functools.cache
def _openapi_view():
    from drf_spectacular.views import SpectacularJSONAPIView

    from tasks.openapi import task_views_document

    task_views_document()
    return SpectacularJSONAPIView.as_view()


def openapi(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """GET /openapi.json: drf-spectacular loads on the first call, so it costs API cold starts nothing."""
    return _openapi_view()(request, *args, **kwargs)


router = OptionalSlashRouter()
router.register("tasks", TaskViewSet, basename="task")

urlpatterns = [
    path("openapi.json", openapi, name="openapi"),
    path("", include(router.urls)),
]

handler400 = "taskapi.problems.bad_request"
handler403 = "taskapi.problems.permission_denied"
handler404 = "taskapi.problems.page_not_found"
handler500 = "taskapi.problems.server_error"
