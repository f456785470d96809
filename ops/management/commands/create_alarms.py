"""manage.py create_alarms: the stage's alert topics (one per severity) and every CloudWatch alarm."""
from ops import escalation, monitoring
from ops.command import MonitoringCommand
from ops.specs import WARNING


class Command(MonitoringCommand):
    help = "Create or update every CloudWatch alarm of the stage, the emergency composite alarm and the topics they notify."

    def plan(self, stage, **options):
        arns = escalation.topic_arns(stage)
        return (monitoring.topic_steps(stage, arn=arns[WARNING])
                + escalation.topics_steps(stage, arns=arns, critical_emails=[], pager_url=None, emergency_emails=[])
                + monitoring.alarm_steps(stage, arns=arns))
