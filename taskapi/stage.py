"""The URL prefix a Lambda event was served under (an API Gateway stage), restored as WSGI SCRIPT_NAME."""
import re
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.staticfiles.storage import StaticFilesStorage
from django.urls import get_script_prefix

_PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")


def event_prefix(event: dict[str, Any]) -> str:
    """Returns the path prefix the client used before the app's own path, e.g. `/dev`, or ``.

    REST API (v1) events: `path` lacks the stage and any custom-domain base path, while
    `requestContext.path` is the path the client requested, so the prefix is their difference.
    HTTP API (v2) events: a named stage stays in `rawPath`; `$default` stages have none.
    ALB events and Lambda function URLs never have a prefix.
    """
    context = event.get("requestContext")
    if not isinstance(context, dict) or "elb" in context:
        return ""
    if event.get("version") == "2.0":
        stage = context.get("stage") or "$default"
        raw_path = event.get("rawPath") or ""
        # A custom domain's API mapping already removed the stage, so match it on a segment boundary.
        if stage != "$default" and (raw_path == f"/{stage}" or raw_path.startswith(f"/{stage}/")):
            return f"/{stage}"
        return ""
    client_path = (context.get("path") or "").rstrip("/")
    app_path = (event.get("path") or "").rstrip("/")
    if not client_path.endswith(app_path):
        return ""
    prefix = client_path[: len(client_path) - len(app_path)]
    return prefix if _PREFIX.match(prefix) else ""


class StagePrefixMiddleware:
    """WSGI middleware: moves the event's stage prefix from PATH_INFO into SCRIPT_NAME.

    apig-wsgi leaves SCRIPT_NAME empty; Django builds reverse(), build_absolute_uri() and the
    script prefix of static URLs from it, per request (one function may serve a stage URL and
    a custom domain, so FORCE_SCRIPT_NAME, fixed per process, cannot do this).
    """

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        event = environ.get("apig_wsgi.full_event")
        prefix = event_prefix(event) if isinstance(event, dict) else ""
        if prefix:
            path_info = environ.get("PATH_INFO", "")
            # HTTP API keeps the stage in the path; REST API has already removed it.
            if path_info == prefix or path_info.startswith(f"{prefix}/"):
                path_info = path_info[len(prefix):]
            environ["SCRIPT_NAME"] = prefix
            environ["PATH_INFO"] = path_info or "/"
        return self.app(environ, start_response)


class ScriptPrefixMixin:
    """For static files storages: URLs carry the current request's script prefix (`/dev/static/...`).

    Django caches a relative STATIC_URL with the prefix of the first request that reads it, so
    STATIC_URL stays absolute (`/static/`, which WhiteNoise matches against PATH_INFO) and the
    prefix is added here on every call. Mix it into any storage (e.g. WhiteNoise's manifest storage).
    """

    def url(self, name: str | None, *args, **kwargs) -> str:
        url = super().url(name, *args, **kwargs)
        if url.startswith("/"):
            return get_script_prefix().rstrip("/") + url
        return url


class ScriptPrefixStaticFilesStorage(ScriptPrefixMixin, StaticFilesStorage):
    """Django's static files storage with per-request script prefixes."""
