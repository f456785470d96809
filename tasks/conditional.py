"""HTTP conditional requests on one task (RFC 9110 section 13): entity tags, Last-Modified and preconditions."""
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.http import http_date, parse_etags, parse_http_date_safe

from taskapi.problems import BadRequest
from tasks.domain import PreconditionFailed, Task

# RFC 9110 If-Match / If-None-Match: `*`, or entity tags ("opaque", optionally W/) separated by commas.
ETAG_LIST_PATTERN = r'^(\*|(W/)?"[!#-~]*"([ \t]*,[ \t]*(W/)?"[!#-~]*")*)$'
_ETAG_LIST = re.compile(ETAG_LIST_PATTERN)


def task_etag(task: Task) -> str:
    """Returns the task's strong ETag, derived from its version."""
    return f'"{task.version}"'


def if_match_versions(header: str | None) -> list[int] | None:
    """Returns the versions an If-Match value accepts, None when any version will do (absent or `*`)."""
    if header is None:
        return None
    etags = parse_etags(header)
    if etags == ["*"]:
        return None
    # If-Match compares strongly: weak or foreign tags match no version, so the write gets 412.
    return [int(tag[1:-1]) for tag in etags if tag[1:-1].isdigit()] or [-1]


def task_modified_seconds(task: Task) -> int:
    """Returns updatedAt in whole Unix seconds, the resolution of Last-Modified."""
    return int(datetime.fromisoformat(task.updated_at).astimezone(UTC).timestamp())


def task_last_modified(task: Task) -> str:
    """Returns updatedAt as an HTTP-date for Last-Modified."""
    return http_date(task_modified_seconds(task))


def _opaque(tag: str) -> str:
    return tag.removeprefix("W/")


@dataclass(frozen=True)
class Preconditions:
    """The conditional headers of one request, as RFC 9110 section 13.2.2 evaluates them."""

    if_match: list[str] | None
    if_none_match: list[str] | None
    if_modified_since: int | None
    if_unmodified_since: int | None

    @classmethod
    def from_headers(cls, headers) -> "Preconditions":
        def tags(name: str) -> list[str] | None:
            value = headers.get(name)
            if value is None:
                return None
            if not _ETAG_LIST.fullmatch(value.strip(" \t")):
                raise BadRequest(f'{name} must be * or entity tags such as "3" or W/"3", separated by commas.')
            return parse_etags(value)

        def date(name: str) -> int | None:
            value = headers.get(name)
            return None if value is None else parse_http_date_safe(value)  # an invalid date is ignored, as HTTP says

        return cls(if_match=tags("If-Match"), if_none_match=tags("If-None-Match"),
                   if_modified_since=date("If-Modified-Since"), if_unmodified_since=date("If-Unmodified-Since"))

    @property
    def present(self) -> bool:
        return any(value is not None for value in (self.if_match, self.if_none_match, self.if_modified_since,
                                                   self.if_unmodified_since))

    def evaluate(self, task: Task, *, safe: bool) -> bool:
        """Returns False when a GET/HEAD (`safe`) should be answered 304 Not Modified, else True.

        Raises PreconditionFailed (412) when the request must not proceed on this state of the task.
        """
        etag = task_etag(task)
        if self.if_match is not None:
            # Strong comparison: a weak tag never matches.
            if "*" not in self.if_match and etag not in self.if_match:
                raise PreconditionFailed("The task has changed since the ETag in If-Match was issued.")
        elif self.if_unmodified_since is not None and task_modified_seconds(task) > self.if_unmodified_since:
            raise PreconditionFailed("The task was modified after the date in If-Unmodified-Since.")
        if self.if_none_match is not None:
            # Weak comparison: W/"3" matches "3".
            if "*" in self.if_none_match or etag in [_opaque(tag) for tag in self.if_none_match]:
                if safe:
                    return False
                raise PreconditionFailed("If-None-Match matches the task's current ETag (or is *, and the task exists).")
        elif safe and self.if_modified_since is not None and task_modified_seconds(task) <= self.if_modified_since:
            return False
        return True
