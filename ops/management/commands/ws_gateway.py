"""manage.py ws_gateway: the local API Gateway WebSocket API of `make run`, in front of the real Lambda handler."""
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Serve WebSockets at ws://HOST:PORT as API Gateway would, invoking the Lambda handler with "
            "$connect/$default/$disconnect events, and the @connections Management API (local only).")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--stage", default="local", help="The stage name events carry.")

    def handle(self, *args, host: str, port: int, stage: str, **options) -> None:
        from ops.ws_gateway import LocalWebSocketGateway  # aiohttp: in requirements-run, not the Lambda package
        from taskapi.lambda_function import handler

        gateway = LocalWebSocketGateway(handler=handler, host=host, port=port, stage=stage)

        def ready() -> None:
            self.stdout.write(f"WebSockets at {gateway.url} (Management API at {gateway.management_url}/@connections)")
            self.stdout.flush()

        try:
            gateway.serve(ready=ready)
        except KeyboardInterrupt:
            pass
        except OSError as error:
            raise CommandError(f"cannot serve WebSockets on {host}:{port}: {error.strerror or error}") from error
