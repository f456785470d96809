"""JSON rendering that labels error bodies as RFC 9457 problem documents, and the browsable API."""
from django.conf import settings
from rest_framework import serializers
from rest_framework.renderers import BrowsableAPIRenderer, HTMLFormRenderer, JSONRenderer

from taskapi.problems import PROBLEM_CONTENT_TYPE


class ProblemAwareJSONRenderer(JSONRenderer):
    """Renders JSON; responses with an error status get the application/problem+json type."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        # DRF sets Content-Type before rendering, so overriding it here sticks.
        if response is not None and response.status_code >= 400:
            response["Content-Type"] = PROBLEM_CONTENT_TYPE
        return super().render(data, accepted_media_type, renderer_context)


class TaskFormRenderer(HTMLFormRenderer):
    """DRF's HTML forms, telling field templates whether a value is null (DRF shows null and "" alike)."""

    def render_field(self, field, parent_style):
        # The field is this serializer instance's own copy (DRF copies declared fields per instance).
        field._field.style = {**field._field.style, "value_is_null": field.value is None}
        return super().render_field(field, parent_style)


class TaskBrowsableAPIRenderer(BrowsableAPIRenderer):
    """DRF's browsable API, with forms built from the view's write serializer and HTML kept HTML on errors."""

    form_renderer_class = TaskFormRenderer

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        content_type = response.get("Content-Type") if response is not None else None
        page = super().render(data, accepted_media_type, renderer_context)
        # The JSON shown inside the page relabels error responses as problem+json; the page itself is HTML.
        if content_type:
            response["Content-Type"] = content_type
        return page

    def get_context(self, data, accepted_media_type, renderer_context):
        context = super().get_context(data, accepted_media_type, renderer_context)
        # The task list shows changes live over WebSockets (issue 14) where a URL is configured.
        if getattr(context["view"], "action", None) == "list" and settings.WEBSOCKET_PUBLIC_URL:
            context["live_url"] = settings.WEBSOCKET_PUBLIC_URL
        if context["response"].status_code >= 400:
            context["response_headers"]["Content-Type"] = PROBLEM_CONTENT_TYPE
        if context["response"].status_code == 404:
            # Nothing is there to edit or delete: no forms, no DELETE button.
            for name in ("put_form", "delete_form", "raw_data_put_form", "raw_data_patch_form",
                         "raw_data_put_or_patch_form"):
                context[name] = None
            context["allowed_methods"] = [method for method in context["allowed_methods"]
                                          if method in {"GET", "HEAD", "OPTIONS"}]
        return context

    def render_form_for_serializer(self, serializer):
        view = self.renderer_context.get("view")
        write_class = view.get_serializer_class() if hasattr(view, "get_serializer_class") else None
        # A response carries the read-only output serializer; its form would have no fields, so
        # redraw the write serializer's form, filled from the same object.
        if write_class is not None and not isinstance(serializer, (write_class, serializers.ListSerializer)):
            serializer = view.get_serializer(instance=serializer.instance)
        return super().render_form_for_serializer(serializer)
