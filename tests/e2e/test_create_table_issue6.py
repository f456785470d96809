"""create_table for issue 6: the idempotency table with TTL, and owner-status-index added to an older table."""
import os
import subprocess
import sys
import uuid

import pytest

from tests.harness import ROOT, dynamodb

pytestmark = pytest.mark.e2e


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, env={**os.environ, **env})


@pytest.fixture
def names():
    stem = f"taskapi-e2e6-{uuid.uuid4().hex[:8]}"
    tables = {"TASKS_TABLE": stem, "IDEMPOTENCY_TABLE": f"{stem}-idempotency",
              "CHANGES_TABLE": f"{stem}-changes",  # issue 13: the changes feed's log follows them
              "CONNECTIONS_TABLE": f"{stem}-connections",  # issue 14: WebSocket connections, after it
              "TAGS_TABLE": f"{stem}-tags"}  # issue 18: tag slots, last
    yield tables
    for name in tables.values():
        try:
            dynamodb().delete_table(TableName=name)
        except dynamodb().exceptions.ResourceNotFoundException:
            pass


def test_create_table_adds_owner_status_index_to_a_table_from_before_it(names):
    # A tasks table as the core created it: status-index only, with a task in it.
    table = names["TASKS_TABLE"]
    dynamodb().create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "taskId", "AttributeType": "S"},
                              {"AttributeName": "status", "AttributeType": "S"},
                              {"AttributeName": "createdAt", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "taskId", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{"IndexName": "status-index", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                                               {"AttributeName": "createdAt", "KeyType": "RANGE"}]}])
    dynamodb().get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1})
    # An existing stage's tag backfill waits for writers first; no other process writes this one.
    first = manage("create_table", "--writers-grace", "0", **names)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[:2] == [f"table {table}: unchanged", f"index owner-status-index on {table}: add"]
    indexes = {index["IndexName"]: index for index in dynamodb().describe_table(TableName=table)["Table"][
        "GlobalSecondaryIndexes"]}
    assert set(indexes) == {"status-index", "owner-status-index", "list-shard-index", "priority-shard-index"}
    assert indexes["owner-status-index"]["IndexStatus"] == "ACTIVE"
    assert indexes["owner-status-index"]["KeySchema"] == [{"AttributeName": "ownerStatus", "KeyType": "HASH"},
                                                          {"AttributeName": "createdAt", "KeyType": "RANGE"}]
    second = manage("create_table", **names)
    assert second.returncode == 0, second.stderr
    assert not [line for line in second.stdout.splitlines() if line.endswith(": add")]


def test_create_table_makes_the_idempotency_table_with_ttl_once(names):
    idempotency = names["IDEMPOTENCY_TABLE"]
    first = manage("create_table", **names)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-9:-7] == [f"table {idempotency}: create",
                                                f"time to live on {idempotency}.expiresAt: enable"]
    description = dynamodb().describe_table(TableName=idempotency)["Table"]
    assert description["KeySchema"] == [{"AttributeName": "key", "KeyType": "HASH"}]
    assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = dynamodb().describe_time_to_live(TableName=idempotency)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expiresAt")
    second = manage("create_table", **names)
    assert second.stdout.splitlines()[-9:-7] == [f"table {idempotency}: unchanged",
                                                 f"time to live on {idempotency}.expiresAt: unchanged"]


def test_create_table_makes_the_change_log_and_the_connections_table_with_ttl_once(names):
    changes = names["CHANGES_TABLE"]
    first = manage("create_table", **names)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-7:-5] == [f"table {changes}: create",
                                                f"time to live on {changes}.expiresAt: enable"]
    description = dynamodb().describe_table(TableName=changes)["Table"]
    assert description["KeySchema"] == [{"AttributeName": "owner", "KeyType": "HASH"},
                                        {"AttributeName": "seq", "KeyType": "RANGE"}]
    ttl = dynamodb().describe_time_to_live(TableName=changes)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expiresAt")
    # Issue 14, on the same two runs (each costs seconds on every engine): connections, found by owner.
    connections = names["CONNECTIONS_TABLE"]
    assert first.stdout.splitlines()[-5:-3] == [f"table {connections}: create",
                                              f"time to live on {connections}.expiresAt: enable"]
    description = dynamodb().describe_table(TableName=connections)["Table"]
    assert description["KeySchema"] == [{"AttributeName": "connectionId", "KeyType": "HASH"}]
    [index] = description["GlobalSecondaryIndexes"]
    assert (index["IndexName"], index["KeySchema"], index["Projection"]) == (
        "owner-index", [{"AttributeName": "owner", "KeyType": "HASH"}], {"ProjectionType": "ALL"})
    ttl = dynamodb().describe_time_to_live(TableName=connections)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expiresAt")
    second = manage("create_table", **names)
    assert second.stdout.splitlines()[-7:-3] == [f"table {changes}: unchanged",
                                               f"time to live on {changes}.expiresAt: unchanged",
                                               f"table {connections}: unchanged",
                                               f"time to live on {connections}.expiresAt: unchanged"]



def test_create_table_makes_the_tags_table_and_backfills_the_slots_of_an_existing_stage(names):
    # Issue 18: a stage from before the tags table, with a task holding two tags and one holding none.
    from ops.specs import TableSpec

    table, tags = names["TASKS_TABLE"], names["TAGS_TABLE"]
    request = TableSpec(name=table).create_request()
    dynamodb().create_table(**{key: value for key, value in request.items() if key != "Tags"})
    dynamodb().get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1})
    for task_id, task_tags in (("t-1", ["a#b", "c"]), ("t-2", [])):
        dynamodb().put_item(TableName=table, Item={
            "taskId": {"S": task_id}, "title": {"S": task_id}, "status": {"S": "pending"}, "priority": {"S": "low"},
            "createdAt": {"S": "2026-12-01T10:00:00.000Z"}, "updatedAt": {"S": "2026-12-01T10:00:00.000Z"},
            "version": {"N": "3"}, "tags": {"L": [{"S": tag} for tag in task_tags]}})
    # Code deployed before the tags table wrote no slots: writes keep them once they see "writing", then the
    # backfill waits the grace (a tenth of a second here, nothing else writes this stage) before its Scan.
    first = manage("create_table", "--writers-grace", "0.1", **names)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-4:] == [
        f"table {tags}: create", "index backfill: complete (2 tasks read, 2 keyed)",
        "tag backfill: writes keep tag slots from now; waiting 0.1 s for every process",
        "tag backfill: complete (2 tasks read, 1 slotted)"]
    description = dynamodb().describe_table(TableName=tags)["Table"]
    assert description["KeySchema"] == [{"AttributeName": "taskId", "KeyType": "HASH"},
                                        {"AttributeName": "slot", "KeyType": "RANGE"}]
    assert {(index["IndexName"], index["Projection"]["ProjectionType"]) for index in
            description["GlobalSecondaryIndexes"]} == {("tag-shard-index", "KEYS_ONLY"),
                                                       ("tag-priority-shard-index", "KEYS_ONLY")}
    slots = dynamodb().query(TableName=tags, KeyConditionExpression="taskId = :t", ConsistentRead=True,
                             ExpressionAttributeValues={":t": {"S": "t-1"}})["Items"]
    assert [(item["slot"]["N"], item["tag"]["S"]) for item in slots] == [("0", "a#b"), ("1", "c")]
    second = manage("create_table", **names)
    assert second.stdout.splitlines()[-3:] == [f"table {tags}: unchanged", "index backfill: unchanged (complete)",
                                               "tag backfill: unchanged (complete)"]
