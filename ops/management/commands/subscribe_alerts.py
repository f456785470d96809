"""manage.py subscribe_alerts: email addresses on the stage's alert topic, each subscribed once."""
from ops import monitoring
from ops.command import MonitoringCommand, add_email_argument, alert_emails


class Command(MonitoringCommand):
    help = "Subscribe email addresses to the stage's SNS alert topic (creating the topic if needed)."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        add_email_argument(parser)

    def plan(self, stage, *, email, **options):
        emails = alert_emails(email, required=True)
        arn = monitoring.topic_arn(stage)
        return monitoring.topic_steps(stage, arn=arn) + monitoring.subscription_steps(stage, arn=arn, emails=emails)
