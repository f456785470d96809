"""Cost per million mixed requests, from the measured warm durations and capacity units."""
import math

# Public on-demand prices, us-east-1, as published on the AWS pricing pages (checked for late 2024;
# DynamoDB on-demand was halved from 2024-11-01). Edit here when they change.
PRICES = {
    "lambda_gb_second": 0.0000166667,  # Lambda x86, per GB-second (first 6 billion GB-s a month)
    "lambda_request": 0.20 / 1e6,  # Lambda, per request
    "dynamodb_read_unit": 0.125 / 1e6,  # DynamoDB on-demand, per read request unit
    "dynamodb_write_unit": 0.625 / 1e6,  # DynamoDB on-demand, per write request unit
    "api_gateway_rest_request": 3.50 / 1e6,  # API Gateway REST API, per request (first 333 million a month)
}
MEMORY_GB = 512 / 1024
# Lambda gives a function CPU in proportion to memory: one full vCPU at 1,769 MB.
CPU_SHARE_512 = 512 / 1769
# What a million requests do: mostly reads, as task lists are read far more than they are written.
MIX = {"get": 0.60, "list": 0.20, "create": 0.10, "update": 0.07, "delete": 0.03}
READS = {"get", "list"}


def cost_per_million(warm: dict) -> dict:
    """Returns the cost in USD of one million requests in MIX, by line item, from warm_latency's results.

    Duration is billed per started millisecond. `lambda_duration` uses the durations measured here (a
    whole core); `lambda_duration_512mb` stretches the measured CPU time to 512 MB's share of a core.
    """
    lines = dict.fromkeys(("lambda_requests", "lambda_duration", "lambda_duration_512mb", "dynamodb_reads",
                           "dynamodb_writes", "api_gateway"), 0.0)
    framework_ms = 0.0
    for operation, share in MIX.items():
        measured = warm[operation]["handler"]
        requests = share * 1e6
        stretched = measured["mean"] + measured["cpu_mean"] * (1 / CPU_SHARE_512 - 1)
        lines["lambda_requests"] += requests * PRICES["lambda_request"]
        lines["lambda_duration"] += (requests * math.ceil(measured["mean"]) / 1000 * MEMORY_GB
                                     * PRICES["lambda_gb_second"])
        lines["lambda_duration_512mb"] += (requests * math.ceil(stretched) / 1000 * MEMORY_GB
                                           * PRICES["lambda_gb_second"])
        unit_price = PRICES["dynamodb_read_unit"] if operation in READS else PRICES["dynamodb_write_unit"]
        lines["dynamodb_reads" if operation in READS else "dynamodb_writes"] += (
            requests * measured["capacity_units"] * unit_price)
        lines["api_gateway"] += requests * PRICES["api_gateway_rest_request"]
        framework_ms += share * (measured["mean"] - warm[operation]["raw"]["mean"])
    lines["total"] = sum(value for key, value in lines.items() if key != "lambda_duration_512mb")
    lines["total_512mb"] = lines["total"] - lines["lambda_duration"] + lines["lambda_duration_512mb"]
    lines["framework_ms_per_request"] = framework_ms
    return lines
