"""Idempotency-Key on POST /tasks: replay, mismatched body, in-flight duplicates, expired claims."""
import io
import json
import os
import time
import uuid

import pytest
from rest_framework.test import APIClient

from tests import harness


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def _post(client: APIClient, key: str | None, body: dict):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post("/tasks", body, format="json", **headers)


def _records() -> list[dict]:
    return harness.table_items(os.environ["IDEMPOTENCY_TABLE"])


def test_retry_with_same_key_and_body_replays_the_first_response(client, table):
    key = str(uuid.uuid4())
    first = _post(client, key, {"title": "Pay rent", "tags": ["home"]})
    again = _post(client, key, {"tags": ["home"], "title": "Pay rent"})  # same JSON, other key order
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    for header in ("Location", "ETag"):
        assert again.headers[header] == first.headers[header]
    assert first["Location"].endswith(f"/tasks/{first.json()['taskId']}")
    assert len(harness.table_items(table)) == 1


def test_replay_returns_the_first_response_even_after_the_task_changed(client, table):
    key = str(uuid.uuid4())
    first = _post(client, key, {"title": "Draft"})
    client.patch(f"/tasks/{first.json()['taskId']}", {"title": "Final"}, format="json")
    again = _post(client, key, {"title": "Draft"})
    assert (again.status_code, again.json(), again.headers["ETag"]) == (201, first.json(), '"1"')


def test_same_key_with_another_body_is_422_and_writes_nothing(client, table):
    key = str(uuid.uuid4())
    _post(client, key, {"title": "One"})
    other = _post(client, key, {"title": "Two"})
    assert other.status_code == 422
    assert other["Content-Type"] == "application/problem+json"
    assert other.json() == {
        "type": "about:blank", "title": "Idempotency-Key reused", "status": 422,
        "detail": "This Idempotency-Key was used with another request body; use a new key.",
    }
    assert [item["title"]["S"] for item in harness.table_items(table)] == ["One"]


def test_duplicate_while_the_first_is_in_flight_is_409_with_retry_after(client, table):
    from tasks import idempotency, repository

    key = str(uuid.uuid4())
    body = {"title": "Slow"}
    # The first request has claimed the key and not finished: exactly the state a concurrent retry sees.
    scoped = idempotency.record_key(key=key, owner=None)
    assert repository.idempotency_claim(key=scoped, fingerprint=idempotency.fingerprint(body), token="first",
                                        now=int(time.time())) is None
    duplicate = _post(client, key, body)
    assert duplicate.status_code == 409
    assert duplicate["Retry-After"] == "1"
    assert duplicate.json()["title"] == "Request in progress"
    assert harness.table_items(table) == []


def test_a_claim_whose_lease_ran_out_is_taken_over(client, table):
    from django.conf import settings

    from tasks import idempotency, repository

    key = str(uuid.uuid4())
    body = {"title": "After a crash"}
    scoped = idempotency.record_key(key=key, owner=None)
    # A claimer that crashed long enough ago that its lease (not the 24 h TTL) has run out.
    crashed_at = int(time.time()) - settings.IDEMPOTENCY_LEASE_SECONDS - 1
    repository.idempotency_claim(key=scoped, fingerprint=idempotency.fingerprint(body), token="crashed",
                                 now=crashed_at)
    retry = _post(client, key, body)
    assert retry.status_code == 201
    assert len(harness.table_items(table)) == 1


def test_records_expire_after_24_hours_by_ttl(client, table):
    from tasks import idempotency

    key = str(uuid.uuid4())
    before = int(time.time())
    _post(client, key, {"title": "Expiring"})
    (record,) = [r for r in _records() if r["key"]["S"] == idempotency.record_key(key=key, owner=None)]
    assert record["state"]["S"] == "complete"
    assert before + 24 * 3600 <= int(record["expiresAt"]["N"]) <= int(time.time()) + 24 * 3600
    ttl = harness.dynamodb().describe_time_to_live(TableName=os.environ["IDEMPOTENCY_TABLE"])
    assert ttl["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}


def test_an_expired_record_frees_its_key(client, table):
    from tasks import idempotency, repository

    key = str(uuid.uuid4())
    scoped = idempotency.record_key(key=key, owner=None)
    long_ago = int(time.time()) - 25 * 3600
    repository.idempotency_claim(key=scoped, fingerprint="another body", token="old", now=long_ago)
    created = _post(client, key, {"title": "Fresh"})
    assert created.status_code == 201


def test_invalid_body_does_not_claim_the_key(client, table):
    key = str(uuid.uuid4())
    assert _post(client, key, {"title": ""}).status_code == 400
    assert _post(client, key, {"title": "Fixed"}).status_code == 201


@pytest.mark.parametrize("header", ["", "x" * 256, "caf\u00e9"])
def test_malformed_key_is_400(client, table, header):
    response = _post(client, header, {"title": "T"})
    assert response.status_code == 400
    assert response.json()["title"] == "Invalid Idempotency-Key"
    assert harness.table_items(table) == []


def test_quoted_structured_field_key_equals_the_bare_key(client, table):
    first = _post(client, '"abc-123"', {"title": "Quoted"})
    again = _post(client, "abc-123", {"title": "Quoted"})
    assert again.json() == first.json()


def test_without_a_key_every_post_creates(client, table):
    _post(client, None, {"title": "A"})
    _post(client, None, {"title": "A"})
    assert len(harness.table_items(table)) == 2


def test_a_claim_whose_answers_were_all_lost_is_released_and_the_retry_creates(client, table):
    # Fault injection at botocore's before-send (the emulator cannot lose an answer on demand): the claim's
    # first PutItem is applied, then every attempt is answered 500, as when the answers never came back.
    from botocore.awsrequest import AWSResponse
    from urllib3.response import HTTPResponse

    from tasks import idempotency
    from tasks.models import IdempotencyRecord

    applied = []

    def lose_answer(request, **kwargs):
        params = json.loads(request.body)
        if "Item" not in params or "fingerprint" not in params["Item"]:
            return None
        if not applied:
            applied.append(harness.dynamodb().put_item(**params))
        body = b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"lost"}'
        return AWSResponse(request.url, 500, {}, HTTPResponse(body=io.BytesIO(body), status=500, preload_content=False))

    events = IdempotencyRecord._get_connection().connection.client.meta.events
    key = str(uuid.uuid4())
    events.register("before-send.dynamodb.PutItem", lose_answer)
    try:
        lost = _post(client, key, {"title": "Lost answers"})
    finally:
        events.unregister("before-send.dynamodb.PutItem", lose_answer)
    assert (lost.status_code, len(applied)) == (503, 1)
    # Released, so the retry need not wait out the lease (409 until then).
    assert [r for r in _records() if r["key"]["S"] == idempotency.record_key(key=key, owner=None)] == []
    retried = _post(client, key, {"title": "Lost answers"})
    assert retried.status_code == 201, retried.content
    assert len(harness.table_items(table)) == 1
