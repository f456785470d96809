"""The local event source mapping (ops.streams.StreamPoller) on the emulator's real stream: its starting
positions, and a handler that crashes instead of reporting failures."""
import pytest
from rest_framework.test import APIClient

from ops.streams import StreamPoller
from tests import harness


def _write(title: str) -> str:
    return APIClient().post("/tasks", {"title": title}, format="json").json()["taskId"]


def _task_ids(event: dict) -> list[str]:
    return [r["dynamodb"]["Keys"]["taskId"]["S"] for r in event["Records"]]


def test_latest_hands_over_only_records_written_after_it_is_ready(table):
    before = _write("before")
    harness.wait_until(lambda: before in _all_task_ids(table), timeout=30, what="the earlier record on the stream")
    seen: list[str] = []
    poller = StreamPoller(table=table, start="latest",
                          handler=lambda event, context: seen.extend(_task_ids(event)) or {"batchItemFailures": []})
    assert not poller.ready
    assert poller.poll() == 0 and poller.ready and seen == []
    after = _write("after")
    harness.wait_until(lambda: poller.poll() or after in seen, timeout=30, what="the later record handed over")
    assert before not in seen and seen.count(after) == 1


def test_trim_horizon_hands_over_what_the_stream_already_holds(table):
    earlier = _write("earlier")
    seen: list[str] = []
    poller = StreamPoller(table=table,
                          handler=lambda event, context: seen.extend(_task_ids(event)) or {"batchItemFailures": []})
    harness.wait_until(lambda: poller.poll() or earlier in seen, timeout=30, what="the earlier record handed over")
    assert poller.ready


def test_a_crashing_handler_is_retried_with_the_whole_batch(table):
    batches: list[list[str]] = []

    def crashes_once(event, context):
        batches.append(_task_ids(event))
        if len(batches) == 1:
            raise RuntimeError("the function timed out")
        return {"batchItemFailures": []}

    poller = StreamPoller(table=table, handler=crashes_once, start="latest")
    poller.poll()
    task_id = _write("crash")
    harness.wait_until(lambda: task_id in _all_task_ids(table), timeout=30, what="the record on the stream")
    assert poller.poll() == 0 and batches == [[task_id]]  # crashed: nothing done, the poller carries on
    assert poller.poll() == 1 and batches == [[task_id], [task_id]]  # the same batch again
    assert poller.poll() == 0 and len(batches) == 2


def test_an_unknown_starting_position_is_refused():
    with pytest.raises(ValueError, match="trim_horizon or latest"):
        StreamPoller(table="t", handler=lambda event, context: {}, start="at_timestamp")


def _all_task_ids(table: str) -> list[str]:
    from ops import aws

    arn = aws.table_describe(table)["LatestStreamArn"]
    found = []
    for shard in aws.stream_shards(arn):
        iterator = aws.shard_iterator(arn, shard["ShardId"], after=None)
        while iterator:
            records, iterator = aws.stream_records(iterator, limit=1000)
            if not records:
                break
            found += [r["dynamodb"]["Keys"]["taskId"]["S"] for r in records]
    return found
