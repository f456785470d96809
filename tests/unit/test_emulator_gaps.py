"""What the embedded emulator adds to moto (ops/management/commands/emulator.py, moto_gaps_patch), checked over
real HTTP against the unit suite's emulator: TransactWriteItems honours ClientRequestToken as DynamoDB does."""
import os
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.harness import dynamodb

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
