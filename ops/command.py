"""The shape every monitoring command shares: --stage and --dry-run, plan, print, apply, one-line errors."""
import re
from collections import Counter

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ops import aws
from ops.monitoring import step_apply
from ops.plans import PENDING, SKIP, Step
from ops.stages import Stage, StageNotFound, stage_default, stage_load

_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")


class MonitoringCommand(BaseCommand):
    """Subclasses return their plan from `plan`; this prints it and applies the steps that change something."""

    def add_arguments(self, parser) -> None:
        parser.add_argument("--stage", help="The deployed stage (default: STAGE when it names one, else dev).")
        parser.add_argument("--dry-run", action="store_true", help="Print the plan; change nothing.")

    def plan(self, stage: Stage, **options) -> list[Step]:
        raise NotImplementedError

    def apply(self, step: Step) -> str | None:
        """Makes one step's change (a subscription's ARN for subscriptions); commands of other layers override it."""
        return step_apply(step)

    def handle(self, *args, stage: str | None, dry_run: bool, **options) -> None:
        try:
            target = stage_load(stage or stage_default())
            if target.region != settings.AWS_REGION:
                raise CommandError(f"stage {target.name} is deployed in {target.region} but AWS_REGION is "
                                   f"{settings.AWS_REGION}; set AWS_REGION={target.region}")
            planned = self.plan(target, **options)
            steps = [step for step in planned if step.action != SKIP]
            for step in steps:
                self.stdout.write(str(step))
            pending = [step.name for step in steps if "pending confirmation" in step.note]
            if not dry_run:
                for step in steps:
                    if self.apply(step) in {PENDING, "pending confirmation"}:
                        pending.append(step.name)
            self.stdout.write(self._summary(steps, dry_run=dry_run))
            for step in planned:
                if step.action == SKIP:
                    self.stdout.write(f"skipped {step.kind} {step.name}: {step.note}")
            if pending:
                self.stdout.write(f"awaiting confirmation (each address must click the link SNS emailed): "
                                  f"{', '.join(pending)}")
        except (aws.AwsUnavailable, aws.Unsupported, StageNotFound) as error:
            raise CommandError(str(error)) from None
        except ClientError as error:
            detail = error.response.get("Error", {})
            reason = f"{detail.get('Code')}: {detail.get('Message')}"
            raise CommandError(f"{error.operation_name} failed: {reason}") from None

    @staticmethod
    def _summary(steps: list[Step], *, dry_run: bool) -> str:
        counts = Counter(step.action for step in steps)
        summary = ", ".join(f"{count} {action}" for action, count in counts.items())
        if not any(step.changes for step in steps):
            return f"{summary}: nothing to change"
        return f"{summary}: dry run, nothing changed" if dry_run else f"{summary}: applied"


def alert_emails(given: list[str] | None, *, required: bool) -> list[str]:
    """Returns the --email addresses, else ALERT_EMAILS; raises CommandError for a malformed or missing one."""
    emails = given or settings.ALERT_EMAILS
    for email in emails:
        if not _EMAIL.match(email):
            raise CommandError(f"{email!r} is not an email address")
    if required and not emails:
        raise CommandError("no alert addresses: pass --email ADDRESS or set ALERT_EMAILS")
    return emails


def add_email_argument(parser) -> None:
    parser.add_argument("--email", action="append", metavar="ADDRESS",
                        help="Subscribe this address to the alert topic (repeatable; default ALERT_EMAILS).")


class TransferCommand(BaseCommand):
    """--stage (or --table) names the table; subclasses move the data in `transfer`; errors are one line."""

    def add_arguments(self, parser) -> None:
        parser.add_argument("--stage", help="The stage whose TASKS_TABLE to use (default: STAGE, else dev).")
        parser.add_argument("--table", help="A table name instead of the stage's.")

    def transfer(self, table: str, **options) -> None:
        raise NotImplementedError

    @staticmethod
    def error(message: str) -> CommandError:
        return CommandError(message)

    def handle(self, *args, stage: str | None, table: str | None, **options) -> None:
        try:
            name = table or stage_load(stage or stage_default()).tasks_table
            self.transfer(name, **options)
        except (aws.AwsUnavailable, aws.Unsupported, aws.Throttled, StageNotFound) as error:
            raise CommandError(str(error)) from None
        except ClientError as error:
            detail = error.response.get("Error", {})
            raise CommandError(f"{error.operation_name} failed: {detail.get('Code')}: {detail.get('Message')}") from None
