"""manage.py emulator: the embedded AWS emulator (moto server) on LocalStack's port."""
import json
import signal
import socket
import threading
import time

from django.core.management.base import BaseCommand, CommandError


def moto_gaps_patch() -> None:
    """Fills what moto 5.2.5 lacks and the app relies on. Idempotent.

    - PutCompositeAlarm: its backend stores composite alarms through the PutMetricAlarm handler, which reads
      AlarmRule; only the action's route is missing.
    - TransactWriteItems' ClientRequestToken: moto ignores it, so botocore resending a transaction whose answer
      was lost (a read timeout while the first try commits) applies it twice, or is refused on the first try's
      own conditions. DynamoDB answers a repeat with the same token and parameters within 10 minutes as done,
      without applying it again, and a repeat with other parameters with IdempotentParameterMismatchException.
    - Speed: every TransactWriteItems deep-copies each table it touches (to put it back if the transaction fails),
      the stream's whole history included: 2.4 s per transaction once a table has streamed 20,000 records, past
      the app's 2 s read timeout. A stream record is never changed once written, so the copy shares them.
    """
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.dynamodb.models.table import StreamRecord
    from moto.dynamodb.responses import DynamoHandler

    StreamRecord.__deepcopy__ = lambda self, memo: self

    if not hasattr(CloudWatchResponse, "put_composite_alarm"):
        CloudWatchResponse.put_composite_alarm = CloudWatchResponse.put_metric_alarm
    if not getattr(DynamoHandler.transact_write_items, "honours_tokens", False):
        DynamoHandler.transact_write_items = _with_request_tokens(DynamoHandler.transact_write_items)


TOKEN_WINDOW_SECONDS = 600  # DynamoDB: "valid for 10 minutes after the first request that uses it is completed"


def _with_request_tokens(transact_write_items):
    """Wraps moto's TransactWriteItems handler with DynamoDB's ClientRequestToken semantics.

    Only completed (committed) transactions are remembered: DynamoDB documents the window from completion, and
    a refused transaction applied nothing, so trying it again is the same as trying it once."""
    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException

    class Mismatch(DynamodbException):
        def __init__(self) -> None:
            super().__init__(ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException",
                             "Request with the same ClientRequestToken and different parameters")

    done: dict[tuple[str, str, str], tuple[str, float, object]] = {}  # (account, region, token) -> payload, at, answer
    lock = threading.Lock()

    def transact(self):
        token = self.body.get("ClientRequestToken")
        if not token:
            return transact_write_items(self)
        key = (self.current_account, self.region, token)
        payload = json.dumps({k: v for k, v in self.body.items() if k != "ClientRequestToken"}, sort_keys=True)
        now = time.monotonic()
        with lock:
            for old in [k for k, (_, at, _) in done.items() if now - at > TOKEN_WINDOW_SECONDS]:
                del done[old]
            if key in done:
                if done[key][0] != payload:
                    raise Mismatch()
                return done[key][2]
        answer = transact_write_items(self)
        with lock:
            done[key] = (payload, time.monotonic(), answer)
        return answer

    transact.honours_tokens = True
    return transact


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
