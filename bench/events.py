"""Real-shaped API Gateway REST API proxy events (payload 1.0), as a `{proxy+}` resource on stage dev sends them."""
import base64
import json
import uuid
from urllib.parse import parse_qsl, urlsplit

from bench.lambda_runtime import HOST

STAGE = "dev"


def rest_v1(method: str, target: str, *, body=None) -> dict:
    """Returns the event for `method target` (path and query after the stage), with a JSON body if given."""
    parts = urlsplit(target)
    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(name, []).append(value)
    text = None if body is None else json.dumps(body)
    headers = {
        "Accept": "application/json",
        "CloudFront-Forwarded-Proto": "https",
        "Host": HOST,
        "User-Agent": "curl/8.5.0",
        "Via": "2.0 8f2ee1e2b1c7f0e4d3c2b1a0f9e8d7c6.cloudfront.net (CloudFront)",
        "X-Amz-Cf-Id": "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2Yz3Ab4Cd5Ef6Gh7Ij==",
        "X-Amzn-Trace-Id": "Root=1-67a1b2c3-0123456789abcdef01234567",
        "X-Forwarded-For": "203.0.113.7, 130.176.1.10",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if text is not None:
        headers |= {"Content-Type": "application/json", "Content-Length": str(len(text.encode()))}
    return {
        "resource": "/{proxy+}",
        "path": parts.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": parts.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "requestTime": "25/Nov/2026:08:00:00 +0000",
            "path": f"/{STAGE}{parts.path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": STAGE,
            "domainPrefix": HOST.split(".")[0],
            "requestTimeEpoch": 1795939200000,
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0"},
            "domainName": HOST,
            "apiId": HOST.split(".")[0],
        },
        "body": text,
        "isBase64Encoded": False,
    }


def response_body(response: dict) -> bytes:
    """Returns the decoded body of a handler's response."""
    body = response.get("body") or ""
    return base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
