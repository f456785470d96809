"""Local HTTP servers that put the app behind a stage prefix, as API Gateway does: for browsers and HTTP tests.

`WsgiStageBridge` serves the WSGI app with SCRIPT_NAME=/dev (the app's part of a stage prefix);
`ApiGatewayRestBridge` turns each HTTP request into an API Gateway REST (v1) proxy event for the Lambda
handler and its result back into an HTTP response (the handler's part too). Both answer 403 outside the
stage, like API Gateway, and run in a daemon thread of the test process on a free port.
"""
import base64
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import ThreadingMixIn
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

STAGE = "dev"

_FORBIDDEN = b'{"message":"Forbidden"}'  # API Gateway's answer for a path outside every stage


def _strip_stage(path: str, prefix: str) -> str | None:
    """Returns `path` without the stage `prefix`, or None when it is outside the stage."""
    if path == prefix or path.startswith(f"{prefix}/"):
        return path[len(prefix):] or "/"
    return None


class _QuietWSGIRequestHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the app writes its own access log
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class WsgiStageBridge:
    """The WSGI app under `/<stage>`: SCRIPT_NAME is the stage, PATH_INFO the rest (what a stage-aware adapter does)."""

    def __init__(self, app: Callable, *, stage: str = STAGE) -> None:
        self.prefix = f"/{stage}"
        self._app = app
        self._server = make_server("127.0.0.1", 0, self._serve, server_class=_ThreadingWSGIServer,
                                   handler_class=_QuietWSGIRequestHandler)
        self.origin = f"http://127.0.0.1:{self._server.server_port}"
        self.url = self.origin + self.prefix
        self._thread = threading.Thread(target=self._server.serve_forever, name="wsgi-stage-bridge", daemon=True)
        self._thread.start()

    def _serve(self, environ: dict, start_response: Callable):
        path = _strip_stage(environ.get("PATH_INFO", ""), self.prefix)
        if path is None:
            start_response("403 Forbidden", [("Content-Type", "application/json")])
            return [_FORBIDDEN]
        environ["SCRIPT_NAME"] = self.prefix
        environ["PATH_INFO"] = path
        return self._app(environ, start_response)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def lambda_context() -> SimpleNamespace:
    """Returns an object shaped like the Lambda context (the attributes handlers and apig-wsgi read)."""
    return SimpleNamespace(
        aws_request_id=str(uuid.uuid4()),
        function_name="taskapi-dev",
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:taskapi-dev",
        memory_limit_in_mb=512,
        log_group_name="/aws/lambda/taskapi-dev",
        log_stream_name="local",
        get_remaining_time_in_millis=lambda: 30_000,
    )


def rest_api_event(*, method: str, stage_path: str, stage: str, query: str, headers: list[tuple[str, str]],
                   body: bytes, source_ip: str = "127.0.0.1") -> dict[str, Any]:
    """Returns the API Gateway REST API (v1) proxy event for a request to `/{stage}{stage_path}`.

    API Gateway puts the path without the stage in `path`, the client's path in `requestContext.path`,
    decoded query values in (multiValue)queryStringParameters, and (with binary media types `*/*`, as
    Zappa configures them) any body base64-encoded.
    """
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    params = parse_qs(query, keep_blank_values=True)
    request_id = str(uuid.uuid4())
    return {
        "resource": "/{proxy+}",
        "path": stage_path,
        "httpMethod": method,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": {name: values[-1] for name, values in params.items()} or None,
        "multiValueQueryStringParameters": params or None,
        "pathParameters": {"proxy": stage_path.lstrip("/")} if stage_path != "/" else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/{stage}{stage_path}",
            "stage": stage,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": single.get("Host", "127.0.0.1"),
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": source_ip, "userAgent": single.get("User-Agent", "")},
        },
        "body": base64.b64encode(body).decode() if body else None,
        "isBase64Encoded": bool(body),
    }


class ApiGatewayRestBridge:
    """An HTTP server that answers like an API Gateway REST API stage proxying to `handler(event, context)`."""

    def __init__(self, handler: Callable[[dict, Any], dict], *, stage: str = STAGE) -> None:
        self.stage = stage
        self.prefix = f"/{stage}"
        self.events: list[dict] = []
        bridge = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                stage_path = _strip_stage(parts.path, bridge.prefix)  # still percent-encoded, as in events
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if stage_path is None:
                    self._reply(403, [("Content-Type", "application/json")], _FORBIDDEN)
                    return
                headers = [(name, value) for name, value in self.headers.items()]
                # API Gateway adds these; the bridge speaks plain HTTP on a local port.
                headers += [("X-Forwarded-Proto", "http"), ("X-Forwarded-Port", str(bridge.port)),
                            ("X-Forwarded-For", self.client_address[0])]
                event = rest_api_event(method=self.command, stage_path=stage_path, stage=bridge.stage,
                                       query=parts.query, headers=headers, body=body)
                bridge.events.append(event)
                result = handler(event, lambda_context())
                payload = result.get("body") or ""
                content = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
                if result.get("multiValueHeaders"):
                    reply_headers = [(k, v) for k, values in result["multiValueHeaders"].items() for v in values]
                else:
                    reply_headers = list((result.get("headers") or {}).items())
                self._reply(result["statusCode"], reply_headers, content)

            def _reply(self, status: int, headers: list[tuple[str, str]], content: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self._server.daemon_threads = True
        self.port = self._server.server_port
        self.origin = f"http://127.0.0.1:{self.port}"
        self.url = self.origin + self.prefix
        self._thread = threading.Thread(target=self._server.serve_forever, name="apigw-bridge", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
