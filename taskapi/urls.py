"""URL routes: /tasks, the API root, the OpenAPI schema and its docs, and problem documents for Django's own errors."""
import functools
import importlib

from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from taskapi.views import ApiRootView
from tasks.views import TaskViewSet


class OptionalSlashRouter(SimpleRouter):
    """A router whose routes match with and without a trailing slash."""

    def __init__(self) -> None:
        super().__init__(trailing_slash=False)
        # DRF 3.18 takes a boolean; the pattern it interpolates may still be a regex.
        self.trailing_slash = "/?"


class LazyView:
    """A view class's as_view(), imported on its first request or when anything reads its attributes (DRF's
    breadcrumbs, drf-spectacular): the changes feed's and batches' modules cost a task request's cold start
    about 2% of its instructions. It names no view_class, so reverse() indexing the URLconf does not import it.
    """

    def __init__(self, dotted_path: str) -> None:
        self.dotted_path = dotted_path

    @functools.cached_property
    def view(self):
        module, name = self.dotted_path.rsplit(".", 1)
        return getattr(importlib.import_module(module), name).as_view()

    def __call__(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return self.view(request, *args, **kwargs)

    def __getattr__(self, name: str):
        if name in {"view", "view_class"} or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.view, name)


@functools.cache
def _schema_views() -> dict:
    """drf-spectacular's views, the task operations documented first; built by the first schema or docs request."""
    from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

    from tasks.openapi import task_views_document

    task_views_document()
    return {"openapi": SpectacularJSONAPIView.as_view(), "docs": SpectacularSwaggerView.as_view(url_name="openapi")}


def openapi(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """GET /openapi.json: drf-spectacular loads on the first call, so it costs API cold starts nothing."""
    return _schema_views()["openapi"](request, *args, **kwargs)


def docs(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """GET /docs: Swagger UI for /openapi.json, loaded the same way."""
    return _schema_views()["docs"](request, *args, **kwargs)


router = OptionalSlashRouter()
router.register("tasks", TaskViewSet, basename="task")

urlpatterns = [
    # The task routes first and not under include(): every request resolves them without a nested resolver.
    # No other route matches what they match (tasks/changes and tasks/batch are no task ids).
    *router.urls,
    path("openapi.json", openapi, name="openapi"),
    re_path(r"^docs/?$", docs, name="docs"),
    path("", ApiRootView.as_view(), name="api-root"),
    re_path(r"^tasks/changes/?$", LazyView("tasks.feed_views.ChangesView"), name="task-changes"),
    re_path(r"^tasks/batch/?$", LazyView("tasks.batch_views.TaskBatchView"), name="task-batch"),
]

handler400 = "taskapi.problems.bad_request"
handler403 = "taskapi.problems.permission_denied"
handler404 = "taskapi.problems.page_not_found"
handler500 = "taskapi.problems.server_error"
