"""Write-sharded index keys (issue 18): which GSI partition a task lands on and which ones a listing reads.

A listing's partition key is "<owner>#<status>#<shard>" (list-shard-index) or
"<owner>#<status>#<priority>#<shard>" (priority-shard-index), with "" as the owner of unowned tasks and
the shard derived from the task id, so one owner's creates spread over `shards` partitions instead of one.
Owners, statuses and priorities never contain the shard, so keys read from the right are unambiguous.
Tag keys (tag-shard-index, tag-priority-shard-index) hold a tag, which may contain "#": there the owner and
the tag are escaped ("%" -> "%25", "#" -> "%23"), so no part holds the separator and the key is unambiguous.
"""
import hashlib

from django.conf import settings


def shard_count() -> int:
    """Returns this stage's shard count (TASK_INDEX_SHARDS); changing it needs a rerun of create_table."""
    return settings.TASK_INDEX_SHARDS


def task_shard(task_id: str, *, shards: int | None = None) -> int:
    """Returns the shard of `task_id`: a stable hash, so every writer and the backfill agree."""
    count = shard_count() if shards is None else shards
    return int.from_bytes(hashlib.blake2b(task_id.encode(), digest_size=8).digest(), "big") % count


def list_key(*, owner: str | None, status: str, shard: int) -> str:
    """Returns the list-shard-index hash key of a task of `owner` and `status` in `shard`."""
    return f"{owner or ''}#{status}#{shard}"


def priority_key(*, owner: str | None, status: str, priority: str, shard: int) -> str:
    """Returns the priority-shard-index hash key of a task of `owner`, `status` and `priority` in `shard`."""
    return f"{owner or ''}#{status}#{priority}#{shard}"


def task_keys(*, task_id: str, owner: str | None, status: str, priority: str) -> dict[str, str]:
    """Returns both index keys of one task, by model attribute name."""
    shard = task_shard(task_id)
    return {"list_key": list_key(owner=owner, status=status, shard=shard),
            "priority_key": priority_key(owner=owner, status=status, priority=priority, shard=shard)}


def _part(text: str) -> str:
    """Escapes a free-form key part so that it never holds "#" (and the escape stays reversible)."""
    return text.replace("%", "%25").replace("#", "%23")


def tag_key(*, owner: str | None, status: str, tag: str, shard: int) -> str:
    """Returns the tag-shard-index hash key of a task of `owner` and `status` holding `tag`, in `shard`."""
    return f"{_part(owner or '')}#{status}#{shard}#{_part(tag)}"


def tag_priority_key(*, owner: str | None, status: str, priority: str, tag: str, shard: int) -> str:
    """Returns the tag-priority-shard-index hash key: as tag_key, per priority too."""
    return f"{_part(owner or '')}#{status}#{priority}#{shard}#{_part(tag)}"
