"""The desired API Gateway layer of a stage as plain data: stage settings, gateway responses, usage plans."""
import json
from dataclasses import dataclass
from http import HTTPStatus

from ops.specs import LOG_RETENTION_DAYS, LogGroupSpec
from ops.stages import Stage, stage_environment

# Stage-wide throttling (requests per second, burst) per stage; other stages get the default. Sized under the
# function's reserved concurrency (dev 10, prod 100) at ~50 ms a request, so the gateway refuses first.
THROTTLING = {"prod": (500.0, 1000)}
DEFAULT_THROTTLING = (50.0, 100)
# Execution logs: ERROR keeps only failures (INFO logs every request's full trace and costs more).
EXECUTION_LOG_LEVEL = {"prod": "ERROR"}
DEFAULT_EXECUTION_LOG_LEVEL = "INFO"

# One JSON object per request. API Gateway requires $context.requestId (or extendedRequestId) in the format.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTimeEpoch",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "caller": "$context.identity.caller",
    "userArn": "$context.identity.userArn",
    "cognitoSub": "$context.authorizer.claims.sub",
    "apiKeyId": "$context.identity.apiKeyId",
    "httpMethod": "$context.httpMethod",
    "path": "$context.path",
    "resourcePath": "$context.resourcePath",
    "protocol": "$context.protocol",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integration.latency",
    "integrationStatus": "$context.integration.status",
    "integrationError": "$context.integration.error",
    "errorType": "$context.error.responseType",
    "errorMessage": "$context.error.message",
    "xrayTraceId": "$context.xrayTraceId",
}


@dataclass(frozen=True)
class StageSettingsSpec:
    """What setup_gateway sets on the REST API's stage (UpdateStage patch paths as GetStage shows them)."""

    rate_limit: float
    burst_limit: int
    log_level: str
    access_log_arn: str
    tracing: bool = True

    @property
    def access_log_format(self) -> str:
        return json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":"))


def stage_settings(stage: Stage, *, access_log_arn: str) -> StageSettingsSpec:
    """Returns the stage's desired throttling, execution logging, X-Ray and access logging."""
    rate, burst = THROTTLING.get(stage.name, DEFAULT_THROTTLING)
    level = EXECUTION_LOG_LEVEL.get(stage.name, DEFAULT_EXECUTION_LOG_LEVEL)
    return StageSettingsSpec(rate_limit=rate, burst_limit=burst, log_level=level, access_log_arn=access_log_arn)


def access_log_group(stage: Stage) -> LogGroupSpec:
    """Returns the access log group, kept as long as the stage's other logs."""
    return LogGroupSpec(f"/aws/apigateway/{stage.api_name}/{stage.name}/access", LOG_RETENTION_DAYS)


# Gateway responses: API Gateway's own errors (before or instead of the function) as RFC 9457 problems.
# A fixed status where the type has one; DEFAULT_4XX/5XX keep the status of the error they stand for.
GATEWAY_RESPONSES = {
    "THROTTLED": 429,
    "QUOTA_EXCEEDED": 429,
    "INVALID_API_KEY": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,  # nosec B105 - an API Gateway response type and its status, not a secret
    "UNAUTHORIZED": 401,
    "ACCESS_DENIED": 403,
    "EXPIRED_TOKEN": 403,  # nosec B105 - an API Gateway response type and its status, not a secret
    "INVALID_SIGNATURE": 403,
    "AUTHORIZER_FAILURE": 500,
    "REQUEST_TOO_LARGE": 413,
    "INTEGRATION_TIMEOUT": 504,
    "INTEGRATION_FAILURE": 504,
    "DEFAULT_4XX": None,
    "DEFAULT_5XX": None,
}
DEFAULT_TITLES = {"DEFAULT_4XX": "Request refused by the API gateway", "DEFAULT_5XX": "API gateway error"}


def gateway_response_template(response_type: str, status: int | None) -> str:
    """Returns the mapping template (VTL) of one gateway response: a problem document.

    $context.error.messageString is the gateway's message already quoted as a JSON string.
    """
    title = HTTPStatus(status).phrase if status else DEFAULT_TITLES[response_type]
    members = [
        '"type":"about:blank"',
        f'"title":{json.dumps(title)}',
        *([f'"status":{status}'] if status else []),
        '"detail":$context.error.messageString',
        '"code":"$context.error.responseType"',
        '"requestId":"$context.requestId"',
    ]
    return "{" + ",".join(members) + "}"


def cors_origin(stage: Stage) -> str | None:
    """Returns the Access-Control-Allow-Origin value gateway errors carry, as the app would answer it.

    A gateway response header is static: with several allowed origins none can be chosen per request.
    """
    environment = stage_environment(stage.name)
    origins = [origin for origin in environment.get("CORS_ALLOWED_ORIGINS", "").split(",") if origin.strip()]
    if len(origins) == 1:
        return origins[0].strip()
    if not origins and environment.get("STAGE", stage.name) == "dev":
        return "*"  # the app allows every origin on dev
    return None


def gateway_responses(stage: Stage) -> list[dict]:
    """Returns the PutGatewayResponse arguments (without restApiId) of every managed response type."""
    origin = cors_origin(stage)
    headers = {"gatewayresponse.header.Content-Type": "'application/problem+json'"}
    if origin:
        headers["gatewayresponse.header.Access-Control-Allow-Origin"] = f"'{origin}'"
        if origin != "*":
            headers["gatewayresponse.header.Vary"] = "'Origin'"
    requests = []
    for response_type, status in GATEWAY_RESPONSES.items():
        request = {"responseType": response_type, "responseParameters": dict(headers),
                   "responseTemplates": {"application/json": gateway_response_template(response_type, status)}}
        if status:
            request["statusCode"] = str(status)
        requests.append(request)
    return requests


# Usage plans and API keys, named and tagged after the stage so several stages share an account safely.
STAGE_TAG = "taskapi:stage"
CLIENT_TAG = "taskapi:client"
PERIODS = ("DAY", "WEEK", "MONTH")


def usage_plan_name(stage: Stage, name: str) -> str:
    return f"{stage.api_name}-{name}"


def api_key_name(stage: Stage, client: str) -> str:
    return f"{stage.api_name}-{client}"


@dataclass(frozen=True)
class UsagePlanSpec:
    name: str
    rate_limit: float
    burst_limit: int
    quota_limit: int | None = None
    quota_period: str | None = None


def operator_policy(stage: Stage, *, account: str = "*") -> dict:
    """Returns the IAM policy an operator (or the deploy role) needs to run the gateway commands on this stage.

    API Gateway authorises by HTTP verb on resource paths; REST API ids are unknown before the deploy, so APIs
    are `*` but stages are this stage's, and logs are this stage's access log group. Usage plans and keys are
    account-wide resources in API Gateway (no per-stage path exists).
    """
    region = stage.region
    api = f"arn:aws:apigateway:{region}::"
    group = access_log_group(stage).name
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadTheStagesApi", "Effect": "Allow", "Action": "apigateway:GET", "Resource": [
            f"{api}/restapis", f"{api}/restapis/*/stages/{stage.name}", f"{api}/restapis/*/gatewayresponses",
            f"{api}/usageplans", f"{api}/usageplans/*", f"{api}/usageplans/*/usage", f"{api}/apikeys"]},
        {"Sid": "StageSettings", "Effect": "Allow", "Action": "apigateway:PATCH",
         "Resource": f"{api}/restapis/*/stages/{stage.name}"},
        {"Sid": "GatewayResponses", "Effect": "Allow", "Action": ["apigateway:PUT", "apigateway:DELETE"],
         "Resource": f"{api}/restapis/*/gatewayresponses/*"},
        {"Sid": "UsagePlansAndKeys", "Effect": "Allow", "Action": ["apigateway:POST", "apigateway:PATCH"],
         "Resource": [f"{api}/usageplans", f"{api}/usageplans/*", f"{api}/usageplans/*/keys", f"{api}/apikeys",
                      f"{api}/apikeys/*", f"{api}/tags/*"]},
        {"Sid": "AccessLogGroup", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy"],
         "Resource": f"arn:aws:logs:{region}:{account}:log-group:{group}:*"},
        # DescribeLogGroups cannot be limited to a group: IAM only grants it on "*".
        {"Sid": "FindTheAccessLogGroup", "Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
    ]}
