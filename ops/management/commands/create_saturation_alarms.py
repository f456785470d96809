"""manage.py create_saturation_alarms: the stage's saturation alarms on its alert topics (setup_monitoring does all)."""
from ops import aws, escalation, monitoring, plans, saturation
from ops.command import MonitoringCommand
from ops.specs import CRITICAL, WARNING


class Command(MonitoringCommand):
    help = "Create or update the stage's saturation alarms (Lambda throttles and concurrency, idempotency throttles)."

    def plan(self, stage, **options):
        arns = escalation.topic_arns(stage)
        desired = [alarm.put_request(topic_arn=arns[WARNING], critical_topic_arn=arns[CRITICAL])
                   for alarm in saturation.saturation_alarms(stage)]
        current = aws.alarms_describe([request["AlarmName"] for request in desired])
        return (monitoring.topic_steps(stage, arn=arns[WARNING])
                + escalation.topics_steps(stage, arns=arns, critical_emails=[], pager_url=None, emergency_emails=[])
                + plans.alarms_plan(desired=desired, current=current))
