"""manage.py create_saturation_alarms: the stage's saturation alarms on its alert topic."""
from ops import aws, monitoring, plans, saturation
from ops.command import MonitoringCommand


class Command(MonitoringCommand):
    help = "Create or update the stage's saturation alarms (Lambda throttles and concurrency, idempotency throttles)."

    def plan(self, stage, **options):
        arn = monitoring.topic_arn(stage)
        desired = [alarm.put_request(topic_arn=arn) for alarm in saturation.saturation_alarms(stage)]
        current = aws.alarms_describe([request["AlarmName"] for request in desired])
        return monitoring.topic_steps(stage, arn=arn) + plans.alarms_plan(desired=desired, current=current)
