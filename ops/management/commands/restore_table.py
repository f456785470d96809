"""manage.py restore_table: a stage's tasks table as it was at a point in time, in a new table, ready to cut over."""
from datetime import UTC, datetime

from botocore.exceptions import ClientError
from django.core.management.base import BaseCommand, CommandError

from ops import aws, recovery
from ops.stages import StageNotFound, stage_default, stage_load


def _when(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"--to-time {text!r} is not an ISO 8601 time (e.g. 2026-12-01T21:30:00Z)") from None
    if when.tzinfo is None:
        raise CommandError(f"--to-time {text!r} has no time zone; add Z for UTC")
    return when.astimezone(UTC)


class Command(BaseCommand):
    help = "Restore the stage's tasks table to a point in time into a new table; re-apply settings; verify."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--stage", help="The deployed stage (default: STAGE when it names one, else dev).")
        parser.add_argument("--to-time", required=True, help="ISO 8601 time with zone, e.g. 2026-12-01T21:30:00Z.")
        parser.add_argument("--into", help="Name of the new table (default: <table>-restored-<time>).")
        parser.add_argument("--dry-run", action="store_true", help="Print the plan; change nothing.")

    def handle(self, *args, stage: str | None, to_time: str, into: str | None, dry_run: bool, **options) -> None:
        when = _when(to_time)
        try:
            target_stage = stage_load(stage or stage_default())
            source = target_stage.tasks_table
            target = into or recovery.restore_name(source, when)
            if aws.table_describe(source) is None:
                raise CommandError(f"table {source} of stage {target_stage.name} does not exist")
            if aws.table_describe(target) is not None:
                raise CommandError(f"table {target} already exists; choose another --into")
            self.stdout.write(f"restore {source} as of {when.isoformat()} into {target}")
            self.stdout.write(f"then re-apply: {', '.join(recovery.REAPPLIED)}; then verify item count and indexes")
            if dry_run:
                self.stdout.write("dry run, nothing changed")
                return
            report = recovery.table_restore(source=source, target=target, to_time=when)
        except (aws.AwsUnavailable, aws.Unsupported, StageNotFound) as error:
            raise CommandError(str(error)) from None
        except ClientError as error:
            detail = error.response.get("Error", {})
            raise CommandError(f"{error.operation_name} failed: {detail.get('Code')}: {detail.get('Message')}") from None
        for step, seconds, outcome in report.steps:
            self.stdout.write(f"{step}: {outcome} ({seconds:.1f} s)")
        if report.missing_indexes:
            raise CommandError(f"restored table {target} lacks indexes {', '.join(report.missing_indexes)}")
        self.stdout.write(f"verified: {report.target_count} items in {target} "
                          f"({report.source_count} in {source} now, which includes writes after the restore time)")
        self.stdout.write("cut over:")
        for line in recovery.cutover_steps(stage=target_stage.name, target=target):
            self.stdout.write(f"  {line}")
