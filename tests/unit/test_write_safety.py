"""Writes under retries and skew: a copy of a write applies once, a late copy never, updatedAt never moves back."""
import uuid

import pytest
from pynamodb.exceptions import UpdateError

from tests import harness


@pytest.fixture
def task_id(make_task) -> str:
    return make_task(title="original")["taskId"]


def _stored(table: str, task_id: str) -> dict:
    (item,) = [item for item in harness.table_items(table) if item["taskId"]["S"] == task_id]
    return item


def test_a_retried_copy_of_an_update_applies_once(table, task_id):
    from tasks import repository

    changes = {"title": "once"}
    first = repository.task_change(task_id=task_id, changes=changes, updated_at="2026-11-25T08:00:00.000Z",
                                   versions=None, token="request-1")
    # botocore resending the same UpdateItem (its answer was lost): refused by DynamoDB...
    with pytest.raises(UpdateError):
        repository._update(task_id, changes, "2026-11-25T08:00:00.000Z", None, None, "request-1")
    # ...and the repository recognises its own write instead of reporting a conflict or writing twice.
    again = repository.task_change(task_id=task_id, changes=changes, updated_at="2026-11-25T08:00:00.000Z",
                                   versions=None, token="request-1")
    assert again == first
    assert _stored(table, task_id)["version"] == {"N": "2"}


def test_a_late_copy_of_an_earlier_update_never_overwrites_a_later_one(table, task_id):
    from tasks import repository

    repository.task_change(task_id=task_id, changes={"title": "first"}, updated_at="2026-11-25T08:00:00.000Z",
                           versions=None, token="request-1")
    later = repository.task_change(task_id=task_id, changes={"title": "second"},
                                   updated_at="2026-11-25T08:00:01.000Z", versions=None, token="request-2")
    # The first request's UpdateItem, held up in the network, arrives after the second was stored.
    with pytest.raises(UpdateError):
        repository._update(task_id, {"title": "first"}, "2026-11-25T08:00:00.000Z", None, None, "request-1")
    assert repository.task_fetch(task_id=task_id) == later


def test_an_update_behind_another_writers_clock_is_written_at_that_time(api, table, task_id):
    # Another instance, its clock ahead, stored this task "in the future".
    ahead = "2999-01-01T00:00:00.000Z"
    harness.dynamodb().update_item(TableName=table, Key={"taskId": {"S": task_id}},
                                   UpdateExpression="SET updatedAt = :t", ExpressionAttributeValues={":t": {"S": ahead}})
    response = api.patch(f"/tasks/{task_id}", {"priority": "high"}, format="json")
    assert response.status_code == 200
    assert (response.json()["priority"], response.json()["updatedAt"], response.json()["version"]) == ("high", ahead, 2)
    assert _stored(table, task_id)["updatedAt"] == {"S": ahead}


def test_stale_if_match_still_wins_over_clock_retries(api, table, task_id):
    api.patch(f"/tasks/{task_id}", {"title": "moved on"}, format="json")
    response = api.patch(f"/tasks/{task_id}", {"title": "stale"}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert _stored(table, task_id)["title"] == {"S": "moved on"}


def test_unknown_task_update_is_404_and_creates_nothing(api, table):
    response = api.patch(f"/tasks/{uuid.uuid4()}", {"title": "ghost"}, format="json")
    assert response.status_code == 404
    assert harness.table_items(table) == []
