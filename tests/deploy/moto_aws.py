"""An emulated AWS for `zappa deploy`: moto's ThreadedMotoServer in-process, with the gaps Zappa falls into closed.

Each `patch_*` function closes one moto 5.2.5 gap (FACTS.md lists them); when moto fixes one, drop its patch
and rerun the rehearsal to see. HTTP-level patches are WSGI wrappers around moto's app;
model-level ones wrap one moto method and are undone by `MotoAws.stop()`.
"""
import inspect
import io
import json
import re
from collections.abc import Callable
from typing import Any, ClassVar
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
            if resource.get("ResourceType") == "AWS::ApiGateway::RestApi":
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


def _arguments(method: Callable, properties: dict, **given: Any) -> dict:
    """Keyword arguments for the moto backend `method`: each from the CloudFormation property of the same name in
    PascalCase (`integration_uri` from `IntegrationUri`), None when absent, except those `given`."""
    names = [name for name in inspect.signature(method).parameters if name not in given]
    return {**{name: properties.get("".join(part.capitalize() for part in name.split("_"))) for name in names},
            **given}


class ApiGatewayV2Resource:
    """One AWS::ApiGatewayV2::* resource of a stack, duck-typed as moto's CloudFormationModel (gap 8: moto 5.2.5's
    CloudFormation has none). A stand-in for what CloudFormation does on AWS: create, update and delete through
    moto's own apigatewayv2 backend, so the API's calls (GetApis, GetRoutes...) answer for it."""

    TYPE = ""
    REPLACED_BY: tuple[str, ...] = ("ApiId",)  # a change to these makes CloudFormation replace, not update
    ATTRIBUTES: ClassVar[dict[str, str]] = {}  # Fn::GetAtt name: attribute of this object

    def __init__(self, backend, properties: dict, api_id: str, resource_id: str):
        self.backend, self.properties, self.api_id, self.resource_id = backend, properties, api_id, resource_id

    @property
    def physical_resource_id(self) -> str:  # what Ref answers
        return self.resource_id

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attr: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attr not in self.ATTRIBUTES:
            raise UnformattedGetAttTemplateException()
        return getattr(self, self.ATTRIBUTES[attr])

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.apigatewayv2.models import apigatewayv2_backends

        backend, properties = apigatewayv2_backends[account_id][region_name], cloudformation_json["Properties"]
        return cls(backend, properties, *cls.create(backend, properties))

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id,
                                        region_name):
        properties = cloudformation_json["Properties"]
        if any(properties.get(name) != original_resource.properties.get(name) for name in cls.REPLACED_BY):
            replacement = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id,
                                                              region_name)
            original_resource.delete(account_id, region_name)
            return replacement
        original_resource.update(properties)
        original_resource.properties = properties
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        if self.api_id in self.backend.apis:  # deleting an API has deleted everything in it
            self.remove()

    @classmethod
    def create(cls, backend, properties: dict) -> tuple[str, str]:
        """Creates the resource in moto; returns (its API's id, its physical id)."""
        raise NotImplementedError

    def update(self, properties: dict) -> None:
        raise NotImplementedError

    def remove(self) -> None:
        raise NotImplementedError


class ApiGatewayV2Api(ApiGatewayV2Resource):
    TYPE = "AWS::ApiGatewayV2::Api"
    REPLACED_BY = ("ProtocolType",)
    ATTRIBUTES: ClassVar[dict[str, str]] = {"ApiId": "api_id", "ApiEndpoint": "api_endpoint"}

    @property
    def api_endpoint(self) -> str:
        return self.backend.get_api(self.api_id).api_endpoint

    @classmethod
    def create(cls, backend, properties):
        api = backend.create_api(**_arguments(backend.create_api, properties))
        return api.api_id, api.api_id

    def update(self, properties):
        self.backend.update_api(**_arguments(self.backend.update_api, properties, api_id=self.api_id))

    def remove(self):
        self.backend.delete_api(self.api_id)


class ApiGatewayV2Integration(ApiGatewayV2Resource):
    TYPE = "AWS::ApiGatewayV2::Integration"
    ATTRIBUTES: ClassVar[dict[str, str]] = {"IntegrationId": "resource_id"}

    @classmethod
    def create(cls, backend, properties):
        integration = backend.create_integration(**_arguments(backend.create_integration, properties))
        return properties["ApiId"], integration.id

    def update(self, properties):
        self.backend.update_integration(**_arguments(self.backend.update_integration, properties,
                                                     integration_id=self.resource_id))

    def remove(self):
        self.backend.delete_integration(self.api_id, self.resource_id)


class ApiGatewayV2Route(ApiGatewayV2Resource):
    TYPE = "AWS::ApiGatewayV2::Route"
    ATTRIBUTES: ClassVar[dict[str, str]] = {"RouteId": "resource_id"}
    DEFAULTS: ClassVar[dict[str, Any]] = {"ApiKeyRequired": False, "AuthorizationType": "NONE"}  # AWS's defaults

    @classmethod
    def create(cls, backend, properties):
        route = backend.create_route(**_arguments(backend.create_route, {**cls.DEFAULTS, **properties}))
        return properties["ApiId"], route.route_id

    def update(self, properties):
        self.backend.update_route(**_arguments(self.backend.update_route, {**self.DEFAULTS, **properties},
                                               route_id=self.resource_id))

    def remove(self):
        self.backend.delete_route(self.api_id, self.resource_id)


class ApiGatewayV2Stage(ApiGatewayV2Resource):
    TYPE = "AWS::ApiGatewayV2::Stage"
    REPLACED_BY = ("ApiId", "StageName")  # Ref of a stage answers its name

    @classmethod
    def create(cls, backend, properties):
        config = {name[0].lower() + name[1:]: value for name, value in properties.items() if name != "ApiId"}
        return properties["ApiId"], backend.create_stage(properties["ApiId"], config).name

    def update(self, properties):  # moto has no UpdateStage for API Gateway v2: the same stage again
        self.remove()
        self.create(self.backend, properties)

    def remove(self):
        self.backend.delete_stage(self.api_id, self.resource_id)


def patch_cloudformation_apigatewayv2() -> Callable[[], None]:
    """moto's CloudFormation has no AWS::ApiGatewayV2::* resources, which Zappa's stack holds for the WebSocket API
    (`websocket_handler_module`): it warns and leaves them out. Registers the stand-ins above for Api, Integration,
    Route and Stage (the types Zappa 0.63 writes; its stage auto-deploys, so no Deployment). Returns the undo."""
    from moto.cloudformation import parsing

    original = parsing.get_model_map
    stand_ins = {model.cloudformation_type(): model for model in (
        ApiGatewayV2Api, ApiGatewayV2Integration, ApiGatewayV2Route, ApiGatewayV2Stage)}

    def get_model_map():
        return {**original(), **stand_ins}

    parsing.get_model_map = get_model_map
    return lambda: setattr(parsing, "get_model_map", original)


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
        self._undo = [patch_rest_api_updates(), patch_method_integration_credentials(),
                      patch_cloudformation_apigatewayv2()]
        super().start()

    def stop(self) -> None:
        super().stop()
        for undo in reversed(self._undo):
            undo()
        self._undo = []
