"""manage.py create_usage_plan: a usage plan (throttle, optional quota) on the stage's REST API stage."""
from django.core.management.base import CommandError

from ops import gateway, usage_plans
from ops.gateway_specs import PERIODS
from ops.management.commands.setup_gateway import GatewayCommand


class Command(GatewayCommand):
    help = "Create or update a usage plan of the stage: per-key rate and burst, and optionally a quota per period."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--name", required=True, help="The plan's name within the stage, e.g. free or gold.")
        parser.add_argument("--rate", type=float, required=True, help="Steady requests per second per key.")
        parser.add_argument("--burst", type=int, required=True, help="Requests a key may send at once.")
        parser.add_argument("--quota", type=int, help="Requests per key per --period.")
        parser.add_argument("--period", choices=PERIODS, type=str.upper, help="The quota's period.")

    def apply(self, step):
        usage_plans.usage_plan_apply(step)

    def plan(self, stage, *, name, rate, burst, quota, period, **options):
        try:
            spec = usage_plans.usage_plan_spec(stage, name=name, rate=rate, burst=burst, quota=quota, period=period)
            return usage_plans.usage_plan_steps(stage, spec, api_id=gateway.api_id_of(stage))
        except usage_plans.UsageError as error:
            raise CommandError(str(error)) from None
