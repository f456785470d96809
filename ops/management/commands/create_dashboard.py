"""manage.py create_dashboard: the stage's CloudWatch dashboard."""
from ops import monitoring
from ops.command import MonitoringCommand


class Command(MonitoringCommand):
    help = "Create or update the stage's CloudWatch dashboard."

    def plan(self, stage, **options):
        return monitoring.dashboard_steps(stage)
