"""An emulated AWS for `zappa deploy`: moto's ThreadedMotoServer in-process, with the gaps Zappa falls into closed.

Each `patch_*` function closes one moto 5.2.5 gap (FACTS.md lists them); when moto fixes one, drop its patch
and rerun the rehearsal to see. HTTP-level patches are WSGI wrappers around moto's app;
model-level ones wrap one moto method and are undone by `MotoAws.stop()`.
"""
import io
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from tests.deploy.lambda_runner import LambdaRunner

ACCOUNT = "123456789012"  # moto's account for any access key
REGION = "us-east-1"

WsgiApp = Callable[[dict, Callable], Any]


def _body(environ: dict) -> bytes:
    """Reads the request body and puts it back, so the wrapped app can read it again."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(data)
    return data


def _json_response(start_response, status: str, payload: Any, headers: list | None = None) -> list[bytes]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                            *(headers or [])])
    return [body]


def _lambda_function(name: str):
    """Returns moto's function named `name` (or by ARN), or None."""
    from moto.awslambda.models import lambda_backends

    try:
        return lambda_backends[ACCOUNT][REGION].get_function(unquote(name).split(":function:")[-1].split(":")[0])
    except Exception:  # noqa: BLE001 - moto raises its own UnknownFunctionException
        return None


def patch_list_function_url_configs(app: WsgiApp) -> WsgiApp:
    """moto has no route for Lambda ListFunctionUrlConfigs (GET /2021-10-31/functions/{fn}/urls); `zappa update`
    calls it and dies on moto's 404. Answers as AWS does for a function without URLs: an empty list."""
    route = re.compile(r"^/2021-10-31/functions/([^/]+)/urls/?$")

    def wrapped(environ, start_response):
        match = route.match(environ.get("PATH_INFO", ""))
        if match and environ["REQUEST_METHOD"] == "GET":
            if _lambda_function(match.group(1)) is None:
                return _json_response(start_response, "404 Not Found", {
                    "Type": "User", "Message": f"Function not found: {match.group(1)}"},
                    [("x-amzn-ErrorType", "ResourceNotFoundException")])
            return _json_response(start_response, "200 OK", {"FunctionUrlConfigs": []})
        return app(environ, start_response)
    return wrapped


def patch_invoke(app: WsgiApp, runner: LambdaRunner) -> WsgiApp:
    """moto's Lambda Invoke needs Docker, which is not here: runs the function's code in a subprocess instead
    (the unzipped package on a Python with only the SDK, as the Lambda runtime has), see LambdaRunner."""
    route = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations/?$")

    def wrapped(environ, start_response):
        match = route.match(environ.get("PATH_INFO", ""))
        if not (match and environ["REQUEST_METHOD"] == "POST"):
            return app(environ, start_response)
        function = _lambda_function(match.group(1))
        if function is None:
            return _json_response(start_response, "404 Not Found", {
                "Type": "User", "Message": f"Function not found: {match.group(1)}"},
                [("x-amzn-ErrorType", "ResourceNotFoundException")])
        payload = _body(environ) or b"{}"
        kind = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
        if kind == "DryRun":
            start_response("204 No Content", [("Content-Length", "0")])
            return [b""]
        result, log, error = runner.invoke(function, json.loads(payload))
        if kind == "Event":
            start_response("202 Accepted", [("Content-Length", "0")])
            return [b""]
        headers = [("X-Amz-Executed-Version", "$LATEST")]
        if environ.get("HTTP_X_AMZ_LOG_TYPE") == "Tail":
            import base64
            headers.append(("X-Amz-Log-Result", base64.b64encode(log.encode()[-4096:]).decode()))
        if error:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        return _json_response(start_response, "200 OK", result, headers)
    return wrapped


def patch_add_permission_status(app: WsgiApp) -> WsgiApp:
    """moto answers Lambda AddPermission with 200 where AWS answers 201 Created; Zappa then logs a spurious
    "Problem setting permissions" error. Rewrites the status of a successful AddPermission to 201."""
    route = re.compile(r"^/2015-03-31/functions/([^/]+)/policy/?$")

    def wrapped(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST" and route.match(environ.get("PATH_INFO", "")):
            def start(status, headers, exc_info=None):
                return start_response("201 Created" if status.startswith("200") else status, headers, exc_info)
            return app(environ, start)
        return app(environ, start_response)
    return wrapped


def patch_delete_stack_rest_api(app: WsgiApp, endpoint: Callable[[], str]) -> WsgiApp:
    """Deleting a CloudFormation stack in moto leaves its AWS::ApiGateway::RestApi behind (AWS deletes every
    resource of the stack): deletes the stack's REST APIs after moto deletes the stack."""

    def wrapped(environ, start_response):
        if environ["REQUEST_METHOD"] != "POST" or "cloudformation" not in environ.get("HTTP_AUTHORIZATION", ""):
            return app(environ, start_response)
        form = parse_qs(_body(environ).decode())
        if form.get("Action") != ["DeleteStack"]:
            return app(environ, start_response)
        clients = {"endpoint_url": endpoint(), "region_name": REGION}
        try:
            resources = boto3.client("cloudformation", **clients).describe_stack_resources(
                StackName=form["StackName"][0])["StackResources"]
        except Exception:  # noqa: BLE001 - no such stack: moto answers for itself
            resources = []
        answer = app(environ, start_response)
        gateway = boto3.client("apigateway", **clients)
        for resource in resources:
            if resource.get("ResourceType") == "AWS::ApiGateway::RestApi":  # moto lists skipped (gap 8) ones bare
                try:
                    gateway.delete_rest_api(restApiId=resource["PhysicalResourceId"])
                except gateway.exceptions.NotFoundException:
                    pass
        return answer
    return wrapped


def patch_rest_api_updates() -> Callable[[], None]:
    """moto's UpdateRestApi ignores `add|remove /binaryMediaTypes/<type>` (AWS puts the type, ~1-escaped, in the
    path, as Zappa sends it) and `replace /minimumCompressionSize`. Applies both; returns the undo."""
    from moto.apigateway.models import RestAPI

    original = RestAPI.apply_patch_operations

    def apply_patch_operations(self, patch_operations):
        rest = []
        for op in patch_operations:
            path = op.get("path", "")
            if path.startswith("/binaryMediaTypes/") and op.get("op") in ("add", "remove"):
                media_type = path[len("/binaryMediaTypes/"):].replace("~1", "/").replace("~0", "~")
                if op["op"] == "add" and media_type not in self.binaryMediaTypes:
                    self.binaryMediaTypes.append(media_type)
                elif op["op"] == "remove" and media_type in self.binaryMediaTypes:
                    self.binaryMediaTypes.remove(media_type)
            elif path == "/minimumCompressionSize" and op.get("op") == "replace":
                self.minimum_compression_size = int(op["value"]) if op.get("value") not in (None, "") else None
            else:
                rest.append(op)
        return original(self, rest)

    RestAPI.apply_patch_operations = apply_patch_operations
    return lambda: setattr(RestAPI, "apply_patch_operations", original)


def patch_method_integration_credentials() -> Callable[[], None]:
    """moto's CloudFormation AWS::ApiGateway::Method drops Integration.Credentials (the role API Gateway invokes
    the function with, which Zappa sets): copies it onto the integration. Returns the undo."""
    from moto.apigateway.models import Method

    original = Method.__dict__["create_from_cloudformation_json"]

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        method = original.__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        credentials = cloudformation_json["Properties"].get("Integration", {}).get("Credentials")
        if credentials and method.method_integration is not None:
            method.method_integration.credentials = credentials
        return method

    Method.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
    return lambda: setattr(Method, "create_from_cloudformation_json", original)


class MotoAws(ThreadedMotoServer):
    """moto server on 127.0.0.1:`port` in this process, with the patches above; Invoke runs through `runner`."""

    def __init__(self, port: int, runner: LambdaRunner):
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)
        self.runner = runner
        self._undo: list[Callable[[], None]] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def _server_entry(self) -> None:
        app: WsgiApp = DomainDispatcherApplication(create_backend_app)
        app = patch_list_function_url_configs(app)
        app = patch_invoke(app, self.runner)
        app = patch_add_permission_status(app)
        app = patch_delete_stack_rest_api(app, lambda: self.endpoint)
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

    def start(self) -> None:
        self._undo = [patch_rest_api_updates(), patch_method_integration_credentials()]
        super().start()

    def stop(self) -> None:
        super().stop()
        for undo in reversed(self._undo):
            undo()
        self._undo = []
