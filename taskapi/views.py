"""The API root: where a browser or a JSON client finds the tasks, the docs and the schema."""
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView


class ApiRootView(APIView):
    """Links to the tasks, the interactive API docs and the OpenAPI schema."""

    # Not part of the API's schema; and declared without drf-spectacular, which API cold starts never load.
    schema = None

    def get(self, request: Request) -> Response:
        return Response({
            "tasks": reverse("task-list", request=request),
            "docs": reverse("docs", request=request),
            "openapi": reverse("openapi", request=request),
        })

    def get_view_name(self) -> str:
        return "taskapi"
