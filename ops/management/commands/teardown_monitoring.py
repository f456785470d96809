"""manage.py teardown_monitoring: remove what setup_monitoring created for a stage."""
from ops import monitoring
from ops.command import MonitoringCommand


class Command(MonitoringCommand):
    help = "Delete the stage's alarms, dashboard, alert topic and subscriptions, and the retention policies set."

    def plan(self, stage, **options):
        return monitoring.teardown_steps(stage)
