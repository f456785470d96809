"""The PynamoDB schema of the tasks table: attributes and the status index, no behaviour."""
from django.conf import settings
from pynamodb.attributes import ListAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class StatusIndex(GlobalSecondaryIndex):
    """status-index: tasks of one status in createdAt order, for listings without a Scan."""

    class Meta:
        index_name = "status-index"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class TaskModel(Model):
    class Meta:
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

    status_index = StatusIndex()
