"""Content negotiation as DRF does it, remembered per Accept header, format and renderer classes."""
from typing import ClassVar

from rest_framework.negotiation import DefaultContentNegotiation

# Accept headers come from clients: remember at most this many distinct negotiations per process.
MAX_REMEMBERED = 256


class RememberedContentNegotiation(DefaultContentNegotiation):
    """DRF's DefaultContentNegotiation, whose answer depends only on the Accept header, the format override and
    the renderer classes: each combination is negotiated once per process. Refusals (406, 404) are not remembered.
    """

    _remembered: ClassVar[dict[tuple, tuple[int, str]]] = {}

    def select_renderer(self, request, renderers, format_suffix=None):
        format = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        key = (request.META.get("HTTP_ACCEPT", "*/*"), format, tuple(type(renderer) for renderer in renderers))
        known = self._remembered.get(key)
        if known is not None:
            index, media_type = known
            return renderers[index], media_type
        renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        if len(self._remembered) < MAX_REMEMBERED:
            index = next(i for i, candidate in enumerate(renderers) if candidate is renderer)
            self._remembered[key] = (index, media_type)
        return renderer, media_type
