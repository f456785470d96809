"""Desired AWS resources as plain data."""
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class TableSpec:
    name: str
    point_in_time_recovery: bool = True

    def create_request(self) -> dict:
        """Returns the CreateTable arguments: on-demand, status-index, SSE, streams."""
        return {
            "TableName": self.name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": "taskId", "AttributeType": "S"},
                {"AttributeName": "status", "AttributeType": "S"},
                {"AttributeName": "createdAt", "AttributeType": "S"},
            ],
            "KeySchema": [{"AttributeName": "taskId", "KeyType": "HASH"}],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "status-index",
                    "KeySchema": [
                        {"AttributeName": "status", "KeyType": "HASH"},
                        {"AttributeName": "createdAt", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            "SSESpecification": {"Enabled": True, "SSEType": "KMS"},
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            "Tags": [{"Key": "app", "Value": "taskapi"}, {"Key": "stage", "Value": settings.STAGE}],
        }


def tasks_table() -> TableSpec:
    """Returns the desired tasks table of this stage."""
    return TableSpec(name=settings.TASKS_TABLE)
