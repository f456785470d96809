"""Desired AWS resources as plain data."""
from dataclasses import dataclass

from django.conf import settings


# Sparse: only owned tasks carry ownerStatus ("<owner>#<status>"), so only they are in it.
OWNER_STATUS_INDEX = {
    "IndexName": "owner-status-index",
    "KeySchema": [
        {"AttributeName": "ownerStatus", "KeyType": "HASH"},
        {"AttributeName": "createdAt", "KeyType": "RANGE"},
    ],
    "Projection": {"ProjectionType": "ALL"},
}


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
                {"AttributeName": "ownerStatus", "AttributeType": "S"},
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
                },
                OWNER_STATUS_INDEX,
            ],
            "SSESpecification": {"Enabled": True, "SSEType": "KMS"},
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            "Tags": [{"Key": "app", "Value": "taskapi"}, {"Key": "stage", "Value": settings.STAGE}],
        }


def tasks_table() -> TableSpec:
    """Returns the desired tasks table of this stage."""
    return TableSpec(name=settings.TASKS_TABLE)


@dataclass(frozen=True)
class IdempotencyTableSpec:
    """The Idempotency-Key records: keyed by the caller-scoped key, expired by DynamoDB TTL."""

    name: str
    ttl_attribute: str = "expiresAt"

    def create_request(self) -> dict:
        """Returns the CreateTable arguments: on-demand, SSE (the records hold response bodies)."""
        return {
            "TableName": self.name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "key", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "key", "KeyType": "HASH"}],
            "SSESpecification": {"Enabled": True, "SSEType": "KMS"},
            "Tags": [{"Key": "app", "Value": "taskapi"}, {"Key": "stage", "Value": settings.STAGE}],
        }


def idempotency_table() -> IdempotencyTableSpec:
    """Returns the desired idempotency table of this stage."""
    return IdempotencyTableSpec(name=settings.IDEMPOTENCY_TABLE)
