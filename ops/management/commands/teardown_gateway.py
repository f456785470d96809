"""manage.py teardown_gateway: remove what setup_gateway set on a stage."""
from ops import gateway
from ops.management.commands.setup_gateway import GatewayCommand


class Command(GatewayCommand):
    help = ("Remove the stage's gateway responses, stage-wide method settings, X-Ray and access logging set by "
            "setup_gateway; the access log group and its logs are kept.")

    def plan(self, stage, **options):
        return gateway.teardown_steps(stage)
