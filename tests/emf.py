"""A checker for CloudWatch Embedded Metric Format log lines, written from AWS's published specification."""
import numbers

UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}


def emf_problems(line: dict) -> list[str]:
    """Returns why `line` is not a valid EMF document (empty when it is)."""
    problems = []
    aws = line.get("_aws")
    if not isinstance(aws, dict):
        return ["no _aws object"]
    if not isinstance(aws.get("Timestamp"), int) or aws["Timestamp"] <= 0:
        problems.append("_aws.Timestamp is not epoch milliseconds")
    directives = aws.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return problems + ["_aws.CloudWatchMetrics is not a non-empty list"]
    for directive in directives:
        namespace = directive.get("Namespace")
        if not isinstance(namespace, str) or not 1 <= len(namespace) <= 1024:
            problems.append(f"bad Namespace {namespace!r}")
        for dimension_set in directive.get("Dimensions", []):
            if not isinstance(dimension_set, list) or len(dimension_set) > 30:
                problems.append(f"bad DimensionSet {dimension_set!r}")
                continue
            for name in dimension_set:
                if not isinstance(line.get(name), str) or not line[name]:
                    problems.append(f"dimension {name!r} has no string value at the top level")
        metrics = directive.get("Metrics")
        if not isinstance(metrics, list) or not 1 <= len(metrics) <= 100:
            problems.append("Metrics is not a list of 1-100 definitions")
            continue
        for metric in metrics:
            name = metric.get("Name")
            if not isinstance(name, str) or not name:
                problems.append(f"metric without a Name: {metric!r}")
                continue
            if "Unit" in metric and metric["Unit"] not in UNITS:
                problems.append(f"metric {name!r} has unknown unit {metric['Unit']!r}")
            value = line.get(name)
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
                problems.append(f"metric {name!r} has no numeric value at the top level")
    return problems
