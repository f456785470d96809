"""The layouts a backfill brings old tasks to, and the switches that wait for them (issue 18)."""
import json
import math
import time

from django.conf import settings
from pynamodb.exceptions import DoesNotExist

from tasks.models import IdempotencyRecord

# Layouts a backfill brings old tasks to: "index" (the sharded listing keys) and "tag" (tasks.tag_index).
LAYOUTS = ("index", "tag")


def _layout_key(layout: str = "index") -> str:
    # Idempotency records are keyed by SHA-256 hex digests, so this key never meets a client's.
    return f"ops#{layout}-layout#{settings.TASKS_TABLE}"


_layouts = {layout: {"state": "missing", "checked": -math.inf} for layout in LAYOUTS}

# Tag layout states that mean every write keeps its task's tag slots: "writing" (create_table made the tags table
# and waits until every process has seen this before it backfills), "running" (the backfill) and "complete".
# Before that ("missing": code deployed ahead of the table) writes leave the tags table alone.
_SLOTS_KEPT = ("writing", "running", "complete")


def _layout_state(layout: str) -> str:
    """The state create_table last recorded for `layout` ("missing", "writing", "running" or "complete").

    Cached per process; until "complete" it looks again at most every TASK_LAYOUT_RECHECK_SECONDS (one GetItem).
    """
    cached = _layouts[layout]
    if cached["state"] == "complete":
        return "complete"
    moment = time.monotonic()
    if moment - cached["checked"] >= settings.TASK_LAYOUT_RECHECK_SECONDS:
        cached["checked"] = moment
        try:
            cached["state"] = IdempotencyRecord.get(_layout_key(layout), consistent_read=True).state
        except DoesNotExist:
            cached["state"] = "missing"
    return cached["state"]


def _layout_ready(layout: str) -> bool:
    """Whether listings read what `layout` built: once create_table has recorded its backfill complete."""
    return _layout_state(layout) == "complete"


def _tag_slots_on() -> bool:
    """Whether writes keep their tasks' tag slots: once create_table has made the tags table (tasks.tag_index)."""
    return _layout_state("tag") in _SLOTS_KEPT


def _sharded_listing() -> bool:
    """Whether listings read the sharded indexes (their backfill is complete)."""
    return _layout_ready("index")


def index_layout_reset_cache() -> None:
    """Forgets the cached switches (tests, and ops after a migration in the same process)."""
    for cached in _layouts.values():
        cached.update(state="missing", checked=-math.inf)


# An ops record that never expires: TTL deletes only items whose expiry has passed.
_NEVER = 253_402_300_799  # 9999-12-31T23:59:59Z


def index_backfill_state(*, layout: str = "index") -> tuple[str, list | None]:
    """Returns the backfill's state ("missing", "running" or "complete") and its resume point (per-segment
    Scan keys, JSON-ready) as create_table last recorded them, for `layout` (LAYOUTS)."""
    try:
        record = IdempotencyRecord.get(_layout_key(layout), consistent_read=True)
    except DoesNotExist:
        return "missing", None
    return record.state, (json.loads(record.response) if record.response else None)


def index_backfill_record(*, state: str, resume: list | None = None, layout: str = "index") -> None:
    """Records the backfill's state and resume point; "complete" switches listings to what `layout` built."""
    owner_command = "create_table"  # who holds the record (the token field of a lease), not a secret
    IdempotencyRecord(_layout_key(layout), fingerprint=f"{layout}-layout", state=state, token=owner_command,
                      lease_until=_NEVER, expires_at=_NEVER,
                      response=json.dumps(resume) if resume is not None else None).save()
