"""The app's per-request CloudWatch metrics, as Embedded Metric Format fields of the access log line."""
NAMESPACE = "TaskApi"
DIMENSIONS = ("Stage", "Endpoint")
UNITS = {"RequestCount": "Count", "4xx": "Count", "5xx": "Count", "LatencyMs": "Milliseconds"}
# The same for every request, so built once.
_DIRECTIVES = [{
    "Namespace": NAMESPACE,
    "Dimensions": [list(DIMENSIONS)],
    "Metrics": [{"Name": name, "Unit": unit} for name, unit in UNITS.items()],
}]


def request_metrics(*, stage: str, endpoint: str, status: int, latency_ms: float, timestamp_ms: int) -> dict:
    """Returns the EMF members for one request: CloudWatch Logs turns them into metrics, no API call needed.

    The `_aws` block declares the metrics and dimensions; each of them is a member of the same line.
    """
    return {
        "_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": _DIRECTIVES},
        "Stage": stage,
        "Endpoint": endpoint,
        "RequestCount": 1,
        "4xx": int(400 <= status < 500),
        "5xx": int(status >= 500),
        "LatencyMs": latency_ms,
    }
