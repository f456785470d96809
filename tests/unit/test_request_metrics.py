"""The access line: one JSON line per request carrying valid EMF metrics and the AWS request and trace ids."""
import json
from types import SimpleNamespace

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from taskapi.lambda_function import handler
from taskapi.metrics import request_metrics
from tests import lambda_events as events
from tests.emf import emf_problems

HOST = events.REST_API_HOST
TRACE = "Root=1-67891233-abcdef012345678912345678;Parent=463ac35c9f6413ad;Sampled=1"


@pytest.fixture
def access_lines(log_lines):
    """The lines taskapi.requests writes, formatted exactly as the stdout handler of settings.LOGGING does."""
    return lambda: [line for line in log_lines() if line["logger"] == "taskapi.requests"]


# The Lambda context object cannot come from a real Lambda here; this has the attributes the runtime's has.
LAMBDA_CONTEXT = SimpleNamespace(aws_request_id="3e1b6a2f-1111-4c4c-8b8b-0123456789ab", function_name="taskapi-dev",
                                 memory_limit_in_mb=512, get_remaining_time_in_millis=lambda: 29000)


def test_on_lambda_the_access_line_carries_the_api_gateway_lambda_and_xray_ids(table, access_lines):
    create = events.rest_v1("POST", "/tasks", body={"title": "Trace me"}, headers={"X-Amzn-Trace-Id": TRACE})
    with override_settings(ALLOWED_HOSTS=[HOST]):
        created = handler(create, LAMBDA_CONTEXT)
        task_id = json.loads(events.response_body(created))["taskId"]
        fetch = events.rest_v1("GET", f"/tasks/{task_id}", headers={"X-Amzn-Trace-Id": TRACE})
        fetched = handler(fetch, LAMBDA_CONTEXT)
    assert (created["statusCode"], fetched["statusCode"]) == (201, 200)
    lines = access_lines()
    assert [(line["route"], line["status"]) for line in lines] == [("POST /tasks", 201), ("GET /tasks/{taskId}", 200)]
    for line, event, response in zip(lines, (create, fetch), (created, fetched), strict=True):
        assert line["apigw_request_id"] == event["requestContext"]["requestId"]
        assert line["lambda_request_id"] == "3e1b6a2f-1111-4c4c-8b8b-0123456789ab"
        assert line["xray_trace_id"] == "1-67891233-abcdef012345678912345678"
        assert line["request_id"] == response["multiValueHeaders"]["X-Request-ID"][0]


def test_the_trace_id_comes_from_the_lambda_runtime_when_the_header_is_absent(table, access_lines, monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    event = events.rest_v1("GET", "/tasks")
    del event["headers"]["X-Amzn-Trace-Id"], event["multiValueHeaders"]["X-Amzn-Trace-Id"]
    with override_settings(ALLOWED_HOSTS=[HOST]):
        assert handler(event, LAMBDA_CONTEXT)["statusCode"] == 200
    assert access_lines()[0]["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"


def test_off_lambda_the_line_has_only_the_request_id_and_a_malformed_trace_header_is_ignored(table, access_lines):
    APIClient().get("/tasks", HTTP_X_AMZN_TRACE_ID='Root="><script>', HTTP_X_REQUEST_ID="abc-123")
    line = access_lines()[0]
    assert line["request_id"] == "abc-123"
    assert not {"apigw_request_id", "lambda_request_id", "xray_trace_id"} & set(line)


def test_the_access_line_is_valid_emf_with_the_metrics_of_that_request(table, access_lines):
    client = APIClient()
    created = client.post("/tasks", {"title": "Measure me"}, format="json")
    client.get(f"/tasks/{created.json()['taskId']}")
    client.post("/tasks", {"title": ""}, format="json")
    lines = access_lines()
    assert [emf_problems(line) for line in lines] == [[], [], []]
    assert lines[0]["_aws"]["CloudWatchMetrics"] == [{
        "Namespace": "TaskApi",
        "Dimensions": [["Stage", "Endpoint"]],
        "Metrics": [{"Name": "RequestCount", "Unit": "Count"}, {"Name": "4xx", "Unit": "Count"},
                    {"Name": "5xx", "Unit": "Count"}, {"Name": "LatencyMs", "Unit": "Milliseconds"}],
    }]
    metrics = [{key: line[key] for key in ("Stage", "Endpoint", "RequestCount", "4xx", "5xx")} for line in lines]
    assert metrics == [
        {"Stage": "test", "Endpoint": "POST /tasks", "RequestCount": 1, "4xx": 0, "5xx": 0},
        {"Stage": "test", "Endpoint": "GET /tasks/{taskId}", "RequestCount": 1, "4xx": 0, "5xx": 0},
        {"Stage": "test", "Endpoint": "POST /tasks", "RequestCount": 1, "4xx": 1, "5xx": 0},
    ]
    for line in lines:
        assert line["LatencyMs"] == line["duration_ms"] > 0
        assert abs(line["_aws"]["Timestamp"] - _epoch_ms(line["time"])) < 60_000


def _epoch_ms(rfc3339: str) -> int:
    from datetime import datetime

    return int(datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)


def test_server_errors_count_as_5xx_and_not_4xx():
    fields = request_metrics(stage="dev", endpoint="GET /tasks", status=503, latency_ms=12.5, timestamp_ms=1)
    assert (fields["4xx"], fields["5xx"], fields["RequestCount"], fields["LatencyMs"]) == (0, 1, 1, 12.5)
    assert emf_problems(fields) == []


def test_the_checker_rejects_lines_that_are_not_emf():
    valid = request_metrics(stage="dev", endpoint="GET /tasks", status=200, latency_ms=1.0, timestamp_ms=1)
    assert emf_problems({"message": "request"}) == ["no _aws object"]
    assert emf_problems({**valid, "LatencyMs": "fast"}) == ["metric 'LatencyMs' has no numeric value at the top level"]
    assert emf_problems({k: v for k, v in valid.items() if k != "Endpoint"}) == [
        "dimension 'Endpoint' has no string value at the top level"]
