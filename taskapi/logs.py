"""Structured JSON logging with the current request's ids on every line."""
import contextvars
import json
import logging
import time

# Ids of the request being served: request_id always; on Lambda also apigw_request_id, lambda_request_id
# and xray_trace_id (when present).
request_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("request_context", default={})

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_EMF = "_aws"  # the Embedded Metric Format block: private-looking, but CloudWatch needs it at the top level


class RequestContextFilter(logging.Filter):
    """Copies the current request's ids onto every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in request_context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object per line; `extra` fields become keys."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and (not key.startswith("_") or key == _EMF):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))
