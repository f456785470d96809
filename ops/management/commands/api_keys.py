"""manage.py api_keys create|list|revoke: per-client API keys of a stage, on its usage plans."""
import datetime as dt

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ops import aws, gateway_specs, usage_plans
from ops.gateway_specs import CLIENT_TAG, STAGE_TAG
from ops.stages import StageNotFound, stage_default, stage_load


class Command(BaseCommand):
    help = "Create a client's API key on a usage plan (its value is shown once), list keys with usage, revoke keys."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        for action, text in (("create", "Create a key for a client and put it on a usage plan."),
                             ("list", "List the stage's keys: id, client, state, plans and the last week's usage."),
                             ("revoke", "Disable every key of a client; the gateway refuses them at once.")):
            sub = actions.add_parser(action, help=text, description=text)
            sub.add_argument("--stage", help="The deployed stage (default: STAGE when it names one, else dev).")
            if action != "list":
                sub.add_argument("--client", required=True, help="Who the key is for (letters, digits, - and _).")
                sub.add_argument("--dry-run", action="store_true", help="Print what would change; change nothing.")
            if action == "create":
                sub.add_argument("--plan", required=True, help="The usage plan's name within the stage.")

    def handle(self, *args, action: str, stage: str | None = None, **options) -> None:
        try:
            target = stage_load(stage or stage_default())
            if target.region != settings.AWS_REGION:
                raise CommandError(f"stage {target.name} is deployed in {target.region} but AWS_REGION is "
                                   f"{settings.AWS_REGION}; set AWS_REGION={target.region}")
            getattr(self, f"_{action}")(target, **options)
        except (aws.AwsUnavailable, aws.Unsupported, StageNotFound, usage_plans.UsageError) as error:
            raise CommandError(str(error)) from None
        except ClientError as error:
            detail = error.response.get("Error", {})
            raise CommandError(f"{error.operation_name} failed: {detail.get('Code')}: {detail.get('Message')}") from None

    def _create(self, stage, *, client: str, plan: str, dry_run: bool = False, **options) -> None:
        usage_plans.name_check("client", client)
        plan_name = gateway_specs.usage_plan_name(stage, usage_plans.name_check("usage plan", plan))
        found = usage_plans.plan_named(plan_name)
        if found is None:
            raise CommandError(f"no usage plan {plan_name}: create it with create_usage_plan --stage {stage.name} "
                               f"--name {plan} --rate R --burst B")
        name = gateway_specs.api_key_name(stage, client)
        enabled = [key for key in usage_plans.stage_keys(stage) if usage_plans.client_of(key) == client
                   and key.get("enabled")]
        if enabled:
            # The value was shown when the key was made; a second key would leave the client two.
            raise CommandError(f"client {client} already has key {enabled[0]['id']}; revoke it first to replace it")
        self.stdout.write(f"api key {name}: create (plan {plan_name})")
        if dry_run:
            self.stdout.write("1 create: dry run, nothing changed")
            return
        key = aws.api_key_create(name=name, tags={STAGE_TAG: stage.name, CLIENT_TAG: client})
        aws.usage_plan_key_add(found["id"], key["id"])
        self.stdout.write(f"id: {key['id']}")
        self.stdout.write(f"value: {key['value']}")
        self.stdout.write("1 create: applied. Send the value as the x-api-key header; it is not shown again.")

    def _list(self, stage, **options) -> None:
        keys = usage_plans.stage_keys(stage)
        today = dt.datetime.now(dt.UTC).date()
        for key in keys:
            plans = aws.usage_plans(key_id=key["id"])
            state = "enabled" if key.get("enabled") else "revoked"
            uses = [f"{plan['name']}: {usage_plans.key_usage(plan['id'], key['id'], today=today)}" for plan in plans]
            self.stdout.write(f"{key['id']} {usage_plans.client_of(key)} {state} "
                              f"plans: {'; '.join(uses) if uses else 'none'}")
        self.stdout.write(f"{len(keys)} keys")

    def _revoke(self, stage, *, client: str, dry_run: bool = False, **options) -> None:
        usage_plans.name_check("client", client)
        keys = [key for key in usage_plans.stage_keys(stage) if usage_plans.client_of(key) == client]
        if not keys:
            raise CommandError(f"client {client} has no API key on stage {stage.name}")
        changed = 0
        for key in keys:
            if key.get("enabled"):
                self.stdout.write(f"api key {key['id']} ({client}): revoke")
                changed += 1
                if not dry_run:
                    aws.api_key_disable(key["id"])
            else:
                self.stdout.write(f"api key {key['id']} ({client}): unchanged (revoked)")
        if not changed:
            self.stdout.write(f"{len(keys)} unchanged: nothing to change")
        else:
            self.stdout.write(f"{changed} revoke: {'dry run, nothing changed' if dry_run else 'applied'}")
