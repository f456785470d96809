"""Capacity model (issue 18): write and read units per partition-key value per second on the table and each
index, for the current key design and the write-sharded one, against DynamoDB's per-partition caps.

Pure arithmetic from the key design and a workload; `python -m bench.capacity` prints the table.
Units: a write of an item up to 1 KB is 1 WCU; an eventually consistent read (every GSI read) of up to
4 KB is 0.5 RCU, rounded up per request. Caps per partition: 1,000 WCU/s and 3,000 RCU/s.
"""
import argparse
import math
from dataclasses import dataclass

WRITE_CAP, READ_CAP = 1_000, 3_000
STATUSES, PRIORITIES = 3, 3
# On-demand prices, us-east-1 (since November 2024): per million write / read request units.
PRICE_WRITE, PRICE_READ = 0.625, 0.125


@dataclass(frozen=True)
class Workload:
    creates: float = 10_000  # per second
    updates: float = 5_000  # field updates that change neither status nor priority
    status_changes: float = 3_000
    pages: float = 30_000  # list pages per second
    hot_owner: float = 0.10  # the busiest owner's share of creates and of pages (the skew)
    item_kb: float = 1.0
    page_limit: int = 20
    priority_share: float = 0.25  # pages that filter by priority
    shards: int = 8
    tagged: float = 0.5  # share of tasks with tags (their creates and status changes are transactions)
    tags_per_task: float = 3.0  # tags of a tagged task: one tag-index item each
    tag_share: float = 0.25  # pages that filter by tag (a quarter of them by priority too)
    hot_tag: float = 1.0  # share of the busiest owner's tagged tasks that carry its most used tag
    tag_item_kb: float = 0.1  # a tag item: taskId, slot, tag, createdAt and its two keys


@dataclass(frozen=True)
class Row:
    design: str
    target: str  # the table or an index
    key: str  # its hottest partition-key value
    wcu: float  # on that key, per second
    rcu: float
    total_wcu: float  # on the whole table or index
    total_rcu: float

    @property
    def partitions(self) -> int:
        return max(1, math.ceil(self.total_wcu / WRITE_CAP), math.ceil(self.total_rcu / READ_CAP))

    @property
    def over_cap(self) -> bool:
        return self.wcu > WRITE_CAP or self.rcu > READ_CAP


def read_units(items: float, item_kb: float) -> float:
    """RCU of one eventually consistent Query returning `items` items: 0.5 per started 4 KB."""
    return 0.5 * max(1, math.ceil(items * item_kb / 4))


def current_design(w: Workload) -> list[Row]:
    """status-index (key: status, on every task, owned or not) and owner-status-index (key: owner#status); a
    page is one Query per status reading limit + 2 items, and a priority filter reads past the other
    priorities (about 3x the items). The hot owner may be the unowned tasks (status-index) or an owner."""
    wu = math.ceil(w.item_kb)
    writes = w.creates + w.updates + w.status_changes
    # Every create lands on "pending"; a third of updates touch pending tasks; a status change deletes from it.
    pending = (w.creates + w.updates / STATUSES + w.status_changes) * wu
    index_total = (w.creates + w.updates + 2 * w.status_changes) * wu
    plain = w.pages * (1 - w.priority_share)
    filtered = w.pages * w.priority_share
    per_status = plain * read_units(w.page_limit + 2, w.item_kb) + filtered * read_units(
        PRIORITIES * (w.page_limit + 2), w.item_kb)
    return [
        Row("current", "table", "taskId", wu, 0, writes * wu, 0),
        Row("current", "status-index", "pending", pending, per_status * w.hot_owner, index_total,
            per_status * STATUSES * w.hot_owner),
        Row("current", "owner-status-index", "<hot owner>#pending", pending * w.hot_owner, per_status * w.hot_owner,
            index_total, per_status * STATUSES * (1 - w.hot_owner)),
    ]


def sharded_design(w: Workload) -> list[Row]:
    """list-shard-index (owner#status#shard) and priority-shard-index (owner#status#priority#shard), legacy
    indexes retired; a page is one Query per (status, shard) reading ceil((limit + 2) / shards) + 2 items.
    The table's writes of tagged tasks' creates and status changes are transactions (2 units per KB)."""
    wu = math.ceil(w.item_kb)
    writes = w.creates + w.updates + w.status_changes + w.tagged * (w.creates + w.status_changes)
    index_total = (w.creates + w.updates + 2 * w.status_changes) * wu
    hot_scope = w.hot_owner  # the unowned tasks of demo mode count as one owner
    list_key = hot_scope * (w.creates + w.updates / STATUSES + w.status_changes) * wu / w.shards
    per_query = read_units(math.ceil((w.page_limit + 2) / w.shards) + 2, w.item_kb)
    untagged_pages = w.pages * (1 - w.tag_share)
    plain = untagged_pages * (1 - w.priority_share) * per_query
    filtered = untagged_pages * w.priority_share * per_query
    # A tag page fetches its tasks (the page and the one after it) with one consistent BatchGetItem: 1 RCU per
    # started 4 KB of each, every one on its own taskId key.
    fetched = w.pages * w.tag_share * (w.page_limit + 1) * math.ceil(w.item_kb / 4)
    # Worst case for the priority index: every create of the hot owner has one priority.
    return [
        Row("sharded", "table", "taskId", 2 * wu, 0, writes * wu, fetched),
        Row("sharded", "list-shard-index", "<hot owner>#pending#<shard>", list_key, plain * hot_scope,
            index_total, plain * STATUSES * w.shards),
        Row("sharded", "priority-shard-index", "<hot owner>#pending#<p>#<shard>", list_key, filtered * hot_scope,
            index_total, filtered * STATUSES * w.shards),
        *tag_rows(w),
    ]


def tag_rows(w: Workload) -> list[Row]:
    """The tags table (one item per task and tag slot, key taskId + slot) and its two keys-only indexes,
    tag-shard-index (owner#status#tag#shard) and tag-priority-shard-index (owner#status#priority#tag#shard).

    A tagged task's create writes its slots in the task's transaction (2 units per item on the table, 1 on each
    index); its status change rewrites them (on each index an item whose key moves is a delete and a put). A
    tag page reads one Query per (status, shard) of small items. The worst case for the hot key: the busiest
    owner's tagged tasks all carry one tag (`hot_tag`), all pending, all listed by that tag.
    """
    slots = w.tagged * w.tags_per_task  # tag items per task, on average
    item_units = math.ceil(w.tag_item_kb)
    table_total = 2 * slots * (w.creates + w.status_changes) * item_units
    index_total = slots * (w.creates + 2 * w.status_changes) * item_units
    hot_key = w.hot_owner * w.hot_tag * w.tagged * (w.creates + w.status_changes) * item_units / w.shards
    per_query = read_units(math.ceil((w.page_limit + 2) / w.shards) + 2, w.tag_item_kb)
    pages = w.pages * w.tag_share
    plain, filtered = pages * (1 - w.priority_share) * per_query, pages * w.priority_share * per_query
    return [
        Row("sharded", "tags table", "taskId", 2 * math.ceil(w.tags_per_task) * item_units, 0, table_total, 0),
        Row("sharded", "tag-shard-index", "<hot owner>#pending#<tag>#<shard>", hot_key, plain * w.hot_owner,
            index_total, plain * STATUSES * w.shards),
        Row("sharded", "tag-priority-shard-index", "<hot owner>#pending#<p>#<tag>#<shard>", hot_key,
            filtered * w.hot_owner, index_total, filtered * STATUSES * w.shards),
    ]


def cost_per_hour(rows: list[Row]) -> float:
    """On-demand dollars per hour for the units of `rows` (table and indexes)."""
    wcu = sum(row.total_wcu for row in rows)
    rcu = sum(row.total_rcu for row in rows)
    return 3600 * (wcu * PRICE_WRITE + rcu * PRICE_READ) / 1e6


def table(w: Workload) -> str:
    """Returns the printed capacity table for both designs under `w`."""
    lines = [f"workload: {w}", f"caps per partition: {WRITE_CAP} WCU/s, {READ_CAP} RCU/s",
             f"{'design':8} {'table/index':24} {'hottest key':40} {'WCU/s':>9} {'RCU/s':>9} {'total WCU/s':>12} "
             f"{'total RCU/s':>12} {'partitions':>10}  over cap"]
    for rows in (current_design(w), sharded_design(w)):
        for row in rows:
            lines.append(f"{row.design:8} {row.target:24} {row.key:40} {row.wcu:9.0f} {row.rcu:9.0f} "
                         f"{row.total_wcu:12.0f} {row.total_rcu:12.0f} {row.partitions:10d}  "
                         f"{'YES' if row.over_cap else 'no'}")
        lines.append(f"{'':8} cost on demand: ${cost_per_hour(rows):,.2f}/hour")
    return "\n".join(lines)


def limits(w: Workload) -> str:
    """The largest load the sharded design holds under the workload's skew, and what breaks first."""
    per_query = read_units(math.ceil((w.page_limit + 2) / w.shards) + 2, w.item_kb)
    owner_pages = READ_CAP / per_query  # each page of an owner reads each of its keys once
    owner_creates = WRITE_CAP * w.shards / math.ceil(w.item_kb)  # creates only, no updates
    return (f"sharded, {w.shards} shards: one owner can list {owner_pages:,.0f} pages/s ({per_query} RCU per key "
            f"per page) and create {owner_creates:,.0f} tasks/s; with the busiest owner at {w.hot_owner:.0%}, "
            f"{owner_pages / w.hot_owner:,.0f} pages/s and {owner_creates / w.hot_owner:,.0f} creates/s in all. "
            f"Reads of the busiest owner's keys break first.\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__)
    for name, value in Workload().__dict__.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    w = Workload(**vars(parser.parse_args(argv)))
    print(table(w))
    print(limits(w))


if __name__ == "__main__":
    main()
