"""A fault-injecting HTTP proxy for DynamoDB: sits between the app and the emulator and, on a schedule,
throttles, answers 500, answers too late or drops the connection (before or after the emulator saw it)."""
import collections
import http.client
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# What a scheduled request gets instead of (or besides) a plain pass-through.
PASS = "pass"
THROTTLE = "throttle"  # 400 ProvisionedThroughputExceededException, never forwarded
THROTTLING = "throttling"  # 400 ThrottlingException, never forwarded
ERROR_500 = "error500"  # 500 InternalServerError, never forwarded
SLOW = "slow"  # held past the client's read timeout, then forwarded: the write lands late
DROP = "drop"  # connection closed without a response, never forwarded
DROP_AFTER = "drop_after"  # forwarded (the write lands), then the connection closed: the response is lost
FAULTS = (THROTTLE, THROTTLING, ERROR_500, SLOW, DROP, DROP_AFTER)

_ERRORS = {
    THROTTLE: (400, "ProvisionedThroughputExceededException",
               "The level of configured provisioned throughput for the table was exceeded."),
    THROTTLING: (400, "ThrottlingException", "Rate of requests exceeds the allowed throughput."),
    ERROR_500: (500, "InternalServerError", "Internal server error"),
}


class FaultProxy:
    """A threaded HTTP proxy to `upstream`; `schedule()` queues the faults the next matching requests get."""

    def __init__(self, upstream: str, *, slow_seconds: float = 1.5) -> None:
        self.upstream = urlsplit(upstream)
        self.slow_seconds = slow_seconds
        self._lock = threading.Lock()
        self._plan: collections.deque[str] = collections.deque()
        self._operations: set[str] | None = None
        self._containing: bytes | None = None
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        self.seen: collections.Counter[str] = collections.Counter()  # fault -> times injected
        self.calls: set[tuple[str, str]] = set()  # (IAM action, resource path) of every call that passed by
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # DynamoDB's JSON protocol: every call is a POST
                proxy._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def schedule(self, *faults: str, operations: set[str] | None = None, containing: bytes | None = None) -> None:
        """The next len(faults) requests for `operations` (all when None) whose body holds `containing` (any when
        None, e.g. one index key: one stream of a list page) get these faults, in order."""
        with self._lock:
            self._plan = collections.deque(faults)
            self._operations = operations
            self._containing = containing

    def pending(self) -> int:
        with self._lock:
            return len(self._plan)

    def wait_idle(self, timeout: float = 15) -> None:
        """Waits until no request is in flight (late, slow writes included)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("fault proxy still busy")
                self._idle.wait(remaining)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_fault(self, operation: str, body: bytes) -> str:
        with self._lock:
            self._busy += 1
            if self._plan and (self._operations is None or operation in self._operations) and (
                    self._containing is None or self._containing in body):
                fault = self._plan.popleft()
                if fault != PASS:
                    self.seen[fault] += 1
                return fault
            return PASS

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        operation = request.headers.get("X-Amz-Target", "").rpartition(".")[2]
        self._record(operation, body)
        fault = self._next_fault(operation, body)
        try:
            if fault in _ERRORS:
                status, code, message = _ERRORS[fault]
                self._reply(request, status, {"Content-Type": "application/x-amz-json-1.0"},
                            json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}
                                       ).encode())
                return
            if fault == DROP:
                self._drop(request)
                return
            if fault == SLOW:
                time.sleep(self.slow_seconds)
            status, headers, payload = self._send_upstream(request, body)
            if fault == DROP_AFTER:
                self._drop(request)
                return
            self._reply(request, status, headers, payload)
        except (BrokenPipeError, ConnectionResetError):
            request.close_connection = True  # the client gave up (it timed out); the write has landed anyway
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def _record(self, operation: str, body: bytes) -> None:
        """Notes which IAM action on which table (or table/index/name) this call needs."""
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return
        needs = []
        if operation == "TransactWriteItems":  # IAM authorises each item's own action
            actions = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                       "ConditionCheck": "ConditionCheckItem"}
            for item in payload.get("TransactItems", []):
                for kind, detail in item.items():
                    needs.append((actions[kind], detail["TableName"]))
        elif "TableName" in payload:
            index = payload.get("IndexName")
            needs.append((operation, payload["TableName"] + (f"/index/{index}" if index else "")))
        with self._lock:
            self.calls.update((f"dynamodb:{action}", resource) for action, resource in needs)

    def _send_upstream(self, request: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict, bytes]:
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            headers = {name: value for name, value in request.headers.items() if name.lower() != "host"}
            headers["Host"] = self.upstream.netloc
            connection.request("POST", request.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            kept = {name: value for name, value in response.getheaders()
                    if name.lower() not in {"transfer-encoding", "connection", "content-length"}}
            return response.status, kept, payload
        finally:
            connection.close()

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, headers: dict, payload: bytes) -> None:
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)
        request.wfile.flush()

    @staticmethod
    def _drop(request: BaseHTTPRequestHandler) -> None:
        request.close_connection = True
        try:
            request.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
