"""The Lambda handler with real DynamoDB stream records read from the emulator's stream (no hand-made
records): routing, partial batch failure reporting, and redelivery that changes nothing."""
import pytest
from rest_framework.test import APIClient

from ops import aws
from ops.streams import StreamPoller, _lambda_record
from taskapi.lambda_function import event_kind, handler
from tasks import changelog


def _records_of(table: str, task_id: str) -> list[dict]:
    """Every record the stream holds for one task, Lambda-shaped, read with the Streams API."""
    arn = aws.table_describe(table)["LatestStreamArn"]
    found = []
    for shard in aws.stream_shards(arn):
        iterator = aws.shard_iterator(arn, shard["ShardId"], after=None)
        while iterator:
            records, iterator = aws.stream_records(iterator, limit=1000)
            if not records:
                break
            found += [_lambda_record(r, arn=arn) for r in records
                      if (r["dynamodb"].get("Keys", {}).get("taskId", {}).get("S")) == task_id]
    return found


@pytest.fixture
def written(table):
    client = APIClient()
    task = client.post("/tasks", {"title": "stream me"}, format="json").json()
    client.patch(f"/tasks/{task['taskId']}", {"status": "completed"}, format="json")
    client.delete(f"/tasks/{task['taskId']}")
    return task["taskId"]


def _logged(task_id: str) -> list[tuple[str, int]]:
    changes, _ = changelog.changes_after(owner=None, seq=0, limit=100_000 - 1)
    return [(c.change, c.version) for c in changes if c.task_id == task_id]


def test_real_stream_records_are_a_stream_event_and_each_becomes_one_change(table, written):
    records = _records_of(table, written)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert records[0]["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    event = {"Records": records}
    assert event_kind(event) == "stream"
    assert handler(event, None) == {"batchItemFailures": []}
    assert handler(event, None) == {"batchItemFailures": []}  # redelivered: nothing new
    assert _logged(written) == [("created", 1), ("updated", 2), ("deleted", 2)]


def test_a_failing_record_is_reported_and_nothing_after_it_is_attempted(table, written, monkeypatch):
    from tasks import feed

    records = _records_of(table, written)
    real = feed.change_record
    calls = []

    def second_fails(record):
        calls.append(record["eventName"])
        if record["eventName"] == "MODIFY":
            raise RuntimeError("DynamoDB went away")
        return real(record)

    monkeypatch.setattr(feed, "change_record", second_fails)
    monkeypatch.setattr(feed.stream_batch, "__kwdefaults__", {"record": second_fails})
    answer = handler({"Records": records}, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}
    assert calls == ["INSERT", "MODIFY"]
    assert _logged(written) == [("created", 1)]
    monkeypatch.undo()
    assert handler({"Records": records[1:]}, None) == {"batchItemFailures": []}  # Lambda's retry from it
    assert _logged(written) == [("created", 1), ("updated", 2), ("deleted", 2)]


def test_poller_honours_reported_failures_and_retries_from_that_record(table, written):
    seen = []

    def fails_once(event, context):
        seen.append([r["eventName"] for r in event["Records"]])
        if len(seen) == 1:
            return {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}

    poller = StreamPoller(table=table, handler=fails_once)
    poller.poll()
    poller.poll()
    assert seen[1] == seen[0]  # the whole batch again, from the failed record


def test_every_dynamodb_call_the_consumer_makes_is_in_the_policy(table, written, monkeypatch):
    import json
    from pathlib import Path

    import botocore.client

    calls = set()
    real = botocore.client.BaseClient._make_api_call

    def recording(client, operation_name, api_params):
        if client.meta.service_model.service_name == "dynamodb":
            # IAM authorises each Put of a TransactWriteItems as dynamodb:PutItem.
            calls.add("dynamodb:PutItem" if operation_name == "TransactWriteItems" else f"dynamodb:{operation_name}")
        return real(client, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    handler({"Records": _records_of(table, written)}, None)
    policy = json.loads((Path(__file__).parents[2] / "deploy/policy-dev.json").read_text())
    # PynamoDB describes the table once per process: ChangeLogProvisioning grants DescribeTable.
    log_actions = {a for s in policy["Statement"] if s["Sid"] in {"ChangeLog", "ChangeLogProvisioning"}
                   for a in s["Action"]}
    assert calls and calls <= log_actions, calls
