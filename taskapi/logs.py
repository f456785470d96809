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
# json.dumps(line, default=str, separators=(",", ":")) without building an encoder for every line.
_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))


def record_sources_off() -> None:
    """Stops the logging module from collecting what no line here shows: the caller's file and line, thread,
    process and multiprocessing names (the logging HOWTO's "Optimization"). Per process, at start-up."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


class RequestContextFilter(logging.Filter):
    """Copies the current request's ids onto every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in request_context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object per line; `extra` fields become keys."""

    _second: tuple[int, str] = (-1, "")  # the last whole second formatted, and its text

    def _time(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if self._second[0] != second:
            self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return f"{self._second[1]}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self._time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and (not key.startswith("_") or key == _EMF):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(line)
