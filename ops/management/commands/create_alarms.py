"""manage.py create_alarms: the stage's alert topic and its CloudWatch alarms."""
from ops import monitoring
from ops.command import MonitoringCommand


class Command(MonitoringCommand):
    help = "Create or update the stage's CloudWatch alarms (and the SNS topic they notify)."

    def plan(self, stage, **options):
        arn = monitoring.topic_arn(stage)
        return monitoring.topic_steps(stage, arn=arn) + monitoring.alarm_steps(stage, arn=arn)
