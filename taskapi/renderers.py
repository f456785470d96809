"""JSON rendering that labels error bodies as RFC 9457 problem documents."""
from rest_framework.renderers import JSONRenderer

from taskapi.problems import PROBLEM_CONTENT_TYPE


class ProblemAwareJSONRenderer(JSONRenderer):
    """Renders JSON; responses with an error status get the application/problem+json type."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        # DRF sets Content-Type before rendering, so overriding it here sticks.
        if response is not None and response.status_code >= 400:
            response["Content-Type"] = PROBLEM_CONTENT_TYPE
        return super().render(data, accepted_media_type, renderer_context)
