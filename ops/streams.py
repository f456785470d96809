"""A local stand-in for Lambda's DynamoDB event source mapping: reads the table's stream shards and
invokes the real handler with Lambda-shaped batches, honouring ReportBatchItemFailures."""
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings

from ops import aws

logger = logging.getLogger("taskapi.streams")


def _lambda_record(record: dict[str, Any], *, arn: str) -> dict[str, Any]:
    """boto3 parses ApproximateCreationDateTime into a datetime; Lambda sends epoch seconds."""
    stream = dict(record["dynamodb"])
    moment = stream.get("ApproximateCreationDateTime")
    if moment is not None and not isinstance(moment, int | float):
        stream["ApproximateCreationDateTime"] = moment.timestamp()
    return {**record, "dynamodb": stream, "eventSource": "aws:dynamodb", "eventSourceARN": arn,
            "awsRegion": record.get("awsRegion") or settings.AWS_REGION}


class StreamPoller:
    """What the event source mapping does, one `poll()` at a time: per shard, batches of `batch_size`
    records in order; a reported failure is retried from that record up to `max_retries` times, then
    logged as sent to the on-failure destination and passed over (as Lambda does).

    `start` is the mapping's StartingPosition: "trim_horizon" hands over every record the stream holds,
    "latest" only those after the first poll (that poll reads the shards to their ends, handing nothing)."""

    def __init__(self, *, table: str, handler: Callable[[dict, Any], dict], batch_size: int = 100,
                 max_retries: int = 10, start: str = "trim_horizon") -> None:
        if start not in {"trim_horizon", "latest"}:
            raise ValueError(f"start must be trim_horizon or latest, not {start!r}")
        self.table, self.handler, self.batch_size, self.max_retries = table, handler, batch_size, max_retries
        self.positions: dict[str, str | None] = {}  # shard id -> last sequence number done
        self.failures: dict[str, int] = {}
        self.arn: str | None = None
        self._skip = start == "latest"

    @property
    def ready(self) -> bool:
        """Whether the stream is found and positioned: every later write reaches the handler."""
        return self.arn is not None and not self._skip

    def poll(self) -> int:
        """Reads every shard once from where it stopped; returns how many records the handler took."""
        if self.arn is None:
            table = aws.table_describe(self.table)
            self.arn = table and table.get("LatestStreamArn")
            if not self.arn:
                return 0
        done = 0
        for shard in aws.stream_shards(self.arn):
            done += self._skip_to_end(shard["ShardId"]) if self._skip else self._shard(shard["ShardId"])
        self._skip = False
        return done

    def _skip_to_end(self, shard_id: str) -> int:
        """Moves the shard's position past every record it holds now, handing none to the handler."""
        iterator = aws.shard_iterator(self.arn, shard_id, after=None)
        while iterator:
            records, iterator = aws.stream_records(iterator, limit=1000)
            if not records:
                break
            self.positions[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
        return 0

    def _shard(self, shard_id: str) -> int:
        iterator = aws.shard_iterator(self.arn, shard_id, after=self.positions.get(shard_id))
        done = 0
        while iterator:
            records, iterator = aws.stream_records(iterator, limit=self.batch_size)
            if not records:
                return done
            batch = [_lambda_record(record, arn=self.arn) for record in records]
            try:
                answer = self.handler({"Records": batch}, None) or {}
            except Exception:
                logger.exception("stream batch of shard %s crashed the handler", shard_id)
                answer = {"batchItemFailures": [{"itemIdentifier": batch[0]["dynamodb"]["SequenceNumber"]}]}
            failed = [item.get("itemIdentifier") for item in answer.get("batchItemFailures") or []]
            for record in batch:
                number = record["dynamodb"]["SequenceNumber"]
                if number in failed:
                    self.failures[number] = self.failures.get(number, 0) + 1
                    if self.failures[number] <= self.max_retries:
                        return done  # next poll resumes at this record
                    logger.error("stream record %s failed %d times; sent to the on-failure destination",
                                 number, self.failures[number])
                self.positions[shard_id] = number
                done += 1
                if number in failed:
                    return done
        return done
