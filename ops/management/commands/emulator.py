"""manage.py emulator: the embedded AWS emulator (moto server) on LocalStack's port."""
import signal
import socket
import threading

from django.core.management.base import BaseCommand, CommandError


def moto_gaps_patch() -> None:
    """Fills what moto 5.2.5 lacks for ops: PutCompositeAlarm (its backend stores composite alarms through the
    PutMetricAlarm handler, which reads AlarmRule; only the action's route is missing). Idempotent."""
    from moto.cloudwatch.responses import CloudWatchResponse

    if not hasattr(CloudWatchResponse, "put_composite_alarm"):
        CloudWatchResponse.put_composite_alarm = CloudWatchResponse.put_metric_alarm


class Command(BaseCommand):
    help = "Serve DynamoDB, CloudWatch, SNS, Logs and IAM locally (moto) until interrupted."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=4566, help="Default 4566, LocalStack's port.")

    def handle(self, *args, host: str, port: int, **options) -> None:
        from moto.server import ThreadedMotoServer  # a development dependency, never on Lambda

        # ThreadedMotoServer.start() waits forever when its port is taken, so check the port first.
        with socket.socket() as probe:
            # As werkzeug binds: the TIME_WAIT connections of a run just stopped must not count as "taken".
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                raise CommandError(f"cannot listen on {host}:{port}: {error.strerror} (another emulator?)") from None
        moto_gaps_patch()
        server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        server.start()
        self.stdout.write(f"AWS emulator on http://{host}:{port} (set AWS_ENDPOINT_URL to it); Ctrl-C stops it.")
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        try:
            stopped.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
