"""manage.py lambda_policy: print the least-privilege IAM policy of a stage's function (for its execution role)."""
import json

from django.core.management.base import BaseCommand, CommandError

from ops import aws
from ops.specs import lambda_policy
from ops.stages import StageNotFound, stage_default, stage_load


class Command(BaseCommand):
    help = "Print the IAM policy document the stage's Lambda role needs: its tables, indexes and log group only."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--stage", help="A stage of zappa_settings.json (default: STAGE, or dev locally).")

    def handle(self, *args, stage: str | None, **options) -> None:
        try:
            deployed = stage_load(stage or stage_default())
            # arn:<partition>:dynamodb:<region>:<account>, from the caller's identity.
            _, partition, _, _, account = aws.account_arn_prefix("dynamodb").split(":")
        except (StageNotFound, aws.AwsUnavailable) as error:
            raise CommandError(str(error)) from None
        policy = lambda_policy(partition=partition, region=deployed.region, account=account,
                               tasks_table=deployed.tasks_table,
                               idempotency_table=f"{deployed.tasks_table}-idempotency",
                               function_name=deployed.function_name)
        self.stdout.write(json.dumps(policy, indent=2))
