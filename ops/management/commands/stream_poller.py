"""manage.py stream_poller: feed the tasks table's stream to the Lambda handler, as AWS does once deployed."""
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from ops.streams import StreamPoller


class Command(BaseCommand):
    help = "Poll the tasks table's DynamoDB stream and invoke the Lambda handler with its batches (local only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between polls when idle.")
        parser.add_argument("--batch-size", type=int, default=100)
        parser.add_argument("--once", action="store_true", help="Poll every shard once, then exit.")

    def handle(self, *args, interval: float, batch_size: int, once: bool, **options) -> None:
        from taskapi.lambda_function import handler

        poller = StreamPoller(table=settings.TASKS_TABLE, handler=handler, batch_size=batch_size)
        while True:
            done = poller.poll()
            if once:
                self.stdout.write(f"{done} stream records handled")
                return
            if not done:
                time.sleep(interval)
