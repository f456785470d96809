"""GET /tasks/{id} without the HTTP stack: the app's service call only (Django set up, no request).

With bench/baseline_handler.py (plain boto3) and the real handler it splits a warm GET's instructions
into botocore, PynamoDB + the domain (this minus the baseline) and the HTTP stack (the app minus this):
apig-wsgi, Django's handler and middleware, DRF's view, serializer and renderer, logging and EMF.
"""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskapi.settings")

import django  # noqa: E402

django.setup()

from tasks import services  # noqa: E402
from tasks.domain import TaskNotFound  # noqa: E402


def handler(event, context):
    try:
        services.task_get(task_id=event["path"].rsplit("/", 1)[-1])
    except TaskNotFound:
        return {"statusCode": 404}
    return {"statusCode": 200}
