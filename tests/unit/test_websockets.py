"""Real-time updates (issue 14): a real WebSocket client (the `websockets` library) against the local gateway,
which hands real-shaped API Gateway events to the real Lambda handler; changes come from the emulator's
real stream through the stream poller and are pushed back through the gateway's @connections API."""
import json
import socket
import threading
import time

import pytest
import requests
from django.test import override_settings
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.sync.client import connect

from ops.streams import StreamPoller
from ops.ws_gateway import LocalWebSocketGateway
from taskapi.lambda_function import event_kind, handler
from tasks import connections, realtime
from tests import harness
from tests.unit.test_ownership import call

PRINCIPAL = "X-Test-Principal"  # stands in for a Lambda authorizer (no authorizer runs here)


def _authorizer(request):
    principal = request.headers.get(PRINCIPAL)
    return {"principalId": principal} if principal else None


@pytest.fixture(scope="module")
def gateway():
    gateway = LocalWebSocketGateway(handler=handler, port=0, authorizer=_authorizer).start()
    with override_settings(WEBSOCKET_CALLBACK_URL=gateway.management_url):
        yield gateway
    gateway.stop()


@pytest.fixture
def poller(table):
    """The local event source mapping, moved past every record already on the stream."""
    poller = StreamPoller(table=table, handler=handler, start="latest")
    poller.poll()  # positions it at the end of every shard, handing none of the earlier tests' records over
    assert poller.ready
    return poller


def _receive(client, poller, *, count: int, timeout: float = 20) -> list[dict]:
    """Polls the stream (the handler pushes) until `count` messages have arrived on `client`."""
    got, deadline = [], time.monotonic() + timeout
    while len(got) < count:
        assert time.monotonic() < deadline, f"only {len(got)} of {count} messages arrived: {got}"
        poller.poll()
        try:
            got.append(json.loads(client.recv(timeout=0.2)))
        except TimeoutError:
            continue
    return got


def _ping(client) -> dict:
    client.send(json.dumps({"action": "ping"}))
    return json.loads(client.recv(timeout=10))


def test_changes_over_http_arrive_in_order_and_a_reconnect_resumes_from_the_token(gateway, poller, table):
    server = harness.LiveServer(AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI=gateway.management_url)
    try:
        with connect(gateway.url) as client:
            assert _ping(client) == {"type": "pong"}
            task = requests.post(f"{server.url}/tasks", json={"title": "live"}, timeout=10).json()
            updated = requests.patch(f"{server.url}/tasks/{task['taskId']}", json={"status": "completed"},
                                     timeout=10).json()
            assert requests.delete(f"{server.url}/tasks/{task['taskId']}", timeout=10).status_code in (200, 204)
            messages = _receive(client, poller, count=3)
        tokens = [message.pop("since") for message in messages]
        assert messages == [
            {"type": "change", "change": "created", "taskId": task["taskId"], "version": 1,
             "at": task["updatedAt"], "task": task},
            {"type": "change", "change": "updated", "taskId": task["taskId"], "version": 2,
             "at": updated["updatedAt"], "task": updated},
            {"type": "change", "change": "deleted", "taskId": task["taskId"], "version": 2,
             "at": messages[2]["at"], "task": None},
        ]
        # Each token is the feed position after its change: resuming from the first gives the other two.
        after_first = requests.get(f"{server.url}/tasks/changes", params={"since": tokens[0]}, timeout=10).json()
        assert [(c["change"], c["version"]) for c in after_first["changes"]] == [("updated", 2), ("deleted", 2)]
        # Disconnected: a change made meanwhile is in the feed after the last token received, and nothing else.
        missed = requests.post(f"{server.url}/tasks", json={"title": "while away"}, timeout=10).json()
        harness.wait_until(lambda: poller.poll() or connections.connections_of(owner=None) == [],
                           timeout=10, what="the $disconnect")
        resumed = harness.wait_until(
            lambda: poller.poll() is not None and requests.get(
                f"{server.url}/tasks/changes", params={"since": tokens[-1]}, timeout=10).json()["changes"],
            timeout=20, what="the missed change in the feed")
        assert [(c["change"], c["taskId"]) for c in resumed] == [("created", missed["taskId"])]
    finally:
        server.stop()


def test_each_owner_gets_only_their_changes_and_a_dead_connection_is_forgotten(gateway, poller):
    alice, bob = {"authorizer": {"principalId": "alice"}}, {"authorizer": {"principalId": "bob"}}
    connections.connection_save(connection_id="gone-connection=", owner="lambda:alice",
                                endpoint=gateway.management_url, connected_at="2026-01-01T00:00:00Z")
    with connect(gateway.url, additional_headers={PRINCIPAL: "alice"}) as alice_socket, \
            connect(gateway.url, additional_headers={PRINCIPAL: "bob"}) as bob_socket:
        status, _, alices = call(handler, "POST", "/tasks", context=alice, body={"title": "alice's"})
        assert status == 201
        status, _, bobs = call(handler, "POST", "/tasks", context=bob, body={"title": "bob's"})
        assert status == 201
        [to_alice] = _receive(alice_socket, poller, count=1)
        [to_bob] = _receive(bob_socket, poller, count=1)
        assert (to_alice["taskId"], to_bob["taskId"]) == (alices["taskId"], bobs["taskId"])
        # Both pushes of that batch are done, so a foreign change would have come before the pong.
        assert _ping(alice_socket) == {"type": "pong"}
        assert _ping(bob_socket) == {"type": "pong"}
        assert connections.connection_get(connection_id="gone-connection=") is None
        assert [c.owner for c in connections.connections_of(owner="lambda:alice")] == ["lambda:alice"]


def test_a_change_whose_recording_lost_its_answer_is_still_pushed(gateway, poller, monkeypatch):
    """The change log's transaction commits but its answer is lost (tests/faults.py drops the connection after
    forwarding it); botocore sends it again with the same ClientRequestToken, which DynamoDB answers as done.
    moto ignored the token (the emulator now honours it): the second try failed on the first's own `seen` mark, so
    the change was in the feed but reported as already recorded and nobody was told (a CI failure, stop 24)."""
    import os

    from pynamodb.connection import Connection

    from tasks import changelog
    from tests.faults import DROP_AFTER, FaultProxy

    proxy = FaultProxy(os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ["AWS_ENDPOINT_URL"])
    try:
        # The change log's transactions only go through the proxy; everything else is as in production.
        through_proxy = Connection(host=proxy.url, region=os.environ["AWS_REGION"], max_retry_attempts=2,
                                   connect_timeout_seconds=1, read_timeout_seconds=2)
        monkeypatch.setattr(changelog, "transaction_connection", lambda: through_proxy)
        proxy.schedule(DROP_AFTER, operations={"TransactWriteItems"})
        with connect(gateway.url, additional_headers={PRINCIPAL: "carol"}) as client:
            status, _, task = call(handler, "POST", "/tasks", context={"authorizer": {"principalId": "carol"}},
                                   body={"title": "answer lost"})
            assert status == 201
            [message] = _receive(client, poller, count=1)
        assert proxy.seen[DROP_AFTER] == 1
        assert (message["change"], message["taskId"]) == ("created", task["taskId"])
    finally:
        proxy.stop()


@pytest.mark.parametrize(("sent", "title"), [
    ("not json", "Invalid JSON"),
    (json.dumps({"action": "subscribe"}), "Unknown action"),
    (json.dumps(["ping"]), "Unknown action"),
    ("x" * 5000, "Message too large"),
    (b"\x00\x01", "Unsupported message"),
])
def test_other_messages_get_an_error_message_and_the_connection_stays_open(gateway, sent, title):
    with connect(gateway.url) as client:
        client.send(sent)
        reply = json.loads(client.recv(timeout=10))
        assert reply["type"] == "error" and reply["title"] == title and reply["detail"]
        assert _ping(client) == {"type": "pong"}


@pytest.mark.parametrize("body", [json.dumps(["ping"]), json.dumps({}), json.dumps("ping")])
def test_a_message_without_an_action_is_told_what_to_send(body):
    assert realtime.message_reply(body) == {
        "type": "error", "title": "Unknown action",
        "detail": 'Messages are JSON objects with an "action"; the only one is {"action": "ping"}.'}


def test_a_message_over_api_gateways_128_kb_closes_the_connection_with_1009(gateway):
    with connect(gateway.url, max_size=None) as client:
        client.send("x" * (128 * 1024 + 1))
        with pytest.raises(ConnectionClosedError) as closed:
            client.recv(timeout=10)
        assert closed.value.rcvd.code == 1009


def test_connect_without_identity_is_refused_when_identity_is_required(gateway):
    with override_settings(TASKS_REQUIRE_IDENTITY=True):
        with pytest.raises(InvalidStatus) as refused:
            connect(gateway.url)
        assert refused.value.response.status_code == 401
        with connect(gateway.url, additional_headers={PRINCIPAL: "carol"}) as client:
            assert _ping(client) == {"type": "pong"}
            [record] = connections.connections_of(owner="lambda:carol")
            assert record.endpoint == gateway.management_url


def _event(kind: str, connection_id: str, **extra) -> dict:
    """A WebSocket event as API Gateway sends it to a Lambda proxy integration."""
    route = {"CONNECT": "$connect", "MESSAGE": "$default", "DISCONNECT": "$disconnect"}[kind]
    context = {"routeKey": route, "eventType": kind, "messageDirection": "IN", "stage": "dev",
               "connectedAt": 1764640000000, "requestTimeEpoch": 1764640000500,
               "requestTime": "02/Dec/2025:01:46:40 +0000", "requestId": "Lw2ZkHTsIAMFqYw=",
               "extendedRequestId": "Lw2ZkHTsIAMFqYw=", "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
               "connectionId": connection_id, "apiId": "abc123",
               "identity": {"sourceIp": "203.0.113.9", "userAgent": "test"}, **extra}
    event = {"requestContext": context, "isBase64Encoded": False}
    if kind == "CONNECT":
        event.update(headers={"Host": context["domainName"]}, multiValueHeaders={"Host": [context["domainName"]]})
    return event


@override_settings(WEBSOCKET_CALLBACK_URL="")
def test_handler_records_connect_and_forgets_disconnect_with_the_stage_endpoint():
    event = _event("CONNECT", "Lw2ZkHTsIAMCJ2w=", authorizer={"principalId": "dave"})
    assert event_kind(event) == "websocket"
    assert handler(event, None) == {"statusCode": 200}
    [record] = connections.connections_of(owner="lambda:dave")
    assert record == connections.Connection(connection_id="Lw2ZkHTsIAMCJ2w=", owner="lambda:dave",
                                            endpoint="https://abc123.execute-api.us-east-1.amazonaws.com/dev")
    assert handler(_event("DISCONNECT", "Lw2ZkHTsIAMCJ2w=", disconnectStatusCode=1001,
                          disconnectReason="Going away"), None) == {"statusCode": 200}
    assert connections.connections_of(owner="lambda:dave") == []


def test_a_slow_connection_costs_its_own_push_only(gateway, poller, capsys):
    """A peer that accepts TCP and never answers stands in for a slow connection's endpoint."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    accepted = []
    threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True).start()
    try:
        connections.connection_save(connection_id="slow-connection=", owner="lambda:erin",
                                    endpoint=f"http://127.0.0.1:{silent.getsockname()[1]}", connected_at="x")
        with connect(gateway.url, additional_headers={PRINCIPAL: "erin"}) as client:
            [live] = [c for c in connections.connections_of(owner="lambda:erin") if c.connection_id != "slow-connection="]
            # Each connection's own endpoint, as deployed (the local gateway serves it over plain HTTP).
            connections.connection_save(connection_id=live.connection_id, owner=live.owner,
                                        endpoint=gateway.management_url, connected_at="x")
            with override_settings(WEBSOCKET_CALLBACK_URL="", WEBSOCKET_PUSH_TIMEOUT_SECONDS=0.5):
                status, _, task = call(handler, "POST", "/tasks", context={"authorizer": {"principalId": "erin"}},
                                       body={"title": "erin's"})
                assert status == 201
                [message] = _receive(client, poller, count=1)
            assert message["taskId"] == task["taskId"]
        # One EMF line per batch counts the delivered, one per failing connection what it lost (the alarm's ratio).
        metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"WebSocketPush' in line]
        assert sorted((name, line[name]) for line in metrics for name in ("WebSocketPushes", "WebSocketPushErrors")
                      if name in line) == [("WebSocketPushErrors", 1), ("WebSocketPushes", 1)]
        # The slow one is kept (it may just be slow); its push failed and was counted, not retried.
        assert connections.connection_get(connection_id="slow-connection=") is not None
    finally:
        connections.connection_delete(connection_id="slow-connection=")
        for peer in accepted:
            peer.close()
        silent.close()


def test_fan_out_reads_only_the_owners_connections(monkeypatch):
    queried = []
    real = connections.connections_of
    monkeypatch.setattr(connections, "connections_of", lambda *, owner: queried.append(owner) or real(owner=owner))
    assert realtime.changes_push([("lambda:nobody-here", 1), ("lambda:nobody-here", 2), ("lambda:zed", 1)]) == 0
    assert queried == ["lambda:nobody-here", "lambda:zed"]


def test_the_openapi_document_describes_the_websocket_messages(api):
    description = api.get("/openapi.json").json()["info"]["description"]
    assert description.startswith("A serverless task-management API on AWS Lambda and DynamoDB.\n\n")
    for shape in ('{"action": "ping"}', '{"type": "pong"}', '"type": "change"', '"since"', '"type": "error"',
                  "/tasks/changes?since=<token>"):
        assert shape in description


def test_a_fan_out_out_of_time_sends_nothing_more_and_counts_what_it_left(gateway, capsys):
    connections.connection_save(connection_id="late-connection=", owner="lambda:fay",
                                endpoint=gateway.management_url, connected_at="x")
    try:
        sent = realtime._deliver(connections.connection_get(connection_id="late-connection="),
                                 [b"{}", b"{}"], deadline=time.monotonic() - 1)
        assert sent == 0
        assert '"WebSocketPushErrors": 2' in capsys.readouterr().out
    finally:
        connections.connection_delete(connection_id="late-connection=")
