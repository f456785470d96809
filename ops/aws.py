"""Thin typed adapters over boto3: one function per AWS call, errors turned into named outcomes."""
import functools
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from django.conf import settings

_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)


class AwsUnavailable(Exception):
    """The endpoint cannot be reached or no credentials were found; the message says which."""


class Unsupported(Exception):
    """The endpoint (an emulator) does not implement this operation."""


@functools.cache
def client(service: str):
    """Returns a cached client; its endpoint comes from AWS_ENDPOINT_URL(_<SERVICE>) when set."""
    return boto3.session.Session().client(service, region_name=settings.AWS_REGION, config=_CONFIG)


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _call(service: str, operation: str, **kwargs) -> dict:
    try:
        return getattr(client(service), operation)(**kwargs)
    except NoCredentialsError:
        raise AwsUnavailable("no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID)") from None
    except EndpointConnectionError as error:
        raise AwsUnavailable(f"cannot reach {error.kwargs.get('endpoint_url', service)}") from None
    except ClientError as error:
        if _code(error) in {"UnknownOperationException", "UnrecognizedClientException", "NotImplemented"}:
            raise Unsupported(f"{service} {operation} is not supported by this endpoint") from None
        raise


def table_describe(name: str) -> dict | None:
    """Returns DescribeTable's Table, or None when there is no such table."""
    try:
        return _call("dynamodb", "describe_table", TableName=name)["Table"]
    except ClientError as error:
        if _code(error) == "ResourceNotFoundException":
            return None
        raise


def table_create(request: dict) -> None:
    """Creates a table and waits until it is ACTIVE."""
    try:
        _call("dynamodb", "create_table", **request)
    except ClientError as error:
        if _code(error) != "ResourceInUseException":
            raise
    client("dynamodb").get_waiter("table_exists").wait(
        TableName=request["TableName"], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )


def table_delete(name: str) -> bool:
    """Deletes a table; returns False when there was none."""
    try:
        _call("dynamodb", "delete_table", TableName=name)
    except ClientError as error:
        if _code(error) == "ResourceNotFoundException":
            return False
        raise
    return True


def table_pitr_enabled(name: str) -> bool:
    """Returns whether point-in-time recovery is on. Raises Unsupported on emulators without it."""
    description = _call("dynamodb", "describe_continuous_backups", TableName=name)["ContinuousBackupsDescription"]
    return description["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def table_pitr_enable(name: str) -> None:
    """Turns point-in-time recovery on. Raises Unsupported on emulators without it."""
    _call(
        "dynamodb",
        "update_continuous_backups",
        TableName=name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )


def table_index_add(name: str, *, index: dict, attributes: list[dict]) -> None:
    """Adds a global secondary index to an existing table and waits until the index is ACTIVE."""
    _call("dynamodb", "update_table", TableName=name, AttributeDefinitions=attributes,
          GlobalSecondaryIndexUpdates=[{"Create": index}])
    client("dynamodb").get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    for _ in range(600):  # backfilling a large table can take minutes
        indexes = {gsi["IndexName"]: gsi for gsi in table_describe(name).get("GlobalSecondaryIndexes", [])}
        if indexes.get(index["IndexName"], {}).get("IndexStatus") == "ACTIVE":
            return
        time.sleep(1)
    raise AwsUnavailable(f"index {index['IndexName']} of {name} is not ACTIVE after 10 minutes")


def table_ttl_attribute(name: str) -> str | None:
    """Returns the attribute TTL expires items by, None when TTL is off."""
    description = _call("dynamodb", "describe_time_to_live", TableName=name)["TimeToLiveDescription"]
    if description.get("TimeToLiveStatus") in {"ENABLED", "ENABLING"}:
        return description.get("AttributeName")
    return None


def table_ttl_enable(name: str, attribute: str) -> None:
    """Turns TTL on for `attribute` (epoch seconds)."""
    _call("dynamodb", "update_time_to_live", TableName=name,
          TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute})
