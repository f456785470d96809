"""The PynamoDB schema of the tasks table: attributes and the status index, no behaviour."""
import functools

from django.conf import settings
from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model


@functools.cache
def transaction_connection() -> Connection:
    """The one connection for TransactWriteItems (tasks and the change log), with the models' bounded retries and
    timeouts. Made once per process: a Connection builds its own botocore client, ~200 ms of CPU each time."""
    return Connection(region=settings.AWS_REGION, max_retry_attempts=settings.DYNAMODB_MAX_RETRY_ATTEMPTS,
                      connect_timeout_seconds=settings.DYNAMODB_CONNECT_TIMEOUT_SECONDS,
                      read_timeout_seconds=settings.DYNAMODB_READ_TIMEOUT_SECONDS)


class StatusIndex(GlobalSecondaryIndex):
    """status-index: tasks of one status in createdAt order, for listings without a Scan."""

    class Meta:
        index_name = "status-index"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class OwnerStatusIndex(GlobalSecondaryIndex):
    """owner-status-index: one owner's tasks of one status in createdAt order; sparse (owned tasks only)."""

    class Meta:
        index_name = "owner-status-index"
        projection = AllProjection()

    owner_status = UnicodeAttribute(hash_key=True, attr_name="ownerStatus")
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class ListShardIndex(GlobalSecondaryIndex):
    """list-shard-index: one owner's tasks of one status in one shard, createdAt order (tasks.shards)."""

    class Meta:
        index_name = "list-shard-index"
        projection = AllProjection()

    list_key = UnicodeAttribute(hash_key=True, attr_name="listKey")
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class PriorityShardIndex(GlobalSecondaryIndex):
    """priority-shard-index: as list-shard-index, per priority too, so a priority filter reads no others."""

    class Meta:
        index_name = "priority-shard-index"
        projection = AllProjection()

    priority_key = UnicodeAttribute(hash_key=True, attr_name="priorityKey")
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class _Limits:
    """Bounded retries and timeouts shared by every model (settings explain the budget)."""

    max_retry_attempts = settings.DYNAMODB_MAX_RETRY_ATTEMPTS
    connect_timeout_seconds = settings.DYNAMODB_CONNECT_TIMEOUT_SECONDS
    read_timeout_seconds = settings.DYNAMODB_READ_TIMEOUT_SECONDS
    # One connection per concurrent read of a list page (PynamoDB's default pool holds 10).
    max_pool_connections = max(10, settings.TASK_LIST_READ_WORKERS)


class TaskModel(Model):
    class Meta(_Limits):
        table_name = settings.TASKS_TABLE
        region = settings.AWS_REGION
        billing_mode = "PAY_PER_REQUEST"
        # No host: botocore takes AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL from the environment.

    task_id = UnicodeAttribute(hash_key=True, attr_name="taskId")
    title = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    priority = UnicodeAttribute()
    created_at = UnicodeAttribute(attr_name="createdAt")
    updated_at = UnicodeAttribute(attr_name="updatedAt")
    due_date = UnicodeAttribute(null=True, attr_name="dueDate")
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    version = VersionAttribute()
    # Owned tasks only: the caller's identity, "<owner>#<status>" for owner-status-index, and the id of
    # the request that wrote the item last (a retried write recognises itself by it).
    owner = UnicodeAttribute(null=True)
    owner_status = UnicodeAttribute(null=True, attr_name="ownerStatus")
    write_token = UnicodeAttribute(null=True, attr_name="writeToken")
    # Sharded listing keys (tasks.shards); absent only on items from before the backfill.
    list_key = UnicodeAttribute(null=True, attr_name="listKey")
    priority_key = UnicodeAttribute(null=True, attr_name="priorityKey")

    status_index = StatusIndex()
    owner_status_index = OwnerStatusIndex()
    list_shard_index = ListShardIndex()
    priority_shard_index = PriorityShardIndex()


class TagShardIndex(GlobalSecondaryIndex):
    """tag-shard-index: one owner's tasks of one status holding one tag, in one shard, createdAt order."""

    class Meta:
        index_name = "tag-shard-index"
        projection = KeysOnlyProjection()  # the listing reads the tasks themselves with one BatchGetItem

    tag_key = UnicodeAttribute(hash_key=True, attr_name="tagKey")
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class TagPriorityShardIndex(GlobalSecondaryIndex):
    """tag-priority-shard-index: as tag-shard-index, per priority too."""

    class Meta:
        index_name = "tag-priority-shard-index"
        projection = KeysOnlyProjection()

    tag_priority_key = UnicodeAttribute(hash_key=True, attr_name="tagPriorityKey")
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class TaskTagModel(Model):
    """One tag of one task (issue 18): slot i holds tags[i]; written in the same transaction as the task."""

    class Meta(_Limits):
        table_name = settings.TAGS_TABLE
        region = settings.AWS_REGION
        billing_mode = "PAY_PER_REQUEST"

    task_id = UnicodeAttribute(hash_key=True, attr_name="taskId")
    slot = NumberAttribute(range_key=True)  # the tag's position in the task's list: 0..len(tags)-1
    tag = UnicodeAttribute()
    created_at = UnicodeAttribute(attr_name="createdAt")
    tag_key = UnicodeAttribute(attr_name="tagKey")  # tasks.shards.tag_key
    tag_priority_key = UnicodeAttribute(attr_name="tagPriorityKey")  # tasks.shards.tag_priority_key

    tag_shard_index = TagShardIndex()
    tag_priority_shard_index = TagPriorityShardIndex()


class IdempotencyRecord(Model):
    """One Idempotency-Key of one caller: claimed while in flight, then holding the first response."""

    class Meta(_Limits):
        table_name = settings.IDEMPOTENCY_TABLE
        region = settings.AWS_REGION
        billing_mode = "PAY_PER_REQUEST"

    key = UnicodeAttribute(hash_key=True)
    fingerprint = UnicodeAttribute()
    state = UnicodeAttribute()  # "in_progress" or "complete"
    token = UnicodeAttribute()  # the claiming request's id
    lease_until = NumberAttribute(attr_name="leaseUntil")  # epoch seconds
    response = UnicodeAttribute(null=True)  # JSON: status, headers, body
    expires_at = NumberAttribute(attr_name="expiresAt")  # epoch seconds; the table's TTL attribute


class ChangeModel(Model):
    """The change log: per owner, changes numbered 1, 2, 3... by the consumer; seq 0 holds the counter.

    Items whose owner is "seen#..." mark a (task, version, change) as recorded, so a redelivered
    stream record never makes a second change.
    """

    class Meta(_Limits):
        table_name = settings.CHANGES_TABLE
        region = settings.AWS_REGION
        billing_mode = "PAY_PER_REQUEST"

    owner = UnicodeAttribute(hash_key=True)  # the task's owner; "-" for unowned (demo-mode) tasks
    seq = NumberAttribute(range_key=True)
    last = NumberAttribute(null=True)  # seq 0 only: the last seq assigned
    change = UnicodeAttribute(null=True)  # created | updated | deleted
    task_id = UnicodeAttribute(null=True, attr_name="taskId")
    version = NumberAttribute(null=True)
    at = UnicodeAttribute(null=True)
    image = UnicodeAttribute(null=True)  # the task's new image, DynamoDB JSON; absent for deletions
    expires_at = NumberAttribute(null=True, attr_name="expiresAt")  # epoch seconds; the table's TTL


class ConnectionOwnerIndex(GlobalSecondaryIndex):
    """owner-index: the WebSocket connections of one owner, so a fan-out reads only theirs."""

    class Meta:
        index_name = "owner-index"
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)


class ConnectionModel(Model):
    """One open WebSocket connection (issue 14): who it is, where to post to it, when it lapses (TTL)."""

    class Meta(_Limits):
        table_name = settings.CONNECTIONS_TABLE
        region = settings.AWS_REGION
        billing_mode = "PAY_PER_REQUEST"

    connection_id = UnicodeAttribute(hash_key=True, attr_name="connectionId")
    owner = UnicodeAttribute()  # the caller's owner id; "-" for anonymous (demo-mode) callers
    endpoint = UnicodeAttribute()  # the Management API URL of its stage: https://{domainName}/{stage}
    connected_at = UnicodeAttribute(attr_name="connectedAt")
    expires_at = NumberAttribute(attr_name="expiresAt")  # epoch seconds; the table's TTL attribute

    owner_index = ConnectionOwnerIndex()
