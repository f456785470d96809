"""Form parsers for the browsable API only: JSON stays the one body type of the API contract."""
from rest_framework import parsers
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.renderers import BrowsableAPIRenderer


def _require_browsable_api(media_type: str | None, parser_context: dict | None) -> None:
    """Raises UnsupportedMediaType (415) unless the request will be answered by the browsable API."""
    request = (parser_context or {}).get("request")
    # DRF negotiates the renderer in initial(), before a view reads request.data.
    if not isinstance(getattr(request, "accepted_renderer", None), BrowsableAPIRenderer):
        raise UnsupportedMediaType(media_type)


class BrowsableFormParser(parsers.FormParser):
    """application/x-www-form-urlencoded, from the browsable API's forms only."""

    def parse(self, stream, media_type=None, parser_context=None):
        _require_browsable_api(media_type, parser_context)
        return super().parse(stream, media_type, parser_context)


class BrowsableMultiPartParser(parsers.MultiPartParser):
    """multipart/form-data, from the browsable API's forms only."""

    def parse(self, stream, media_type=None, parser_context=None):
        _require_browsable_api(media_type, parser_context)
        return super().parse(stream, media_type, parser_context)
