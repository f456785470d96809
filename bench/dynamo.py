"""DynamoDB for the bench: seeding many tasks fast, and reading the capacity each request consumed."""
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import boto3
from botocore.config import Config

STATUSES = ("pending", "in_progress", "completed")
PRIORITIES = ("low", "medium", "high")
BATCH = 25  # BatchWriteItem's maximum
# Seeded tasks were created before the bench starts, one every few seconds going back from here.
_SEED_EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


def raw_client():
    """Returns a plain boto3 DynamoDB client with default settings (endpoint and region from the environment)."""
    return boto3.client("dynamodb")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def seed_item(number: int, rng: random.Random) -> dict:
    """Returns the DynamoDB item of seeded task `number`, shaped like the ones the API writes."""
    created = _stamp(_SEED_EPOCH - timedelta(seconds=number * 7, milliseconds=rng.randrange(1000)))
    item = {
        "taskId": {"S": str(uuid.UUID(int=rng.getrandbits(128), version=4))},
        "title": {"S": f"Seeded task {number}"},
        "description": {"S": "A task written by the bench seeder to give the table a realistic size."},
        "status": {"S": STATUSES[number % 3]},
        "priority": {"S": rng.choice(PRIORITIES)},
        "createdAt": {"S": created},
        "updatedAt": {"S": created},
        "tags": {"L": [{"S": "seed"}, {"S": f"batch-{number // 1000}"}]},
        "version": {"N": "1"},
    }
    from tasks import shards  # issue 18: the sharded listing keys the API writes (needs Django set up)

    keys = shards.task_keys(task_id=item["taskId"]["S"], owner=None, status=item["status"]["S"],
                            priority=item["priority"]["S"])
    item.update(listKey={"S": keys["list_key"]}, priorityKey={"S": keys["priority_key"]})
    return item


def seed(*, table: str, start: int, stop: int, threads: int = 8) -> None:
    """Writes seeded tasks number start..stop-1 with BatchWriteItem, 25 per call, from `threads` threads."""
    client = boto3.client("dynamodb", config=Config(max_pool_connections=threads, retries={"mode": "standard"}))

    def write(first: int) -> None:
        rng = random.Random(first)
        requests = [{"PutRequest": {"Item": seed_item(n, rng)}} for n in range(first, min(first + BATCH, stop))]
        pending = {table: requests}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(write, range(start, stop, BATCH)))


class CapacityMeter:
    """Sums the ConsumedCapacity of every DynamoDB call a botocore client makes, between reset() and read().

    PynamoDB already asks for ReturnConsumedCapacity=TOTAL on data calls; this only reads the answers,
    through botocore's after-call event, so no application code changes for the bench.
    """

    def __init__(self) -> None:
        self.units = 0.0
        self.calls = 0

    def attach(self, client) -> None:
        client.meta.events.register("after-call.dynamodb", self._after_call)

    def _after_call(self, parsed: dict, **_) -> None:
        self.calls += 1
        consumed = parsed.get("ConsumedCapacity")
        for entry in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            self.units += float(entry.get("CapacityUnits", 0))

    def reset(self) -> None:
        self.units, self.calls = 0.0, 0

    def read(self) -> tuple[float, int]:
        """Returns (capacity units, calls) since the last reset, and resets."""
        result = (self.units, self.calls)
        self.reset()
        return result


def app_client():
    """Returns the botocore client the app's PynamoDB model uses (created on first use)."""
    from tasks.repository import TaskModel

    return TaskModel._get_connection().connection.client
