"""bench.capacity's arithmetic on small cases worked out by hand (issue 18)."""
import pytest

from bench import capacity
from bench.capacity import Workload

SMALL = Workload(creates=100, updates=0, status_changes=0, pages=10, hot_owner=1.0, item_kb=1.0, page_limit=2,
                 priority_share=0.0, shards=2, tagged=0.0, tag_share=0.0)
# Half the tasks carry 2 tags, all of the owner's tagged tasks one common tag; half the pages list by tag.
TAGGED = Workload(creates=100, updates=0, status_changes=20, pages=10, hot_owner=1.0, item_kb=1.0, page_limit=2,
                  priority_share=0.0, shards=2, tagged=0.5, tags_per_task=2.0, tag_share=0.5, hot_tag=1.0,
                  tag_item_kb=0.1)


def test_read_units_round_up_per_started_4kb_at_half_a_unit():
    assert [capacity.read_units(n, 1.0) for n in (1, 4, 5, 22)] == [0.5, 0.5, 1.0, 3.0]


def test_current_design_puts_every_create_on_the_pending_key():
    _, status, _ = capacity.current_design(SMALL)
    # 100 creates/s, 1 KB each, all "pending"; 10 pages/s, each one Query of 4 items (0.5 RCU) per status.
    assert (status.key, status.wcu, status.rcu, status.total_rcu) == ("pending", 100, 5.0, 15.0)


def test_sharded_design_divides_the_hot_key_by_the_shards():
    table, listing, by_priority, *tags = capacity.sharded_design(SMALL)
    assert [(row.total_wcu, row.total_rcu) for row in tags] == [(0, 0)] * 3  # no task has tags
    assert (listing.wcu, listing.rcu, listing.total_rcu) == (50.0, 5.0, 30.0)  # 2 shards x 3 statuses x 0.5 x 10
    assert (table.total_wcu, listing.total_wcu, by_priority.total_rcu) == (100, 100, 0.0)
    # 300 WCU/s and 30 RCU/s on demand: 3600 x (300 x 0.625 + 30 x 0.125) / 1e6 dollars an hour.
    assert capacity.cost_per_hour([table, listing, by_priority]) == pytest.approx(0.6885)


def test_at_the_goal_no_key_of_the_sharded_design_is_over_its_cap_and_the_current_one_is():
    goal = Workload()  # 10,000 creates/s, 30,000 pages/s, busiest owner 10%
    assert goal.creates == 10_000 and goal.pages == 30_000
    assert not any(row.over_cap for row in capacity.sharded_design(goal))
    assert capacity.current_design(goal)[1].over_cap
    assert "one owner can list 3,000 pages/s" in capacity.limits(goal)


def test_a_partition_is_needed_per_cap_of_total_load():
    row = capacity.Row("d", "t", "k", 0, 0, total_wcu=2_500, total_rcu=3_001)
    assert row.partitions == 3


def test_tagged_writes_are_transactions_and_tag_items_spread_over_the_shards():
    table, listing, _, tags_table, by_tag, by_tag_priority = capacity.sharded_design(TAGGED)
    # Table: 100 creates + 20 status changes, plus as much again for the half that are transactions (2 units).
    assert table.total_wcu == 120 + 0.5 * 120
    # Tag items: 1 per task on average (half the tasks, 2 tags each); 2 units each in the transaction.
    assert tags_table.total_wcu == 2 * 1.0 * 120
    # On an index, a create adds an item and a status change moves one (delete + put): 100 + 2 x 20 per slot.
    assert by_tag.total_wcu == by_tag_priority.total_wcu == 140
    # The hot key: the owner's tagged creates and status changes (60/s) of its one tag, over 2 shards.
    assert by_tag.wcu == 30
    # 5 tag pages/s, each one Query per (status, shard) of ceil(4 / 2) + 2 small items: 0.5 RCU on each key.
    assert (by_tag.rcu, by_tag.total_rcu, by_tag_priority.total_rcu) == (2.5, 15.0, 0.0)
    # ... and one consistent BatchGetItem of its 2 tasks and the next one on the table: 5 x 3 x 1 RCU.
    assert table.total_rcu == 15.0
    # The other 5 pages/s read list-shard-index as before: 0.5 RCU per key per page.
    assert listing.rcu == 2.5


def test_at_the_goal_no_tag_index_key_is_over_its_cap_even_if_one_tag_is_on_all_the_busiest_owners_tasks():
    rows = capacity.sharded_design(Workload(hot_tag=1.0))
    assert [row.target for row in rows[3:]] == ["tags table", "tag-shard-index", "tag-priority-shard-index"]
    assert not any(row.over_cap for row in rows)
