"""Point-in-time restore of a stage's tasks table into a new table, made whole again and verified."""
import time
from dataclasses import dataclass, field
from datetime import datetime

from ops import aws
from ops.specs import TableSpec

# A point-in-time restore carries the key schema, indexes, billing mode and items; AWS documents that
# TTL, streams, PITR, tags, auto scaling, alarms and IAM policies must be set again on the new table.
REAPPLIED = ("time to live", "stream", "point-in-time recovery", "tags")


@dataclass
class RestoreReport:
    source: str
    target: str
    to_time: datetime
    steps: list[tuple[str, float, str]] = field(default_factory=list)  # (step, seconds, outcome)
    source_count: int | None = None
    target_count: int = 0
    indexes: list[str] = field(default_factory=list)
    missing_indexes: list[str] = field(default_factory=list)


def _timed(report: RestoreReport, step: str, action) -> None:
    started = time.monotonic()
    outcome = action() or "done"
    report.steps.append((step, time.monotonic() - started, outcome))


def restore_name(source: str, to_time: datetime) -> str:
    """Returns the default name of the restored table: the source's, suffixed with the restore time."""
    return f"{source}-restored-{to_time.strftime('%Y%m%dT%H%M%SZ')}"


def table_restore(*, source: str, target: str, to_time: datetime, timeout: float = 3600,
                  live_items_count: bool = True) -> RestoreReport:
    """Restores `source` as of `to_time` into `target`, re-applies what a restore drops, and verifies it.

    Returns the report with each step's duration. Raises aws.AwsUnavailable, aws.Unsupported or ClientError.
    """
    described = aws.table_describe(source)
    report = RestoreReport(source=source, target=target, to_time=to_time)
    desired = TableSpec(name=target).create_request()
    sse = desired["SSESpecification"]
    _timed(report, "restore", lambda: aws.table_restore_to_time(source=source, target=target, when=to_time, sse=sse))
    _timed(report, "wait until ACTIVE", lambda: aws.table_wait_active(target, timeout=timeout))

    def ttl() -> str:
        try:
            attribute = aws.table_ttl_attribute(source)
        except aws.Unsupported:
            return "skipped (endpoint has no TTL)"
        if attribute is None:
            return "source has none"
        aws.table_ttl_enable(target, attribute)
        return f"on {attribute}"

    def stream() -> str:
        view = (described.get("StreamSpecification") or desired["StreamSpecification"]).get("StreamViewType")
        current = aws.table_describe(target).get("StreamSpecification") or {}
        if current.get("StreamEnabled"):
            return f"already {current.get('StreamViewType')}"
        aws.table_streams_enable(target, view)
        aws.table_wait_active(target, timeout=timeout)
        return view

    def pitr() -> str:
        aws.table_pitr_enable(target)
        return "enabled"

    def tags() -> str:
        wanted = aws.table_tags(described["TableArn"]) or desired["Tags"]
        aws.table_tag(aws.table_describe(target)["TableArn"], wanted)
        return ", ".join(f"{tag['Key']}={tag['Value']}" for tag in wanted)

    for step, action in zip(REAPPLIED, (ttl, stream, pitr, tags), strict=True):
        _timed(report, step, action)

    def verify() -> str:
        restored = aws.table_describe(target)
        report.indexes = sorted(index["IndexName"] for index in restored.get("GlobalSecondaryIndexes", []))
        wanted = {index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])}
        report.missing_indexes = sorted(wanted - set(report.indexes))
        report.target_count = aws.table_count(target)
        if live_items_count:
            report.source_count = aws.table_count(source)
        return f"{report.target_count} items, indexes {', '.join(report.indexes) or 'none'}"

    _timed(report, "verify", verify)
    return report


def cutover_steps(*, stage: str, target: str) -> list[str]:
    """Returns what the operator does to serve the stage from the restored table."""
    return [
        f"1. In zappa_settings.json, set {stage}.aws_environment_variables.TASKS_TABLE to {target!r} "
        f"(and IDEMPOTENCY_TABLE stays as it is).",
        f"2. zappa update {stage}   # the function now reads and writes {target}",
        f"3. python manage.py setup_monitoring --stage {stage}   # alarms and dashboard follow the new table",
        f"4. zappa manage {stage} \"create_table --rebuild-tag-index\"   # the restored tasks' tag slots "
        f"(issue 18); until it completes, ?tag= lists by filter",
        f"5. Smoke-test: GET /tasks?limit=1 on the stage; then keep the old table until you are sure "
        f"(it is the evidence), and delete it later with PITR's 35-day window in mind.",
    ]
