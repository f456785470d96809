"""List cost at scale: one 20-task page, newest first, with and without a status filter."""
import json
from collections.abc import Callable

from bench.dynamo import CapacityMeter
from bench.lambda_runtime import LambdaContext
from bench.warm import Timer
from bench.events import response_body, rest_v1

LISTINGS = {"all": "/tasks", "status": "/tasks?status=pending"}


def list_cost(*, handler: Callable, meter: CapacityMeter, pages: int, warmup: int = 10) -> dict:
    """Serves each listing's first page `pages` times through `handler`; returns latency and read units per page."""
    result = {}
    for name, target in LISTINGS.items():
        event = rest_v1("GET", target)
        timer, scratch = Timer(meter), Timer(meter)
        for round_number in range(warmup + pages):
            response = (timer if round_number >= warmup else scratch)(handler, event, LambdaContext())
            if response["statusCode"] != 200 or len(json.loads(response_body(response))["results"]) != 20:
                raise RuntimeError(f"GET {target} did not answer a full page: {response_body(response)[:300]!r}")
        meter.reset()
        handler(event, LambdaContext())
        units, calls = meter.read()
        result[name] = {**timer.summary(), "queries": calls, "read_units": units}
    return result
