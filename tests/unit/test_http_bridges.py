"""The test bridges that put the app under a stage: their events and their answers are what API Gateway's are."""
import base64
import json
import re

import pytest
import requests
from apig_wsgi import make_lambda_handler

from tests.http_bridges import ApiGatewayRestBridge, WsgiStageBridge, lambda_context, rest_api_event


def _echo_environ(environ, start_response):
    body = environ["wsgi.input"].read()
    keys = ("PATH_INFO", "QUERY_STRING", "REQUEST_METHOD", "CONTENT_TYPE", "HTTP_ACCEPT", "SERVER_NAME")
    echo = {key: environ.get(key) for key in keys}
    echo["body"] = body.decode()
    echo["stage"] = environ["apig_wsgi.request_context"]["stage"]
    echo["client_path"] = environ["apig_wsgi.request_context"]["path"]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(echo).encode()]


def test_rest_api_event_is_read_by_apig_wsgi_like_api_gateways_own():
    event = rest_api_event(method="POST", stage_path="/tasks", stage="dev", query="tag=a%20b&tag=c&empty=",
                           headers=[("Host", "abc.execute-api.us-east-1.amazonaws.com"), ("Accept", "text/html"),
                                    ("Content-Type", "application/json")], body=b'{"title": "x"}')

    result = make_lambda_handler(_echo_environ, binary_support=True)(event, lambda_context())

    assert (result["statusCode"], result["isBase64Encoded"]) == (200, False)
    assert json.loads(result["body"]) == {
        "PATH_INFO": "/tasks", "QUERY_STRING": "tag=a+b&tag=c&empty=", "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "application/json", "HTTP_ACCEPT": "text/html",
        "SERVER_NAME": "abc.execute-api.us-east-1.amazonaws.com", "body": '{"title": "x"}',
        "stage": "dev", "client_path": "/dev/tasks",
    }
    assert event["multiValueQueryStringParameters"] == {"tag": ["a b", "c"], "empty": [""]}
    assert event["queryStringParameters"] == {"tag": "c", "empty": ""}


def test_api_gateway_bridge_turns_requests_into_events_and_results_into_responses():
    def handler(event, context):
        assert context.aws_request_id
        return {"statusCode": 201, "isBase64Encoded": True, "body": base64.b64encode(b"\x00made").decode(),
                "multiValueHeaders": {"Content-Type": ["application/octet-stream"], "X-Twice": ["1", "2"]}}

    bridge = ApiGatewayRestBridge(handler)
    try:
        response = requests.put(f"{bridge.url}/tasks/1?x=1", data=b"payload", timeout=10)
        outside = requests.get(f"{bridge.origin}/tasks", timeout=10)
    finally:
        bridge.stop()

    assert response.status_code == 201
    assert response.content == b"\x00made"
    assert response.raw.headers.getlist("X-Twice") == ["1", "2"]
    assert outside.status_code == 403 and outside.json() == {"message": "Forbidden"}
    [event] = bridge.events
    assert (event["httpMethod"], event["path"], event["requestContext"]["path"]) == ("PUT", "/tasks/1", "/dev/tasks/1")
    assert base64.b64decode(event["body"]) == b"payload" and event["isBase64Encoded"] is True
    assert event["queryStringParameters"] == {"x": "1"}


@pytest.fixture
def stage():
    from taskapi.wsgi import application

    bridge = WsgiStageBridge(application)
    yield bridge
    bridge.stop()


def test_app_under_the_stage_bridge_links_and_serves_everything_under_dev(stage, table):
    root = requests.get(f"{stage.url}/", timeout=10)
    created = requests.post(f"{stage.url}/tasks", json={"title": "Staged"}, timeout=10)
    docs = requests.get(f"{stage.url}/docs", timeout=10).text
    schema = requests.get(f"{stage.url}/openapi.json", timeout=10).json()
    outside = requests.get(f"{stage.origin}/tasks", timeout=10)

    assert root.json() == {"tasks": f"{stage.url}/tasks", "docs": f"{stage.url}/docs",
                           "openapi": f"{stage.url}/openapi.json"}
    assert created.status_code == 201
    assert re.fullmatch(rf"{re.escape(stage.url)}/tasks/[0-9a-f-]{{36}}", created.headers["Location"])
    bundle = re.search(r'src="([^"]*swagger-ui-bundle\.js)"', docs)[1]
    assert bundle == "/dev/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    assert requests.get(stage.origin + bundle, timeout=10).status_code == 200
    assert schema["servers"] == [{"url": "/dev"}]
    assert outside.status_code == 403
