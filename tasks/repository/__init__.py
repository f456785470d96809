"""Task persistence on DynamoDB: the only package that touches TaskModel; its API, one module per concept."""
from tasks.models import TaskModel
from tasks.repository.backfills import task_index_backfill_page, task_tag_backfill_page
from tasks.repository.batches import TRANSACTION_MAX_ACTIONS, atomic_actions, tasks_fetch_many, tasks_write_atomic
from tasks.repository.common import _new_item, task_from_image
from tasks.repository.idempotency_records import (
    IdempotencyAttempt,
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
    task_insert_idempotent,
)
from tasks.repository.layouts import (
    LAYOUTS,
    _layout_key,
    index_backfill_record,
    index_backfill_state,
    index_layout_reset_cache,
)
from tasks.repository.reads import task_page
from tasks.repository.writes import _update, _update_with_slots, task_change, task_fetch, task_insert, task_remove

# Callers use these as repository.<name> (tests and ops patch them here); the private ones are for tests.
__all__ = [
    "LAYOUTS", "TRANSACTION_MAX_ACTIONS", "IdempotencyAttempt", "TaskModel", "_layout_key", "_new_item", "_update",
    "_update_with_slots", "atomic_actions", "idempotency_claim", "idempotency_complete", "idempotency_release",
    "index_backfill_record", "index_backfill_state", "index_layout_reset_cache", "task_change", "task_fetch",
    "task_from_image", "task_index_backfill_page", "task_insert", "task_insert_idempotent", "task_page",
    "task_remove", "task_tag_backfill_page", "tasks_fetch_many", "tasks_write_atomic",
]
