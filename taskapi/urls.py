"""URL routes: /tasks, the API root, the OpenAPI schema and its docs, and problem documents for Django's own errors."""
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from taskapi.views import ApiRootView
from tasks.views import TaskViewSet


class OptionalSlashRouter(SimpleRouter):
    """A router whose routes match with and without a trailing slash."""

    def __init__(self) -> None:
        super().__init__(trailing_slash=False)
        # DRF 3.18 takes a boolean; the pattern it interpolates may still be a regex.
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("tasks", TaskViewSet, basename="task")

urlpatterns = [
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="openapi"), name="docs"),
    path("", ApiRootView.as_view(), name="api-root"),
    path("", include(router.urls)),
]

handler400 = "taskapi.problems.bad_request"
handler403 = "taskapi.problems.permission_denied"
handler404 = "taskapi.problems.page_not_found"
handler500 = "taskapi.problems.server_error"
