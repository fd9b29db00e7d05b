"""Structured logs for every Dossier process: JSON when not on a terminal, never personal data.

Each line carries the service and, while a request is being answered, its
request id, verb, the caller's branch and role, and whatever identifiers a
handler `bind`\\ s (a student number, a registration id, a job id). Only the
fields named in `FIELDS` ever reach a line: an ``extra`` key outside that list
is dropped, so a careless ``extra={"name": …}`` cannot leak a person's name.

Exceptions are logged by type and stack frames only. Exception *messages*
are left out on purpose: a database driver's message quotes the values of
the failing row, and the point of the rule is that no one has to remember
that at 2 a.m.
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from pythonjsonlogger.json import JsonFormatter

FIELDS = frozenset(
    {
        "service",
        "request_id",
        "verb",
        "outcome",
        "branch",
        "role",
        "student_number",
        "registration_id",
        "job",
        "consumer",
        "subject",
        "error",
        "event_id",
        "duration_ms",
        "instance",
        "account",
        "port",
        "count",
    }
)
"""Every field a log line may carry besides time, level, logger and message."""

_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "dossier_log_context", default=None
)
_service = "dossier"


@contextmanager
def request_context(**fields: str) -> Iterator[dict[str, str]]:
    """Fields for every line logged while answering one request (threads included)."""
    current = dict(_context.get() or {})
    current.update(fields)
    token = _context.set(current)
    try:
        yield current
    finally:
        _context.reset(token)


def bind(**fields: str) -> None:
    """Add identifiers to the current request's lines (a handler learning its student number).

    The context holds one dict per request, shared with the worker thread the
    handler runs in, so what a handler binds also shows on the request's
    closing line.
    """
    current = _context.get()
    if current is not None:
        current.update({k: v for k, v in fields.items() if k in FIELDS})


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.service = getattr(record, "service", None) or _service
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def _safe_traceback(exc_info: Any) -> str:
    """The exception's type and frames, without its message (see the module docstring)."""
    kind, _value, tb = exc_info
    frames = traceback.format_tb(tb) if isinstance(tb, TracebackType) else []
    name = kind.__name__ if isinstance(kind, type) else "Exception"
    return "".join(frames) + name


class _Json(JsonFormatter):
    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = self.formatTime(record)
        log_data["level"] = record.levelname.lower()
        log_data["logger"] = record.name
        log_data["message"] = record.getMessage()
        for key in sorted(FIELDS):
            value = getattr(record, key, None)
            if value is not None:
                log_data[key] = value
        if record.exc_info:
            log_data["exception"] = _safe_traceback(record.exc_info)

    def formatException(self, ei: Any) -> str:
        return _safe_traceback(ei)


class _Text(logging.Formatter):
    """For a person at a terminal: one readable line, the same fields, the same discretion."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(
            f"{key}={getattr(record, key)}"
            for key in sorted(FIELDS)
            if getattr(record, key, None) is not None
        )
        line = f"{self.formatTime(record)} {record.levelname:<7} {record.name}: "
        line += record.getMessage() + (f"  [{fields}]" if fields else "")
        if record.exc_info:
            line += "\n" + _safe_traceback(record.exc_info)
        return line


def configure_logging(service: str, *, level: str | None = None, json: bool | None = None) -> None:
    """Send the process's logs to stderr: JSON unless stderr is a terminal.

    ``DOSSIER_LOG_LEVEL`` and ``DOSSIER_LOG_FORMAT`` (``json`` or ``text``) override.
    """
    global _service
    _service = service
    chosen = (level or os.environ.get("DOSSIER_LOG_LEVEL") or "INFO").upper()
    wanted = os.environ.get("DOSSIER_LOG_FORMAT")
    as_json = json if json is not None else (wanted == "json" or not sys.stderr.isatty())
    if wanted == "text" and json is None:
        as_json = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Json() if as_json else _Text())
    handler.addFilter(_ContextFilter())
    logging.basicConfig(level=chosen, handlers=[handler], force=True)
    for noisy in ("nats", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
