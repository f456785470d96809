"""manage.py setup_monitoring: topic, subscriptions, alarms, dashboard and 30-day log retention of a stage."""
from ops import monitoring
from ops.command import MonitoringCommand, add_email_argument, alert_emails


class Command(MonitoringCommand):
    help = "Set up all of a stage's monitoring: alert topic and subscriptions, alarms, dashboard, log retention."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        add_email_argument(parser)

    def plan(self, stage, *, email, **options):
        emails = alert_emails(email, required=False)
        arn = monitoring.topic_arn(stage)
        return (
            monitoring.topic_steps(stage, arn=arn)
            + monitoring.subscription_steps(stage, arn=arn, emails=emails)
            + monitoring.alarm_steps(stage, arn=arn)
            + monitoring.dashboard_steps(stage)
            + monitoring.log_retention_steps(stage)
        )
