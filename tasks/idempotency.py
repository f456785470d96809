"""Idempotent creates: the Idempotency-Key rules (IETF httpapi draft) over the repository's records."""
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from taskapi.problems import BadRequest
from tasks import repository
from tasks.domain import IdempotencyInFlight, IdempotencyKeyReused, StoreUnavailable, Task
from tasks.services import task_new

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# What the schema promises: 1-255 visible ASCII characters without quotes (a quoted sf-string works too).
KEY_PATTERN = r"^[!#-~]{1,255}$"


class InvalidIdempotencyKey(BadRequest):
    title = "Invalid Idempotency-Key"


@dataclass(frozen=True)
class StoredResponse:
    """The response of a create, as replayed to every retry with the same key and body."""

    status: int
    headers: dict[str, str]
    body: dict

    def dumps(self) -> str:
        return json.dumps({"status": self.status, "headers": self.headers, "body": self.body},
                          separators=(",", ":"), sort_keys=True)

    @classmethod
    def loads(cls, text: str) -> "StoredResponse":
        data = json.loads(text)
        return cls(status=data["status"], headers=data["headers"], body=data["body"])


def key_parse(header: str | None) -> str | None:
    """Returns the key of an Idempotency-Key header (a structured-field string; bare tokens accepted too),
    None without the header. Raises InvalidIdempotencyKey."""
    if header is None:
        return None
    key = header.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not re.fullmatch(KEY_PATTERN, key):
        raise InvalidIdempotencyKey(
            f"{HEADER} must be 1-{MAX_KEY_LENGTH} visible ASCII characters without quotes, such as a UUID.")
    return key


def fingerprint(payload) -> str:
    """Returns a digest of the parsed request body: equal JSON values give equal fingerprints."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_key(*, key: str, owner: str | None) -> str:
    """Keys are per caller: the same key from two identities names two records (and stores no identity)."""
    return hashlib.sha256(f"{owner or ''}\n{key}".encode()).hexdigest()


def _claim(*, scoped: str, payload_fingerprint: str) -> tuple[str, StoredResponse | None]:
    """Claims `scoped` for this request; returns (claim token, None), or (token, the first answer) to replay.

    Raises IdempotencyKeyReused when the key came with another body, IdempotencyInFlight while the
    first request is still running.
    """
    token = uuid.uuid4().hex
    try:
        found = repository.idempotency_claim(key=scoped, fingerprint=payload_fingerprint, token=token,
                                             now=int(time.time()))
    except StoreUnavailable:
        # The claim may have landed with every answer lost: free the key, or the client's retry would get
        # 409 until the lease ran out, for a request that answers 503 and wrote nothing else.
        repository.idempotency_release(key=scoped, token=token)
        raise
    if found is None:
        return token, None
    if found.fingerprint != payload_fingerprint:
        raise IdempotencyKeyReused(f"This {HEADER} was used with another request body; use a new key.")
    if found.state == "complete" and found.response:
        return token, StoredResponse.loads(found.response)
    raise IdempotencyInFlight(f"A request with this {HEADER} is still in progress; retry shortly.",
                              headers={"Retry-After": "1"})


def task_create_once(*, key: str, payload_fingerprint: str, owner: str | None,
                     respond: Callable[[Task], StoredResponse], fields: dict) -> StoredResponse:
    """Creates the task for the first request with `key` and returns its response; a retry gets the
    same response replayed.

    Raises IdempotencyKeyReused (422) when the key came with another body, IdempotencyInFlight (409)
    while the first request is still running, StoreUnavailable (503).
    """
    scoped = record_key(key=key, owner=owner)
    token, replay = _claim(scoped=scoped, payload_fingerprint=payload_fingerprint)
    if replay is not None:
        return replay
    task = task_new(**fields)
    response = respond(task)
    try:
        repository.task_insert_idempotent(task=task, owner=owner, key=scoped, token=token, response=response.dumps())
    except Exception:
        repository.idempotency_release(key=scoped, token=token)
        raise
    return response


def batch_once(*, key: str, payload_fingerprint: str, owner: str | None,
               run: Callable[[], StoredResponse]) -> StoredResponse:
    """Runs the batch for the first request with `key` and stores its response; a retry with the same
    key and body gets it replayed. Raises IdempotencyKeyReused, IdempotencyInFlight, StoreUnavailable."""
    scoped = record_key(key=f"batch\n{key}", owner=owner)  # batch keys never collide with create keys
    token, replay = _claim(scoped=scoped, payload_fingerprint=payload_fingerprint)
    if replay is not None:
        return replay
    try:
        response = run()
    except Exception:
        repository.idempotency_release(key=scoped, token=token)
        raise
    repository.idempotency_complete(key=scoped, token=token, response=response.dumps())
    return response
