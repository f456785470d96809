"""Real-shaped Lambda events: API Gateway REST (v1) and HTTP API (v2), ALB, function URLs, and Zappa's own."""
import base64
import json
import uuid
from urllib.parse import parse_qsl, urlsplit

ACCOUNT = "123456789012"
REGION = "us-east-1"
REST_API_HOST = f"a1b2c3d4e5.execute-api.{REGION}.amazonaws.com"
HTTP_API_HOST = f"f6g7h8i9j0.execute-api.{REGION}.amazonaws.com"
FUNCTION_URL_HOST = f"k2lm3no4pq5rs6tu7vw8xy9z0a.lambda-url.{REGION}.on.aws"
ALB_HOST = f"taskapi-alb-1234567890.{REGION}.elb.amazonaws.com"
USER_AGENT = "curl/8.5.0"
SOURCE_IP = "203.0.113.7"


def _body(body, base64_encoded: bool) -> tuple[str | None, bool, dict[str, str]]:
    if body is None:
        return None, False, {}
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Content-Length": str(len(raw))}
    if base64_encoded:
        return base64.b64encode(raw).decode(), True, headers
    return raw.decode(), False, headers


def _lowercase_headers(host: str, body_headers: dict[str, str], headers: dict[str, str] | None) -> dict[str, str]:
    """The headers HTTP API and ALB events carry (lower-cased names), with the body's and the caller's own."""
    return {
        "accept": "application/json",
        "host": host,
        "user-agent": USER_AGENT,
        "x-amzn-trace-id": "Root=1-67a1b2c3-0123456789abcdef01234567",
        "x-forwarded-for": SOURCE_IP,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        **{name.lower(): value for name, value in body_headers.items()},
        **{name.lower(): value for name, value in (headers or {}).items()},
    }


def _split(target: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(target)
    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(name, []).append(value)
    return parts.path or "/", query


def rest_v1(method: str, target: str, *, stage: str = "dev", host: str = REST_API_HOST, base_path: str = "",
            body=None, headers: dict[str, str] | None = None, base64_encoded: bool = False) -> dict:
    """An API Gateway REST API proxy event (payload 1.0) for `{proxy+}`.

    `target` is the path after the stage (or after `base_path` on a custom domain; pass stage="" there);
    API Gateway strips the stage from `path` but keeps the client's full path in requestContext.path.
    """
    path, query = _split(target)
    text, encoded, body_headers = _body(body, base64_encoded)
    all_headers = {
        "Accept": "application/json",
        "CloudFront-Forwarded-Proto": "https",
        "CloudFront-Viewer-Country": "DE",
        "Host": host,
        "User-Agent": USER_AGENT,
        "Via": "2.0 8f2ee1e2b1c7f0e4d3c2b1a0f9e8d7c6.cloudfront.net (CloudFront)",
        "X-Amz-Cf-Id": "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2Yz3Ab4Cd5Ef6Gh7Ij==",
        "X-Amzn-Trace-Id": "Root=1-67a1b2c3-0123456789abcdef01234567",
        "X-Forwarded-For": f"{SOURCE_IP}, 130.176.1.10",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        **body_headers,
        **(headers or {}),
    }
    prefix = f"/{stage}" if stage else base_path
    request_id = str(uuid.uuid4())
    return {
        "resource": "/{proxy+}" if path != "/" else "/",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": path.lstrip("/")} if path != "/" else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": "/{proxy+}" if path != "/" else "/",
            "httpMethod": method,
            "extendedRequestId": "Xyz12AbCdEFg=",
            "requestTime": "25/Nov/2026:08:00:00 +0000",
            "path": f"{prefix}{path}" if path != "/" else f"{prefix}/",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": stage or "dev",
            "domainPrefix": host.split(".")[0],
            "requestTimeEpoch": 1795939200000,
            "requestId": request_id,
            "identity": {"sourceIp": SOURCE_IP, "userAgent": USER_AGENT, "accountId": None, "user": None},
            "domainName": host,
            "apiId": "a1b2c3d4e5",
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def http_v2(method: str, target: str, *, stage: str = "$default", host: str = HTTP_API_HOST,
            body=None, headers: dict[str, str] | None = None, api_id: str = "f6g7h8i9j0") -> dict:
    """An HTTP API event (payload 2.0); a named stage is part of rawPath, as API Gateway sends it.

    Bodies arrive base64-encoded, as API Gateway does for HTTP APIs whenever it is unsure they are text.
    """
    path, _ = _split(target)
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    query = urlsplit(target).query
    text, encoded, body_headers = _body(body, True)
    all_headers = _lowercase_headers(host, body_headers, headers)
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": all_headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": api_id,
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": SOURCE_IP,
                     "userAgent": USER_AGENT},
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": stage,
            "time": "25/Nov/2026:08:00:00 +0000",
            "timeEpoch": 1795939200000,
        },
        "isBase64Encoded": encoded,
    }
    if query:
        event["queryStringParameters"] = {name: ",".join(values) for name, values in _split(target)[1].items()}
    if text is not None:
        event["body"] = text
    return event


def function_url(method: str, target: str, *, body=None, headers: dict[str, str] | None = None) -> dict:
    """A Lambda function URL event: payload 2.0 on the `$default` stage, host `<id>.lambda-url.<region>.on.aws`."""
    return http_v2(method, target, host=FUNCTION_URL_HOST, body=body, headers=headers,
                   api_id=FUNCTION_URL_HOST.split(".")[0])


def alb(method: str, target: str, *, body=None, headers: dict[str, str] | None = None,
        multi_value: bool = False) -> dict:
    """An Application Load Balancer event; multi_value as when the target group enables multi-value headers."""
    path, query = _split(target)
    text, encoded, body_headers = _body(body, False)
    all_headers = _lowercase_headers(ALB_HOST, body_headers, headers)
    event = {
        "requestContext": {"elb": {"targetGroupArn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:"
                                                      "targetgroup/taskapi/73e2d6bc24d8a067"}},
        "httpMethod": method,
        "path": path,
        "body": text or "",
        "isBase64Encoded": encoded,
    }
    if multi_value:
        event["multiValueHeaders"] = {name: [value] for name, value in all_headers.items()}
        event["multiValueQueryStringParameters"] = query
    else:
        event["headers"] = all_headers
        event["queryStringParameters"] = {name: values[-1] for name, values in query.items()}
    return event


def keep_warm(function_name: str = "taskapi-dev") -> dict:
    """The scheduled event of Zappa's keep-warm rule, with the input template Zappa puts on its target."""
    return scheduled(f"{function_name}-zappa-keep-warm-handler.keep_warm_callback")


def scheduled(rule_name: str) -> dict:
    """A CloudWatch Events (EventBridge) scheduled event of the rule `rule_name`, as Zappa's target shapes it."""
    return {
        "time": "2026-11-25T08:00:00Z",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "region": REGION,
        "detail": {},
        "version": "0",
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule_name}"],
        "id": "0b2c4d6e-8f01-2345-6789-abcdef012345",
        "kwargs": {},
    }


def response_body(response: dict) -> bytes:
    """Returns the decoded body of a handler response."""
    body = response.get("body") or ""
    return base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()


def response_headers(response: dict) -> dict[str, str]:
    """Returns the response headers, lower-cased, whether single- or multi-value."""
    if "multiValueHeaders" in response:
        return {name.lower(): ",".join(values) for name, values in response["multiValueHeaders"].items()}
    return {name.lower(): value for name, value in response.get("headers", {}).items()}
