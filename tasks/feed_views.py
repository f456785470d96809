"""GET /tasks/changes: the changes feed, validated by a serializer and read through tasks.feed."""
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tasks import feed
from tasks.authentication import IdentityRequired, owner_of
from tasks.serializers import TaskSerializer


class ChangesQuerySerializer(serializers.Serializer):
    since = serializers.CharField(required=False, max_length=2000)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=100)


class ChangesView(APIView):
    """Changes to your tasks after a token: created, updated, deleted (task null), oldest first."""

    permission_classes = [IdentityRequired]
    schema = None  # tasks.openapi documents it when /openapi.json is first served (no cold-start import)

    def get(self, request: Request) -> Response:
        unknown = {name: ["Unknown query parameter."] for name in request.query_params
                   if name not in {"since", "limit", "format"}}
        if unknown:
            raise ValidationError(unknown)
        params = ChangesQuerySerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        page = feed.changes_page(owner=owner_of(request), since=params.validated_data.get("since"),
                                 limit=params.validated_data["limit"])
        return Response({
            "changes": [{"change": c.change, "taskId": c.task_id, "version": c.version, "at": c.at,
                         "task": TaskSerializer(c.task).data if c.task else None} for c in page.changes],
            "since": page.since, "more": page.more,
        })
