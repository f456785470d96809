"""The baseline: GET /tasks/{id} as one Lambda function with plain boto3 and json, the seed's style.

It does what the app's GET does against DynamoDB (one strongly consistent GetItem) and nothing else:
no framework, no validation, no problem documents. A boto3 client (not a resource) keeps it lean.
"""
import json
import os

import boto3

TABLE = os.environ["TASKS_TABLE"]
dynamodb = boto3.client("dynamodb")


def _plain(value: dict):
    (kind, data), = value.items()
    if kind == "L":
        return [_plain(item) for item in data]
    if kind == "N":
        return int(data)
    if kind == "NULL":
        return None
    return data


def handler(event, context):
    task_id = event["path"].rsplit("/", 1)[-1]
    item = dynamodb.get_item(TableName=TABLE, Key={"taskId": {"S": task_id}}, ConsistentRead=True).get("Item")
    if item is None:
        return {"statusCode": 404, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"message": "Task not found"})}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({name: _plain(value) for name, value in item.items()})}
