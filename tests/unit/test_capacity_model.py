"""bench.capacity's arithmetic on small cases worked out by hand (issue 18)."""
import pytest

from bench import capacity
from bench.capacity import Workload

SMALL = Workload(creates=100, updates=0, status_changes=0, pages=10, hot_owner=1.0, item_kb=1.0, page_limit=2,
                 priority_share=0.0, shards=2)


def test_read_units_round_up_per_started_4kb_at_half_a_unit():
    assert [capacity.read_units(n, 1.0) for n in (1, 4, 5, 22)] == [0.5, 0.5, 1.0, 3.0]


def test_current_design_puts_every_create_on_the_pending_key():
    _, status, _ = capacity.current_design(SMALL)
    # 100 creates/s, 1 KB each, all "pending"; 10 pages/s, each one Query of 4 items (0.5 RCU) per status.
    assert (status.key, status.wcu, status.rcu, status.total_rcu) == ("pending", 100, 5.0, 15.0)


def test_sharded_design_divides_the_hot_key_by_the_shards():
    table, listing, by_priority = capacity.sharded_design(SMALL)
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
