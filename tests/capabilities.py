"""What the DynamoDB engine behind the test endpoint supports, learned by asking it, with the engine's own reason.

Tests skip on what the engine answers, never on which emulator a tier name says it is: `make e2e` against any
endpoint (moto, DynamoDB Local, LocalStack, AWS) skips exactly the features that engine lacks.
"""
import functools
import os

import pytest
from botocore.exceptions import ClientError

from tests.harness import dynamodb

# What engines answer for an operation they do not implement (DynamoDB Local: UnknownOperationException).
_UNSUPPORTED = {"UnknownOperationException", "NotImplemented"}
# What engines that do implement an operation answer for a table that does not exist.
_ABSENT = {"ResourceNotFoundException", "TableNotFoundException", "SourceTableNotFoundException"}


def _refusal(operation: str, *, absent_ok: bool = False, **kwargs) -> str | None:
    """Calls `operation`; returns the engine's reason if it refuses it as unsupported.

    With `absent_ok`, "no such table" counts as an answer from an engine that has the operation."""
    try:
        getattr(dynamodb(), operation)(**kwargs)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in _UNSUPPORTED:
            message = error.response.get("Error", {}).get("Message", "")
            return f"{operation}: {code}{f' ({message})' if message else ''}"
        if absent_ok and code in _ABSENT:
            return None
        raise
    return None


def _table() -> dict:
    return dynamodb().describe_table(TableName=os.environ["TASKS_TABLE"])["Table"]


@functools.cache
def missing(feature: str) -> str | None:
    """Returns why the engine lacks `feature` ("pitr", "restore", "tags" or "sse"), in its words; None when it has it."""
    endpoint = dynamodb().meta.endpoint_url
    if feature == "pitr":
        reason = _refusal("describe_continuous_backups", TableName=os.environ["TASKS_TABLE"])
    elif feature == "restore":
        # A source table that does not exist: an engine with the operation says so (ResourceNotFound, re-raised
        # as supported), one without it refuses the operation itself. Nothing is restored either way.
        reason = _refusal("restore_table_to_point_in_time", absent_ok=True, SourceTableName="taskapi-capability-probe-absent",
                          TargetTableName="taskapi-capability-probe-never", UseLatestRestorableTime=True)
    elif feature == "tags":
        reason = _refusal("list_tags_of_resource", ResourceArn=_table()["TableArn"])
    elif feature == "sse":
        # create_table asks for encryption at rest; an engine that keeps it reports SSEDescription.
        reason = None if "SSEDescription" in _table() else "DescribeTable reports no SSEDescription"
    else:
        raise ValueError(f"unknown feature {feature!r}")
    return f"the DynamoDB at {endpoint} lacks {feature}: {reason}" if reason else None


def needs(feature: str) -> None:
    """Skips the rest of a test when the engine behind the endpoint lacks `feature`, with the engine's reason."""
    if reason := missing(feature):
        pytest.skip(reason)
