"""The changes feed: signed position tokens, feed pages, and the stream consumer that fills the change log."""
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core import signing

from taskapi.metrics import NAMESPACE
from taskapi.problems import Problem
from tasks import changelog, repository
from tasks.domain import Task, timestamp

logger = logging.getLogger("taskapi.feed")

TOKEN_SALT = "tasks.feed.token"  # nosec B105 - a signing namespace (salt), not a secret
COUNTER_ATTEMPTS = 50  # consumers of other shards may take the owner's next seq first; each loss is their win


class FeedTokenInvalid(Problem):
    status, title = 400, "Invalid feed token"


class FeedTokenExpired(Problem):
    status, title = 410, "Feed token expired"


@dataclass(frozen=True)
class FeedChange:
    change: str
    task_id: str
    version: int
    at: str
    task: Task | None


@dataclass(frozen=True)
class FeedPage:
    changes: list[FeedChange]
    since: str
    more: bool


def token_encode(*, owner: str | None, seq: int) -> str:
    """Returns the signed, opaque token for "after seq `seq` of `owner`", dated now."""
    return signing.dumps({"o": owner or "", "s": seq}, salt=TOKEN_SALT, compress=True)


def token_decode(token: str, *, owner: str | None) -> int:
    """Returns the seq a token of `owner` stands for. Raises FeedTokenInvalid (tampered, foreign) or
    FeedTokenExpired (older than the change log keeps changes)."""
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=settings.CHANGES_RETENTION_SECONDS)
    except signing.SignatureExpired:
        raise FeedTokenExpired(
            "This token is older than the feed's retention; list /tasks again and take a new token from "
            "/tasks/changes.") from None
    except signing.BadSignature:
        raise FeedTokenInvalid("This token was not issued by /tasks/changes; take one from it.") from None
    if not isinstance(data, dict) or data.get("o") != (owner or "") or not isinstance(data.get("s"), int):
        raise FeedTokenInvalid("This token was not issued by /tasks/changes to this caller; take one from it.")
    return data["s"]


def changes_page(*, owner: str | None, since: str | None, limit: int) -> FeedPage:
    """Returns the owner's changes after `since` (none and a token for now when absent) and the next token."""
    if since is None:
        return FeedPage(changes=[], since=token_encode(owner=owner, seq=changelog.changes_head(owner=owner)), more=False)
    seq = token_decode(since, owner=owner)
    changes, more = changelog.changes_after(owner=owner, seq=seq, limit=limit)
    last = changes[-1].seq if changes else seq
    return FeedPage(
        changes=[FeedChange(change=c.change, task_id=c.task_id, version=c.version, at=c.at,
                            task=repository.task_from_image(c.image) if c.image else None) for c in changes],
        since=token_encode(owner=owner, seq=last), more=more)


# The stream consumer. Lambda's event source mapping (or the local poller) hands it one shard's records
# in order; it records each in turn and stops at the first failure, so a retry resumes there.

_CHANGES = {"INSERT": "created", "MODIFY": "updated", "REMOVE": "deleted"}


def _number(value: dict) -> int:
    return int(value["N"])


def change_record(record: dict[str, Any]) -> int:
    """Records one DynamoDB stream record in the change log; returns its seq, 0 when it records nothing."""
    stream = record["dynamodb"]
    new, old = stream.get("NewImage"), stream.get("OldImage")
    change = _CHANGES[record["eventName"]]
    if change == "updated" and old is not None and old.get("version") == new.get("version"):
        return 0  # not a task change: every task write bumps the version; this only added index keys (issue 18)
    image = new if change != "deleted" else None
    current = new or old
    owner = current.get("owner", {}).get("S")
    if image is not None:
        at = image["updatedAt"]["S"]
    else:
        at = timestamp(datetime.fromtimestamp(float(stream.get("ApproximateCreationDateTime", 0)), UTC))
    for _ in range(COUNTER_ATTEMPTS):
        after = changelog.changes_head(owner=owner)
        try:
            appended = changelog.change_append(owner=owner, change=change, task_id=current["taskId"]["S"],
                                               version=_number(current["version"]), at=at, image=image, after=after)
            return after + 1 if appended else 0  # the seq: WebSocket pushes carry its token (issue 14)
        except changelog.CounterMoved:
            continue
    raise RuntimeError(f"the change counter of one owner moved {COUNTER_ATTEMPTS} times in a row")


def _failure_metric() -> None:
    """Prints one CloudWatch EMF line: StreamRecordFailures, which setup_monitoring alarms on."""
    print(json.dumps({"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
        "Namespace": NAMESPACE, "Dimensions": [["Stage"]],
        "Metrics": [{"Name": "StreamRecordFailures", "Unit": "Count"}]}]},
        "Stage": settings.STAGE, "StreamRecordFailures": 1}))


def stream_batch(records: Iterable[dict[str, Any]], *,
                 record: Callable[[dict[str, Any]], bool] = change_record) -> dict[str, list]:
    """Records a batch of stream records in order; returns Lambda's partial batch response.

    On the first failure the rest is not attempted: reporting that record's sequence number makes
    Lambda (ReportBatchItemFailures) retry from it, keeping each task's changes in version order.
    `record` is the per-record step; a fan-out (WebSockets) step can wrap it.
    """
    recorded = 0
    for item in records:
        try:
            if item.get("eventSource") == "aws:dynamodb" and item.get("eventName") in _CHANGES:
                recorded += bool(record(item))
        except Exception:  # noqa: BLE001 - reported back as a batch item failure; the trace stays in the log
            logger.exception("stream record %s failed", item.get("dynamodb", {}).get("SequenceNumber"))
            _failure_metric()
            return {"batchItemFailures": [{"itemIdentifier": item["dynamodb"]["SequenceNumber"]}]}
    logger.info("stream batch recorded %d new changes", recorded)
    return {"batchItemFailures": []}
