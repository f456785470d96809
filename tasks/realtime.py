"""Real-time updates over WebSockets: API Gateway's $connect/$disconnect/$default events, and the fan-out
of each recorded change to its owner's open connections through the API Gateway Management API."""
import json
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from ops import aws
from taskapi.metrics import NAMESPACE
from tasks import connections, feed
from tasks.authentication import identity_from
from tasks.domain import timestamp
from tasks.serializers import TaskSerializer

logger = logging.getLogger("taskapi.realtime")

MAX_MESSAGE_BYTES = 4096  # a client only ever sends {"action": "ping"}; API Gateway itself caps frames at 32 KB


def is_websocket_event(event: Any) -> bool:
    """True for API Gateway WebSocket events: their requestContext has a connectionId and an eventType."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    return isinstance(context, dict) and "connectionId" in context \
        and context.get("eventType") in {"CONNECT", "MESSAGE", "DISCONNECT"}


def websocket_event(event: dict[str, Any]) -> dict[str, Any]:
    """Handles one WebSocket event; returns the integration response (its status decides a $connect).

    Without a route response API Gateway drops this return value's body, so replies are posted back.
    An unexpected error is logged and answered 500 (a $connect is refused); no trace leaves the process.
    """
    try:
        return _websocket_event(event)
    except Exception:  # noqa: BLE001 - logged with the connection id; API Gateway gets a bare 500
        logger.exception("websocket %s of %s failed", event["requestContext"].get("eventType"),
                         event["requestContext"].get("connectionId"))
        return {"statusCode": 500}


def _websocket_event(event: dict[str, Any]) -> dict[str, Any]:
    context = event["requestContext"]
    kind = context["eventType"]
    if kind == "CONNECT":
        return connection_open(context=context)
    if kind == "DISCONNECT":
        connections.connection_delete(connection_id=context["connectionId"])
        return {"statusCode": 200}
    reply = message_reply(event.get("body"), binary=bool(event.get("isBase64Encoded")))
    try:
        aws.connection_post(_endpoint(context), context["connectionId"], json.dumps(reply).encode(),
                            timeout=settings.WEBSOCKET_PUSH_TIMEOUT_SECONDS)
    except aws.ConnectionGone:
        connections.connection_delete(connection_id=context["connectionId"])
    return {"statusCode": 200}


def connection_open(*, context: dict[str, Any]) -> dict[str, Any]:
    """Records the connection with the caller's identity; 401 (refused) when one is required and absent."""
    owner = identity_from(context)
    if owner is None and settings.TASKS_REQUIRE_IDENTITY:
        logger.info("websocket connect refused: no identity")
        return {"statusCode": 401, "body": "This API needs an identity from API Gateway."}
    connected = context.get("connectedAt") or time.time() * 1000  # epoch milliseconds
    connections.connection_save(connection_id=context["connectionId"], owner=owner, endpoint=_endpoint(context),
                                connected_at=timestamp(datetime.fromtimestamp(connected / 1000, UTC)))
    return {"statusCode": 200}


def _endpoint(context: dict[str, Any]) -> str:
    """The Management API URL of the connection's stage, unless the environment names another (local gateway)."""
    return settings.WEBSOCKET_CALLBACK_URL or f"https://{context['domainName']}/{context['stage']}"


def _error(title: str, detail: str) -> dict[str, str]:
    return {"type": "error", "title": title, "detail": detail}


def message_reply(body: Any, *, binary: bool = False) -> dict[str, Any]:
    """Returns the reply to a client's message: a pong for {"action": "ping"}, else an error saying why."""
    if binary or not isinstance(body, str):
        return _error("Unsupported message", 'Send text frames holding JSON, such as {"action": "ping"}.')
    if len(body.encode()) > MAX_MESSAGE_BYTES:
        return _error("Message too large", f"Messages are at most {MAX_MESSAGE_BYTES} bytes.")
    try:
        message = json.loads(body)
    except ValueError:
        return _error("Invalid JSON", 'Messages are JSON objects, such as {"action": "ping"}.')
    if not isinstance(message, dict) or "action" not in message:
        return _error("Unknown action", 'Messages are JSON objects with an "action"; the only one is {"action": "ping"}.')
    if message["action"] == "ping":
        return {"type": "pong"}
    return _error("Unknown action", f'The only action is "ping"; got {json.dumps(message["action"])[:100]}.')


# Fan-out. The stream consumer records the whole batch first, so pushing never delays the changes feed;
# then each connection gets its messages in order, connections side by side, each push time-bounded.
# A push that fails is not retried: the message carries the feed token, so the client resumes from the feed.

def stream_batch_push(records: Iterable[dict[str, Any]]) -> dict[str, list]:
    """Records a stream batch in the change log (tasks.feed), then pushes each new change; returns the batch response."""
    recorded: list[tuple[str | None, int]] = []

    def record(item: dict[str, Any]) -> int:
        seq = feed.change_record(item)
        if seq:
            image = item["dynamodb"].get("NewImage") or item["dynamodb"].get("OldImage") or {}
            recorded.append((image.get("owner", {}).get("S"), seq))
        return seq

    answer = feed.stream_batch(records, record=record)
    try:
        changes_push(recorded)
    except Exception:  # noqa: BLE001 - the feed has the changes; a failed fan-out must not fail the batch
        logger.exception("websocket fan-out failed")
        _push_error_metric(len(recorded))
    return answer


def change_message(*, owner: str | None, seq: int) -> dict[str, Any] | None:
    """Returns the push message of the owner's change `seq`: its /tasks/changes entry and the token after it."""
    page = feed.changes_page(owner=owner, since=feed.token_encode(owner=owner, seq=seq - 1), limit=1)
    if not page.changes:
        return None
    change = page.changes[0]
    return {"type": "change", "change": change.change, "taskId": change.task_id, "version": change.version,
            "at": change.at, "task": TaskSerializer(change.task).data if change.task else None, "since": page.since}


def changes_push(recorded: list[tuple[str | None, int]]) -> int:
    """Pushes each (owner, seq) change to the owner's connections; returns how many messages were delivered."""
    if not recorded:
        return 0
    outbox: dict[connections.Connection, list[bytes]] = {}
    owners: dict[str | None, list[connections.Connection]] = {}
    for owner, seq in recorded:
        if owner not in owners:
            owners[owner] = connections.connections_of(owner=owner)  # one Query per owner per batch
        if not owners[owner]:
            continue
        message = change_message(owner=owner, seq=seq)
        if message is None:
            continue
        data = json.dumps(message).encode()
        for connection in owners[owner]:
            outbox.setdefault(connection, []).append(data)
    if not outbox:
        return 0
    # However many connections are slow, the batch ends well inside the function's timeout.
    deadline = time.monotonic() + settings.WEBSOCKET_PUSH_BUDGET_SECONDS
    with ThreadPoolExecutor(max_workers=min(settings.WEBSOCKET_PUSH_WORKERS, len(outbox))) as pool:
        delivered = sum(pool.map(lambda pair: _deliver(*pair, deadline=deadline), outbox.items()))
    logger.info("websocket fan-out: %d messages to %d connections", delivered, len(outbox))
    _push_metric("WebSocketPushes", delivered)
    return delivered


def _deliver(connection: connections.Connection, messages: list[bytes], *, deadline: float) -> int:
    """Posts one connection's messages in order; stops at its first failure or at the deadline (the client
    resumes from the feed). Returns how many were delivered."""
    endpoint = settings.WEBSOCKET_CALLBACK_URL or connection.endpoint
    for sent, data in enumerate(messages):
        if time.monotonic() > deadline:
            logger.warning("websocket fan-out out of time; %d messages to %s not sent",
                           len(messages) - sent, connection.connection_id)
            _push_error_metric(len(messages) - sent)
            return sent
        try:
            aws.connection_post(endpoint, connection.connection_id, data,
                                timeout=settings.WEBSOCKET_PUSH_TIMEOUT_SECONDS)
        except aws.ConnectionGone:
            logger.info("websocket connection %s is gone; forgetting it", connection.connection_id)
            connections.connection_delete(connection_id=connection.connection_id)
            return sent
        except (BotoCoreError, ClientError) as error:
            logger.warning("websocket push to %s failed: %s", connection.connection_id, error)
            _push_error_metric(len(messages) - sent)
            return sent
    return len(messages)


def _push_error_metric(count: int) -> None:
    """Prints one CloudWatch EMF line: WebSocketPushErrors, messages that could not be pushed."""
    _push_metric("WebSocketPushErrors", count)


def _push_metric(name: str, count: int) -> None:
    """Prints one CloudWatch EMF line of a fan-out count: WebSocketPushes (messages delivered, one line per
    batch) or WebSocketPushErrors (messages that could not be pushed); the push-errors alarm is their ratio."""
    print(json.dumps({"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
        "Namespace": NAMESPACE, "Dimensions": [["Stage"]], "Metrics": [{"Name": name, "Unit": "Count"}]}]},
        "Stage": settings.STAGE, name: count}))
