"""manage.py stream_poller: feed the tasks table's stream to the Lambda handler, as AWS does once deployed."""
import logging
import time

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.management.base import BaseCommand

from ops.streams import StreamPoller

logger = logging.getLogger("taskapi.streams")


class Command(BaseCommand):
    help = "Poll the tasks table's DynamoDB stream and invoke the Lambda handler with its batches (local only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between polls when idle.")
        parser.add_argument("--batch-size", type=int, default=100)
        parser.add_argument("--once", action="store_true", help="Poll every shard once, then exit.")
        parser.add_argument("--start", choices=["trim_horizon", "latest"], default="trim_horizon",
                            help="StartingPosition: every record the stream holds, or only those written from now.")

    def handle(self, *args, interval: float, batch_size: int, once: bool, start: str, **options) -> None:
        from taskapi.lambda_function import handler

        poller = StreamPoller(table=settings.TASKS_TABLE, handler=handler, batch_size=batch_size, start=start)
        ready = False
        while True:
            try:
                done = poller.poll()
            except (BotoCoreError, ClientError) as error:  # the emulator restarting, say: retry, as the mapping does
                logger.warning("stream poll failed: %s", error)
                done = 0
            if not ready and poller.ready:
                # Tests (and scripts) wait for this line: from here on, every write is handed over.
                self.stdout.write(f"stream poller: polling {poller.arn} ({start})")
                self.stdout.flush()
                ready = True
            if once:
                self.stdout.write(f"{done} stream records handled")
                return
            if not done:
                time.sleep(interval)
