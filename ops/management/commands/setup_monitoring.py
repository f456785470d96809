"""manage.py setup_monitoring: topics per severity, subscriptions, every alarm, dashboard and 30-day log retention."""
from django.conf import settings
from django.core.management.base import CommandError

from ops import escalation, monitoring
from ops.command import MonitoringCommand, add_email_argument, alert_emails
from ops.specs import WARNING


class Command(MonitoringCommand):
    help = ("Set up all of a stage's monitoring: alert topics per severity and their subscriptions, every alarm "
            "(the emergency composite alarm included), dashboard, log retention.")

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        add_email_argument(parser)
        parser.add_argument("--critical-email", action="append", metavar="ADDRESS",
                            help="Subscribe this address to the critical topic (repeatable; default "
                                 "ALERT_CRITICAL_EMAILS).")
        parser.add_argument("--pager-url", metavar="URL",
                            help="Subscribe this HTTPS endpoint (an incident tool's SNS integration URL) to the "
                                 "critical topic (default ALERT_PAGER_URL).")
        parser.add_argument("--emergency-email", action="append", metavar="ADDRESS",
                            help="Subscribe this address to the emergency topic (repeatable; default "
                                 "ALERT_EMERGENCY_EMAILS).")

    def plan(self, stage, *, email, critical_email=None, pager_url=None, emergency_email=None, **options):
        emails = alert_emails(email, required=False)
        critical = alert_emails(critical_email or settings.ALERT_CRITICAL_EMAILS, required=False)
        emergency = alert_emails(emergency_email or settings.ALERT_EMERGENCY_EMAILS, required=False)
        pager = pager_url_checked(pager_url or settings.ALERT_PAGER_URL)
        arns = escalation.topic_arns(stage)
        return (
            monitoring.topic_steps(stage, arn=arns[WARNING])
            + monitoring.subscription_steps(stage, arn=arns[WARNING], emails=emails)
            + escalation.topics_steps(stage, arns=arns, critical_emails=critical, pager_url=pager,
                                      emergency_emails=emergency)
            + monitoring.alarm_steps(stage, arns=arns)
            + monitoring.dashboard_steps(stage)
            + monitoring.log_retention_steps(stage)
        )


def pager_url_checked(url: str | None) -> str | None:
    """Returns the pager URL, None when there is none; raises CommandError unless it is https://<host>/..."""
    if not url:
        return None
    scheme, _, rest = url.partition("://")
    if scheme != "https" or not rest.split("/", 1)[0] or any(char.isspace() for char in url):
        raise CommandError("--pager-url must be an https:// URL (an incident tool's SNS integration endpoint)")
    return url
