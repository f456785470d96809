"""Signed, opaque listing cursors and the `next` link that carries them."""
from urllib.parse import urlencode

from django.core import signing
from django.http import HttpRequest

from taskapi.problems import BadRequest
from tasks.domain import Task

_SALT = "tasks.cursor.v1"


class InvalidCursor(BadRequest):
    title = "Invalid cursor"


def cursor_encode(*, last: Task, filters: dict[str, str]) -> str:
    """Returns a URL-safe signed cursor for the position after `last`, bound to `filters`."""
    return signing.dumps({"a": [last.created_at, last.task_id], "f": filters}, salt=_SALT, compress=True)


def cursor_decode(cursor: str, *, filters: dict[str, str]) -> tuple[str, str]:
    """Returns the (createdAt, taskId) position in `cursor`.

    Raises InvalidCursor when it is tampered with, signed by another deployment or made for other filters.
    """
    try:
        payload = signing.loads(cursor, salt=_SALT)
        created_at, task_id = payload["a"]
        cursor_filters = payload["f"]
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvalidCursor("The cursor is not one this API issued; start again without it.") from None
    if cursor_filters != filters:
        raise InvalidCursor("The cursor belongs to a listing with other filters; keep the filters of `next`.")
    return str(created_at), str(task_id)


def next_link(request: HttpRequest, *, filters: dict[str, str], limit: int, cursor: str) -> str:
    """Returns the absolute URL of the next page: this path, every filter, the limit and the cursor."""
    query = urlencode({**filters, "limit": limit, "cursor": cursor})
    return request.build_absolute_uri(f"{request.path}?{query}")
