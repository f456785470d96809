"""Body parsers: JSON Merge Patch for PATCH, and form parsers for the browsable API only."""
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


class MergePatchParser(parsers.JSONParser):
    """application/merge-patch+json (RFC 7396), for PATCH only: the update's fields, null clearing one.

    A PATCH body already has merge-patch meaning (members sent are set, null removes); this names it.
    """

    media_type = "application/merge-patch+json"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        if getattr(request, "method", None) != "PATCH":
            raise UnsupportedMediaType(media_type)
        return super().parse(stream, media_type, parser_context)
