"""manage.py setup_gateway: throttling, execution and access logs, X-Ray and problem+json gateway errors of a stage."""
from django.core.management.base import CommandError

from ops import gateway
from ops.command import MonitoringCommand


class GatewayCommand(MonitoringCommand):
    """A MonitoringCommand whose steps are applied by ops.gateway; a missing API is a one-line error."""

    def apply(self, step):
        return gateway.step_apply(step)

    def handle(self, *args, **options) -> None:
        try:
            super().handle(*args, **options)
        except gateway.ApiNotFound as error:
            raise CommandError(str(error)) from None


class Command(GatewayCommand):
    help = ("Set the stage's throttling, execution logging, X-Ray and JSON access logs, and answer API Gateway's "
            "own errors as application/problem+json.")

    def plan(self, stage, **options):
        return gateway.setup_steps(stage)
