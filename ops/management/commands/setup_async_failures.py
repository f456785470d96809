"""manage.py setup_async_failures: failed asynchronous invocations of the stage's function go to an SQS queue."""
from ops import escalation
from ops.command import MonitoringCommand


class Command(MonitoringCommand):
    help = ("Create the function's async-failures SQS queue and make it the on-failure destination of its "
            "asynchronous invocations (PutFunctionEventInvokeConfig; Zappa 0.63 only knows dead_letter_arn).")

    def plan(self, stage, **options):
        return escalation.async_destination_steps(stage)
