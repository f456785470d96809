"""TaskSerializer's direct attribute reads answer exactly as DRF's generic Serializer.to_representation does."""
from types import SimpleNamespace

import pytest
from rest_framework import serializers

from tasks.domain import Task
from tasks.serializers import TaskSerializer

TASK = Task(task_id="0b4c2a52-3c67-4f7e-9d8e-3f2b1f0a9c11", title="Write the report \u2028 ok", status="in_progress",
            priority="high", created_at="2026-11-25T06:14:00.000Z", updated_at="2026-11-26T07:15:01.123Z", version=3,
            description=None, due_date="2026-12-01T00:00:00.000Z", tags=["home", "errands"])


def drf(instance) -> dict:
    return serializers.Serializer.to_representation(TaskSerializer(), instance)


@pytest.mark.parametrize("instance", [
    TASK,
    Task(task_id=TASK.task_id, title="", status="pending", priority="low", created_at=TASK.created_at,
         updated_at=TASK.updated_at, version=1),
    vars(TASK) | {"task_id": TASK.task_id},  # a mapping takes DRF's own path
], ids=["task", "defaults", "mapping"])
def test_a_task_serializes_as_drf_serializes_it(instance):
    assert TaskSerializer(instance).data == drf(instance)
    assert list(TaskSerializer(instance).data) == list(drf(instance))  # same keys in the same order


def test_an_object_missing_a_field_takes_drfs_path():
    partial = SimpleNamespace(**{name: value for name, value in vars(TASK).items() if name != "due_date"})
    assert TaskSerializer(partial).data["dueDate"] is None  # DRF's answer for a missing field that allows null
    assert TaskSerializer(partial).data == drf(partial)


def test_a_callable_attribute_is_called_as_drf_calls_it():
    lazy = SimpleNamespace(**vars(TASK) | {"title": lambda: "Called"})
    assert TaskSerializer(lazy).data["title"] == "Called" == drf(lazy)["title"]
