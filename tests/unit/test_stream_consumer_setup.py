"""manage.py setup_stream_consumer against the emulator's Lambda, SQS and DynamoDB: plan, apply, re-run no-op."""
import io
import json
import os
import zipfile

import pytest
from django.core.management import call_command
from django.test import override_settings

from ops import aws
from ops.stages import Stage
from tests import harness


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("setup_stream_consumer", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def streamed_table():
    """A table of its own with a stream: moto keeps a deleted mapping's function attached to its source
    table and then fails every write to it, so the session's table must never be the source."""
    name = f"{os.environ['TASKS_TABLE']}-esm"
    harness.streamed_table_create(name, key="taskId")
    yield name
    aws.client("dynamodb").delete_table(TableName=name)


@pytest.fixture
def function(streamed_table, monkeypatch):
    """A function named like the stage's (the emulator stores it; nothing invokes it)."""
    table = streamed_table
    project = f"taskapi-{table[-6:]}"
    name = f"{project}-feedtest"
    role = aws.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    aws.client("lambda").create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="handler.handler",
                                         Code={"ZipFile": package.getvalue()})
    stage = Stage(name="feedtest", project_name=project, region=os.environ["AWS_REGION"],
                  tasks_table=table)
    monkeypatch.setattr("ops.management.commands.setup_stream_consumer.stage_load", lambda name: stage)
    yield stage
    for mapping in aws.client("lambda").list_event_source_mappings(FunctionName=name)["EventSourceMappings"]:
        aws.client("lambda").delete_event_source_mapping(UUID=mapping["UUID"])
    aws.client("lambda").delete_function(FunctionName=name)
    aws.client("iam").delete_role(RoleName=name)


def test_plan_then_apply_then_nothing_to_change(function):
    name = f"{function.tasks_table} stream -> {function.function_name}"
    queue = f"{function.function_name}-stream-failures"
    assert _run("--dry-run") == f"queue {queue}: create\nevent source mapping {name}: create\n"
    assert aws.queue_arn(queue) is None  # a dry run changes nothing
    assert _run() == f"queue {queue}: create\nevent source mapping {name}: create\n"
    mapping, = aws.event_source_mappings(function=aws.function_arn(function.function_name),
                                         source_arn=aws.table_describe(function.tasks_table)["LatestStreamArn"])
    assert mapping["BatchSize"] == 100 and mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": aws.queue_arn(queue)}}
    assert _run() == f"queue {queue}: unchanged\nevent source mapping {name}: unchanged\n"
