"""The AWS Lambda entry point: HTTP events through apig-wsgi into Django, and Zappa's own invocations."""
import gc
import importlib
import inspect
import io
import json
import logging
import os
import shlex
from http import HTTPStatus
from typing import Any

# Init builds only long-lived objects: no cyclic GC until Django is set up (the imports below load
# django.urls before taskapi.wsgi, which freezes what set-up built, turns collection off itself).
gc.disable()


def secret_key_load() -> None:
    """Puts the SecureString named by DJANGO_SECRET_KEY_PARAMETER into DJANGO_SECRET_KEY, unless that is set.

    Like Zappa's remote_env, this runs before settings read the environment, once per container; the
    IAM policy allows reading this one parameter. Raises ImproperlyConfigured naming a missing parameter.
    """
    name = os.environ.get("DJANGO_SECRET_KEY_PARAMETER", "").strip()
    if os.environ.get("DJANGO_SECRET_KEY", "").strip() or not name:
        return
    import boto3
    from botocore.exceptions import ClientError
    from django.core.exceptions import ImproperlyConfigured

    try:
        # Lambda sets AWS_REGION; botocore itself only reads AWS_DEFAULT_REGION.
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        ssm = boto3.client("ssm", region_name=region)
        parameter = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ParameterNotFound":
            raise
        raise ImproperlyConfigured(
            f"The SSM parameter {name} (DJANGO_SECRET_KEY_PARAMETER) does not exist; create it with "
            f"`aws ssm put-parameter --type SecureString --name {name} --value <a long random string>`."
        ) from None
    os.environ["DJANGO_SECRET_KEY"] = parameter["Value"]


secret_key_load()

from apig_wsgi import make_lambda_handler  # noqa: E402
from django.core.management import CommandError, call_command  # noqa: E402

from taskapi.logs import record_sources_off  # noqa: E402
from taskapi.stage import StagePrefixMiddleware  # noqa: E402
from taskapi.wsgi import application  # noqa: E402  (django.setup(): once per container, at import)

gc.enable()  # taskapi.wsgi has done so already, unless a process imported it before this module

record_sources_off()  # one JSON line per request shows none of them

logger = logging.getLogger("taskapi.lambda")

# Modules whose functions a `{"command": "module.function"}` invocation may run.
COMMAND_PACKAGES = ("taskapi.", "tasks.", "ops.")

# Zappa names its keep-warm rule `<function>-zappa-keep-warm-handler.keep_warm_callback`.
KEEP_WARM_SUFFIX = "keep_warm_callback"

# binary_support: Zappa sets binaryMediaTypes */* on REST APIs, so fonts and images must go back base64.
http_handler = make_lambda_handler(StagePrefixMiddleware(application), binary_support=True)


def event_kind(event: Any) -> str:
    """Returns what an invocation is: http, websocket, stream, keep_warm, scheduled, manage, command, raw_command or unknown."""
    if not isinstance(event, dict):
        return "unknown"
    context = event.get("requestContext")
    if isinstance(context, dict) and "connectionId" in context and "eventType" in context:
        return "websocket"  # API Gateway WebSocket API: $connect, $disconnect, $default (issue 14)
    if "httpMethod" in event or (isinstance(context, dict) and ("elb" in context or "http" in context)):
        return "http"
    if event.get("detail-type") == "Scheduled Event":
        resources = event.get("resources") or [""]
        return "keep_warm" if str(resources[0]).endswith(KEEP_WARM_SUFFIX) else "scheduled"
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict) \
            and records[0].get("eventSource") == "aws:dynamodb":
        return "stream"
    for key in ("manage", "command", "raw_command"):
        if key in event:
            return key
    return "unknown"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda handler: returns the HTTP response for HTTP events, else a JSON-able result dict."""
    kind = event_kind(event)
    if kind == "http":
        response = http_handler(event, context)
        if "elb" in event["requestContext"]:
            # ALB passes this on as the status line's reason phrase.
            response["statusDescription"] = f"{response['statusCode']} {HTTPStatus(response['statusCode']).phrase}"
        return response
    if kind == "websocket":
        from tasks import realtime

        return realtime.websocket_event(event)
    if kind == "stream":
        from tasks import realtime  # the changes feed's consumer (issue 13), then the WebSocket fan-out (issue 14)

        return realtime.stream_batch_push(event["Records"])
    if kind == "keep_warm":
        # Django is already set up at import; a warm container needs nothing else.
        return {"warm": True}
    if kind == "manage":
        return manage(event["manage"])
    if kind in {"command", "scheduled"}:
        name = event["command"] if kind == "command" else str(event["resources"][0]).rsplit("/", 1)[-1].split("-")[-1]
        return command(name, event, context)
    if kind == "raw_command":
        return refuse("raw_command invocations are disabled: they would run arbitrary Python in the function.")
    keys = sorted(event)[:10] if isinstance(event, dict) else type(event).__name__
    return refuse(f"Unknown event (keys: {keys}); expected an HTTP event, a keep-warm, manage or command event.")


def refuse(reason: str) -> dict[str, Any]:
    """Logs and returns an error result for an invocation this function will not run."""
    logger.error("refused invocation: %s", reason)
    return {"error": reason}


def manage(command_line: Any) -> dict[str, Any]:
    """Runs `manage.py <command line>` and returns {"command", "status", "output"}; its output is printed too.

    `zappa manage` shows the function's log tail, so the output is printed as well as returned.
    """
    if not isinstance(command_line, str) or not command_line.strip():
        return refuse("manage needs a command line such as \"create_table --dry-run\".")
    try:
        args = shlex.split(command_line)
    except ValueError as error:
        return refuse(f"manage command line {command_line!r} cannot be parsed: {error}.")
    output = io.StringIO()
    try:
        call_command(*args, stdout=output, stderr=output)
        status = 0
    except CommandError as error:
        output.write(f"CommandError: {error}\n")
        status = 1
    except Exception:  # noqa: BLE001 - reported as a failed command, with the trace in the log only
        logger.exception("manage %s failed", args[0])
        output.write("The command failed with an unexpected error; see the function's log.\n")
        status = 1
    text = output.getvalue()
    print(text, end="" if text.endswith("\n") else "\n")
    if status:
        logger.error("manage %s exited with status %s", args[0], status)
    return {"command": command_line, "status": status, "output": text}


def command(name: Any, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Runs `module.function` of this project with (event, context), as many as it takes; returns its result."""
    if not isinstance(name, str) or "." not in name or not name.startswith(COMMAND_PACKAGES):
        return refuse(f"command {name!r} is not a function of this project ({', '.join(COMMAND_PACKAGES)}).")
    module_name, function_name = name.rsplit(".", 1)
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError):
        return refuse(f"command {name!r} names no function.")
    if not callable(function):
        return refuse(f"command {name!r} is not callable.")
    positional = [
        parameter for parameter in inspect.signature(function).parameters.values()
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    ]
    try:
        # Lambda answers JSON: anything else the function returns is sent as its string form.
        result = json.loads(json.dumps(function(*(event, context)[: len(positional)]), default=str))
    except Exception:  # noqa: BLE001 - the trace goes to the log, not to the invoker
        logger.exception("command %s failed", name)
        return {"command": name, "error": "The command failed; see the function's log."}
    print(f"Result of {name}: {json.dumps(result)}")
    return {"command": name, "result": result}


def status(event: dict[str, Any] | None = None, context: Any = None) -> dict[str, str]:
    """Returns this function's stage, its table and the table's status (`zappa invoke dev <this>` after deploys)."""
    from django.conf import settings

    from ops import aws

    table = aws.table_describe(settings.TASKS_TABLE)
    return {"stage": settings.STAGE, "table": settings.TASKS_TABLE,
            "table_status": table["TableStatus"] if table else "MISSING"}
