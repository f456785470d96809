"""What the embedded emulator adds to moto (ops/management/commands/emulator.py, moto_gaps_patch), checked over
real HTTP against the unit suite's emulator: TransactWriteItems honours ClientRequestToken as DynamoDB does."""
import os
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.harness import dynamodb, streamed_table_create

TABLE = os.environ["IDEMPOTENCY_TABLE"]


def _key_name() -> str:
    return dynamodb().describe_table(TableName=TABLE)["Table"]["KeySchema"][0]["AttributeName"]


def _add(key: str, amount: int, **token) -> dict:
    """One transaction: adds `amount` to the item's counter, on condition the counter is below 10."""
    return dynamodb().transact_write_items(TransactItems=[{"Update": {
        "TableName": TABLE, "Key": {_key_name(): {"S": key}}, "UpdateExpression": "ADD probes :n",
        "ConditionExpression": "attribute_not_exists(probes) OR probes < :cap",
        "ExpressionAttributeValues": {":n": {"N": str(amount)}, ":cap": {"N": "10"}}}}], **token)


def _count(key: str) -> int:
    item = dynamodb().get_item(TableName=TABLE, Key={_key_name(): {"S": key}}, ConsistentRead=True).get("Item")
    return int(item["probes"]["N"]) if item else 0


@pytest.fixture
def key():
    key = f"emulator-probe-{uuid.uuid4().hex}"
    yield key
    dynamodb().delete_item(TableName=TABLE, Key={_key_name(): {"S": key}})


def test_a_repeat_with_the_same_token_is_answered_as_done_without_applying_again(key):
    token = {"ClientRequestToken": uuid.uuid4().hex}
    _add(key, 1, **token)
    _add(key, 1, **token)  # botocore resending it after a lost answer
    assert _count(key) == 1
    _add(key, 1, ClientRequestToken=uuid.uuid4().hex)  # another request: applied
    assert _count(key) == 2


def test_the_same_token_with_other_parameters_is_refused(key):
    token = {"ClientRequestToken": uuid.uuid4().hex}
    _add(key, 1, **token)
    with pytest.raises(ClientError) as refused:
        _add(key, 5, **token)
    assert refused.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert _count(key) == 1


def test_every_call_applies_once(key):
    # botocore fills ClientRequestToken in itself (the API marks it an idempotency token): one per call, the same
    # in that call's retries. So two calls are two requests.
    _add(key, 1)
    _add(key, 1)
    assert _count(key) == 2


def test_a_refused_transaction_is_not_remembered(key):
    _add(key, 10)
    token = {"ClientRequestToken": uuid.uuid4().hex}
    with pytest.raises(ClientError) as refused:
        _add(key, 1, **token)  # 10 is not below 10: nothing applied
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    dynamodb().update_item(TableName=TABLE, Key={_key_name(): {"S": key}}, UpdateExpression="SET probes = :five",
                           ExpressionAttributeValues={":five": {"N": "5"}})
    _add(key, 1, **token)  # the same request again, now that its condition holds: applied, not answered from memory
    assert _count(key) == 6


@pytest.fixture
def streamed():
    """A small table of its own with a stream (the session table's stream is shared with other tests)."""
    name = f"{os.environ['TASKS_TABLE']}-gaps-{uuid.uuid4().hex[:8]}"
    streamed_table_create(name, key="k")
    yield name
    dynamodb().delete_table(TableName=name)


def _stream(table: str) -> list[tuple[str, str]]:
    """Every record the table's stream holds: (event name, key)."""
    streams = boto3.client("dynamodbstreams", region_name=os.environ["AWS_REGION"])
    arn = dynamodb().describe_table(TableName=table)["Table"]["LatestStreamArn"]
    [shard] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    return [(record["eventName"], record["dynamodb"]["Keys"]["k"]["S"]) for record in records]


def test_a_cancelled_transaction_takes_back_its_stream_records_and_keeps_the_others(streamed):
    # The emulator's transactions share stream records with their backup copy (speed): what a cancelled one
    # wrote must still vanish from the stream, and what came before must stay.
    client = dynamodb()
    client.put_item(TableName=streamed, Item={"k": {"S": "before"}})
    with pytest.raises(ClientError) as refused:
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": streamed, "Item": {"k": {"S": "cancelled"}}}},
            {"Update": {"TableName": streamed, "Key": {"k": {"S": "before"}}, "UpdateExpression": "SET n = :n",
                        "ConditionExpression": "attribute_exists(nothere)",
                        "ExpressionAttributeValues": {":n": {"N": "1"}}}}])
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException", refused.value.response
    client.transact_write_items(TransactItems=[{"Put": {"TableName": streamed, "Item": {"k": {"S": "after"}}}}])
    assert _stream(streamed) == [("INSERT", "before"), ("INSERT", "after")]
    assert {item["k"]["S"] for item in client.scan(TableName=streamed)["Items"]} == {"before", "after"}
