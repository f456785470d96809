"""manage.py setup_stream_consumer: the changes feed's consumer, Lambda reading the tasks table's stream."""
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ops import aws
from ops.specs import STREAM_FAILURE_QUEUE, stream_consumer
from ops.stages import StageNotFound, stage_default, stage_load

# Settings the mapping reports back the way they were sent; compared to decide whether to update.
_COMPARED = ("BatchSize", "MaximumBatchingWindowInSeconds", "ParallelizationFactor", "BisectBatchOnFunctionError",
             "FunctionResponseTypes", "MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "DestinationConfig")


class Command(BaseCommand):
    help = ("Create or update the event source mapping from the tasks table's stream to the stage's function "
            "(bisect on error, partial batch failures, bounded retries, an SQS on-failure queue).")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--stage", help="The deployed stage (default: STAGE when it names one, else dev).")
        parser.add_argument("--dry-run", action="store_true", help="Print the plan; change nothing.")

    def handle(self, *args, stage: str | None, dry_run: bool, **options) -> None:
        try:
            target = stage_load(stage or stage_default())
            self._apply(target, dry_run=dry_run)
        except (aws.AwsUnavailable, aws.Unsupported, StageNotFound) as error:
            raise CommandError(str(error)) from None
        except ClientError as error:
            detail = error.response.get("Error", {})
            raise CommandError(f"{error.operation_name} failed: {detail.get('Code')}: {detail.get('Message')}") from None

    def _apply(self, stage, *, dry_run: bool) -> None:
        table = aws.table_describe(stage.tasks_table)
        stream = table and table.get("LatestStreamArn")
        if not stream:
            raise CommandError(f"table {stage.tasks_table} has no stream; run create_table first")
        function = aws.function_arn(stage.function_name)
        if function is None:
            raise CommandError(f"function {stage.function_name} does not exist; run `zappa deploy {stage.name}` first")
        queue_name = STREAM_FAILURE_QUEUE.format(function=stage.function_name)
        queue = aws.queue_arn(queue_name)
        self.stdout.write(f"queue {queue_name}: {'unchanged' if queue else 'create'}")
        if queue is None:
            queue = "arn:aws:sqs:(to be created)" if dry_run else aws.queue_create(queue_name)
        desired = stream_consumer(stage, stream_arn=stream, function_arn=function, queue_arn=queue)
        current = aws.event_source_mappings(function=function, source_arn=stream)
        name = f"{stage.tasks_table} stream -> {stage.function_name}"
        if not current:
            self.stdout.write(f"event source mapping {name}: create")
            if not dry_run:
                aws.event_source_mapping_create(desired)
            return
        different = [key for key in _COMPARED if current[0].get(key) != desired[key]]
        self.stdout.write(f"event source mapping {name}: "
                          + (f"update ({', '.join(different)})" if different else "unchanged"))
        if different and not dry_run:
            aws.event_source_mapping_update(current[0]["UUID"], desired)
