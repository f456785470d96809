"""A local stand-in for an API Gateway WebSocket API: socket connects, messages and closes become real-shaped
$connect/$default/$disconnect events for the real Lambda handler, and the @connections Management API
(PostToConnection, GetConnection, DeleteConnection) is served on the same port, as `make run` needs."""
import asyncio
import base64
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

logger = logging.getLogger("taskapi.ws_gateway")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
# Returns the requestContext.authorizer of a connecting request, or None: what a Lambda authorizer would say.
Authorizer = Callable[[web.Request], dict[str, Any] | None]
MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway's WebSocket message limit


@dataclass
class _Socket:
    socket: web.WebSocketResponse
    connected_at: float
    source_ip: str
    user_agent: str
    authorizer: dict[str, Any] | None
    last_active: float = field(default=0.0)


def _request_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _connection_id() -> str:
    # API Gateway's ids are 12 random bytes, base64: "L0SM9cOFvHcCIhw=".
    return base64.b64encode(secrets.token_bytes(10)).decode()


def _gone(connection_id: str) -> web.Response:
    # botocore reads the error code from x-amzn-ErrorType (restJson), as API Gateway sends it.
    return web.json_response({"message": f"connection {connection_id} is gone"}, status=410,
                             headers={"x-amzn-ErrorType": "GoneException"})


class LocalWebSocketGateway:
    """Serves ws://host:port/ (any path) for clients and http://host:port/@connections/{id} for the SDK."""

    def __init__(self, *, handler: Handler, host: str = "127.0.0.1", port: int = 8001, stage: str = "local",
                 authorizer: Authorizer | None = None) -> None:
        self.handler, self.host, self.port, self.stage, self.authorizer = handler, host, port, stage, authorizer
        self.sockets: dict[str, _Socket] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    # Lifecycle: `serve()` blocks (manage.py ws_gateway); `start()`/`stop()` run it in a thread (tests).

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_MESSAGE_BYTES)  # PostToConnection's payload limit too
        for prefix in ("", f"/{self.stage}"):
            app.router.add_post(prefix + "/@connections/{connection_id}", self._post)
            app.router.add_get(prefix + "/@connections/{connection_id}", self._get)
            app.router.add_delete(prefix + "/@connections/{connection_id}", self._delete)
        app.router.add_get("/{path:.*}", self._connect)
        return app

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False, shutdown_timeout=5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # port 0: the one the OS picked
        self._loop = asyncio.get_running_loop()
        self._ready.set()

    def serve(self, *, ready: Callable[[], None] | None = None) -> None:
        """Serves until interrupted, calling `ready` once the port is bound; raises OSError if it cannot be."""
        async def main() -> None:
            await self._start()
            if ready:
                ready()
            await asyncio.Event().wait()

        asyncio.run(main())

    def start(self) -> "LocalWebSocketGateway":
        """Serves in a daemon thread; returns once the port is bound."""
        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._start())
            loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True, name="ws-gateway")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the local WebSocket gateway did not start")
        return self

    def stop(self) -> None:
        """Closes every socket (each gets its $disconnect) and stops serving."""
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(10)
            self._loop.close()

    async def _shutdown(self) -> None:
        for socket in list(self.sockets.values()):
            await socket.socket.close(code=1001, message=b"Going away")  # as API Gateway does on redeploys
        await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def management_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # Events, shaped as API Gateway sends them to a Lambda proxy integration.

    def _context(self, request: web.Request, connection_id: str, socket: _Socket, *, route: str, kind: str,
                 **extra: Any) -> dict[str, Any]:
        now = time.time()
        context = {
            "routeKey": route, "eventType": kind, "messageDirection": "IN", "stage": self.stage,
            "connectedAt": int(socket.connected_at * 1000), "requestTimeEpoch": int(now * 1000),
            "requestTime": _request_time(now), "requestId": str(uuid.uuid4()),
            "extendedRequestId": str(uuid.uuid4()), "domainName": request.host, "connectionId": connection_id,
            "apiId": "local", "identity": {"sourceIp": socket.source_ip, "userAgent": socket.user_agent},
            **extra,
        }
        if socket.authorizer is not None:
            context["authorizer"] = socket.authorizer
        return context

    async def _invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        # The handler is synchronous (Django, boto3) and may post back to this gateway: run it off the loop.
        try:
            answer = await asyncio.get_running_loop().run_in_executor(None, self.handler, event, None)
        except Exception:  # noqa: BLE001 - as Lambda: the invocation failed, the client sees a 500
            logger.exception("handler failed on %s", event["requestContext"]["routeKey"])
            return {"statusCode": 500}
        return answer if isinstance(answer, dict) else {}

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.json_response({"message": "Expected a WebSocket upgrade"}, status=426)
        connection_id = _connection_id()
        # API Gateway closes a connection whose message passes 128 KB with 1009 (aiohttp's own limit is 4 MB).
        socket = _Socket(socket=web.WebSocketResponse(autoping=True, max_msg_size=MAX_MESSAGE_BYTES),
                         connected_at=time.time(),
                         source_ip=request.remote or "127.0.0.1", user_agent=request.headers.get("User-Agent", ""),
                         authorizer=self.authorizer(request) if self.authorizer else None)
        headers = dict(request.headers)
        query = dict(request.query) or None
        event = {"headers": headers, "multiValueHeaders": {k: request.headers.getall(k) for k in headers},
                 "queryStringParameters": query,
                 "multiValueQueryStringParameters": {k: request.query.getall(k) for k in request.query} or None,
                 "requestContext": self._context(request, connection_id, socket, route="$connect", kind="CONNECT"),
                 "isBase64Encoded": False}
        answer = await self._invoke(event)
        status = int(answer.get("statusCode") or 200)
        if not 200 <= status < 300:
            # API Gateway refuses the upgrade with the $connect route's status.
            return web.json_response({"message": "Forbidden" if status == 403 else "Connection refused"},
                                     status=status)
        await socket.socket.prepare(request)
        self.sockets[connection_id] = socket
        reason, code = "Client-side close frame", 1000
        try:
            async for message in socket.socket:
                socket.last_active = time.time()
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    binary = message.type == WSMsgType.BINARY
                    body = base64.b64encode(message.data).decode() if binary else message.data
                    await self._invoke({
                        "requestContext": self._context(request, connection_id, socket, route="$default",
                                                        kind="MESSAGE", messageId=_connection_id()),
                        "body": body, "isBase64Encoded": binary})
                elif message.type == WSMsgType.ERROR:
                    reason, code = "Connection error", 1006
        finally:
            self.sockets.pop(connection_id, None)
            code = socket.socket.close_code or code
            await self._invoke({
                "headers": {"Host": request.host}, "multiValueHeaders": {"Host": [request.host]},
                "requestContext": self._context(request, connection_id, socket, route="$disconnect",
                                                kind="DISCONNECT", disconnectStatusCode=code,
                                                disconnectReason=reason),
                "isBase64Encoded": False})
        return socket.socket

    # The Management API.

    async def _post(self, request: web.Request) -> web.Response:
        connection_id = request.match_info["connection_id"]
        socket = self.sockets.get(connection_id)
        if socket is None or socket.socket.closed:
            return _gone(connection_id)
        data = await request.read()
        try:
            await socket.socket.send_str(data.decode())
        except UnicodeDecodeError:
            await socket.socket.send_bytes(data)
        except ConnectionError:
            return _gone(connection_id)
        return web.Response(status=200)

    async def _get(self, request: web.Request) -> web.Response:
        connection_id = request.match_info["connection_id"]
        socket = self.sockets.get(connection_id)
        if socket is None:
            return _gone(connection_id)
        stamp = lambda moment: datetime.fromtimestamp(moment, UTC).isoformat()  # noqa: E731
        return web.json_response({"connectedAt": stamp(socket.connected_at),
                                  "identity": {"sourceIp": socket.source_ip, "userAgent": socket.user_agent},
                                  "lastActiveAt": stamp(socket.last_active or socket.connected_at)})

    async def _delete(self, request: web.Request) -> web.Response:
        connection_id = request.match_info["connection_id"]
        socket = self.sockets.get(connection_id)
        if socket is None:
            return _gone(connection_id)
        await socket.socket.close(code=1000, message=b"Going away")
        return web.Response(status=204)
