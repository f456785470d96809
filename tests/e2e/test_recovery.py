"""Issue 16 recovery against the session's endpoint (moto, DynamoDB Local, or AWS_ENDPOINT_URL such as LocalStack):
restore_table into a new table, export_tasks/import_tasks between tables, resumed after an interruption."""
import io
import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from ops import aws, transfer
from ops.specs import TableSpec
from tests.capabilities import needs
from tests.harness import dynamodb, table_items

pytestmark = pytest.mark.e2e


def _table(name: str) -> str:
    request = TableSpec(name=name).create_request()
    aws.table_create(request)
    return name


@pytest.fixture
def tables():
    made = []

    def make(prefix: str = "rec") -> str:
        made.append(f"taskapi-{prefix}-{uuid.uuid4().hex[:8]}")
        return made[-1]

    yield make
    for name in made:
        aws.table_delete(name)


def _task(number: int, *, version: int = 1, updated: str = "2026-12-01T10:00:00.000000Z") -> dict:
    return {
        "taskId": {"S": f"{uuid.UUID(int=number)}"}, "title": {"S": f"Task {number} \u2713"},
        "status": {"S": "pending" if number % 2 else "completed"}, "priority": {"S": "high"},
        "createdAt": {"S": f"2026-11-01T00:00:{number % 60:02d}.000000Z"}, "updatedAt": {"S": updated},
        "tags": {"L": [{"S": "a"}, {"S": f"n{number}"}]}, "version": {"N": str(version)},
        **({"description": {"S": "with a description"}} if number % 3 else {}),
    }


def _seed(table: str, count: int) -> list[dict]:
    items = [_task(number) for number in range(count)]
    client = dynamodb()
    for start in range(0, count, 25):
        batch = {table: [{"PutRequest": {"Item": item}} for item in items[start:start + 25]]}
        while batch:
            batch = client.batch_write_item(RequestItems=batch).get("UnprocessedItems") or None
    return items


def _by_id(items: list[dict]) -> dict[str, dict]:
    return {item["taskId"]["S"]: item for item in items}


class _StopAfter(transfer.Progress):
    """Raises KeyboardInterrupt (as Ctrl-C would) once `limit` items are done: a simulated interruption."""

    def __init__(self, limit: int) -> None:
        super().__init__(total=None, what="test", stream=io.StringIO())
        self.limit = limit

    def advance(self, count: int, *, done_before: int = 0) -> None:
        super().advance(count, done_before=done_before)
        if self.done >= self.limit:
            raise KeyboardInterrupt


def test_export_then_import_into_another_table_is_equal_field_by_field(tables, tmp_path):
    source, target = _table(tables("src")), _table(tables("dst"))
    seeded = _seed(source, 1200)
    out = tmp_path / "tasks.jsonl"
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("export_tasks", table=source, out=out, segments=3, stdout=stdout, stderr=stderr)
    assert stdout.getvalue() == f"exported 1200 tasks from {source} to {out}\n"
    assert "export" in stderr.getvalue() and "(done)" in stderr.getvalue()  # plain progress lines off a TTY
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert _by_id(lines) == _by_id(seeded) and len(lines) == 1200
    assert not (tmp_path / "tasks.jsonl.checkpoint").exists()

    stdout = io.StringIO()
    call_command("import_tasks", table=target, source=out, workers=4, stdout=stdout, stderr=io.StringIO())
    assert stdout.getvalue() == (f"imported into {target}: 1200 written, 0 kept (same or newer copy already "
                                 f"there), 0 throttled writes retried\n")
    assert _by_id(table_items(target)) == _by_id(seeded)

    stdout = io.StringIO()  # a second import changes nothing
    call_command("import_tasks", table=target, source=out, stdout=stdout, stderr=io.StringIO())
    assert "0 written, 1200 kept" in stdout.getvalue()


def test_import_never_overwrites_a_newer_copy_but_replaces_an_older_one(tables, tmp_path):
    target = _table(tables("dst"))
    exported = [_task(1, version=3), _task(2, version=3), _task(3, version=3, updated="2026-12-01T12:00:00.000000Z")]
    source_file = tmp_path / "three.jsonl"
    source_file.write_text("".join(json.dumps(item) + "\n" for item in exported))
    newer = {**_task(1, version=4), "title": {"S": "edited after the export"}}
    older = {**_task(2, version=2), "title": {"S": "stale"}}
    same_version_earlier = {**_task(3, version=3), "title": {"S": "earlier edit"}}
    for item in (newer, older, same_version_earlier):
        dynamodb().put_item(TableName=target, Item=item)

    result = transfer.tasks_import(table=target, source=source_file)

    assert (result.written, result.kept, result.retried, result.resumed) == (2, 1, 0, False)
    assert _by_id(table_items(target)) == _by_id([newer, exported[1], exported[2]])


def test_interrupted_export_and_import_resume_without_loss_or_duplicates(tables, tmp_path):
    source, target = _table(tables("src")), _table(tables("dst"))
    seeded = _seed(source, 1100)
    out = tmp_path / "tasks.jsonl"
    with pytest.raises(KeyboardInterrupt):
        transfer.tasks_export(table=source, out=out, segments=4, progress=_StopAfter(400), page_size=50)
    checkpoint = json.loads((tmp_path / "tasks.jsonl.checkpoint").read_text())
    assert 0 < checkpoint["items"] < 1100 and out.stat().st_size == checkpoint["offset"]

    resumed = transfer.tasks_export(table=source, out=out, segments=4, page_size=50)
    assert (resumed.items, resumed.resumed) == (1100, True)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 1100 and _by_id(lines) == _by_id(seeded)

    with pytest.raises(KeyboardInterrupt):
        transfer.tasks_import(table=target, source=out, workers=4, progress=_StopAfter(transfer.CHUNK))
    assert json.loads((tmp_path / "tasks.jsonl.checkpoint").read_text())["line"] == transfer.CHUNK
    result = transfer.tasks_import(table=target, source=out, workers=4)
    assert (result.written, result.kept, result.resumed) == (1100, 0, True)  # counts carry over the interruption
    assert _by_id(table_items(target)) == _by_id(seeded)
    assert not (tmp_path / "tasks.jsonl.checkpoint").exists()


def test_import_of_a_missing_file_or_table_is_a_one_line_error(tables, tmp_path):
    with pytest.raises(CommandError, match="is not a file"):
        call_command("import_tasks", table="any", source=tmp_path / "none.jsonl")
    (tmp_path / "x.jsonl").write_text("")
    with pytest.raises(CommandError, match="does not exist"):
        call_command("import_tasks", table=tables("missing"), source=tmp_path / "x.jsonl")


def _pitr_or_skip(table: str) -> None:
    try:
        aws.table_pitr_enable(table)
    except aws.Unsupported as error:
        pytest.skip(f"this DynamoDB engine has no point-in-time recovery: {error}")


@pytest.fixture
def stage(tmp_path, tables):
    name = f"r{uuid.uuid4().hex[:6]}"
    table = tables("stage")
    settings_file = tmp_path / "zappa_settings.json"
    settings_file.write_text(json.dumps({name: {
        "project_name": "taskapi", "aws_region": os.environ["AWS_REGION"],
        "aws_environment_variables": {"STAGE": name, "TASKS_TABLE": table}}}))
    with override_settings(ZAPPA_SETTINGS_FILE=settings_file):
        yield name, table


def test_restore_table_makes_a_new_table_with_indexes_and_reapplied_settings(stage, tables):
    name, source = stage
    _table(source)
    _pitr_or_skip(source)
    needs("restore")
    aws.table_ttl_enable(source, "expiresAt")
    _seed(source, 50)
    target = tables("restored")
    when = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    dry = io.StringIO()
    call_command("restore_table", stage=name, to_time=when, into=target, dry_run=True, stdout=dry)
    assert dry.getvalue().endswith("dry run, nothing changed\n") and aws.table_describe(target) is None

    out = io.StringIO()
    call_command("restore_table", stage=name, to_time=when, into=target, stdout=out)
    printed = out.getvalue()
    restored = aws.table_describe(target)
    assert sorted(index["IndexName"] for index in restored["GlobalSecondaryIndexes"]) == [
        "list-shard-index", "priority-shard-index"]  # issue 18: the source's, a new table's
    assert restored["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert aws.table_pitr_enabled(target) is True
    assert aws.table_ttl_attribute(target) == "expiresAt"
    assert {tag["Key"]: tag["Value"] for tag in aws.table_tags(restored["TableArn"])}["app"] == "taskapi"
    assert "verified: " in printed and f"TASKS_TABLE to {target!r}" in printed and f"zappa update {name}" in printed
    for step in ("restore", "wait until ACTIVE", "time to live: on expiresAt", "stream", "point-in-time recovery",
                 "tags", "verify"):
        assert f"\n{step}" in "\n" + printed, step


def test_restore_table_refuses_an_existing_target_and_a_time_without_zone(stage):
    name, source = stage
    _table(source)
    with pytest.raises(CommandError, match="already exists"):
        call_command("restore_table", stage=name, to_time="2026-12-01T00:00:00Z", into=source)
    with pytest.raises(CommandError, match="no time zone"):
        call_command("restore_table", stage=name, to_time="2026-12-01T00:00:00")
