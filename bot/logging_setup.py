"""Logging that never carries the bot token (it sits inside every Bot API URL).

``LIAISON_LOG_FORMAT=json`` writes one JSON object a line (time in UTC, level, logger,
message, and the update_id / outbox_id / person_id the event concerns, set through
services/log_context.py); the text format shows the same ids in brackets.

Redaction happens on the record itself, not in one formatter: a ``RedactingFilter`` on
every handler ``configure_logging`` creates, and the same rewrite in the record factory,
so a handler added later (a file, an error tracker) only ever sees clean records. The
exception is cleaned too: its traceback text is rendered redacted into ``exc_text`` and
the string arguments of the exception (and its causes) are rewritten.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from liaison.services import log_context

_TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
REDACTED = "<redacted-token>"
_MARK = "_liaison_redacted"


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _TOKEN_PATTERN.sub(REDACTED, text)


def _redact_exception(error: BaseException | None, secrets: tuple[str, ...]) -> None:
    """Rewrites the string arguments of an exception and of its causes, in place."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        # An exception type may refuse new attributes: then it keeps them.
        with contextlib.suppress(AttributeError, TypeError):
            error.args = tuple(
                redact(arg, secrets) if isinstance(arg, str) else arg for arg in error.args
            )
        message = getattr(error, "message", None)
        if isinstance(message, str):
            with contextlib.suppress(AttributeError, TypeError):
                error.message = redact(message, secrets)  # type: ignore[attr-defined]
        error = error.__cause__ or error.__context__


_TRACEBACK_FORMATTER = logging.Formatter()


def redact_record(record: logging.LogRecord, secrets: tuple[str, ...] = ()) -> None:
    """Rewrites message, arguments, exception and stack text of a record; idempotent."""
    if getattr(record, _MARK, False):
        return
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep what can be kept, redacted
        message = f"{record.msg} {record.args!r}"
    record.msg, record.args = redact(message, secrets), None
    if record.exc_info and record.exc_info[1] is not None:
        _redact_exception(record.exc_info[1], secrets)
        if not record.exc_text:
            record.exc_text = _TRACEBACK_FORMATTER.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text, secrets)
    if record.stack_info:
        record.stack_info = redact(record.stack_info, secrets)
    setattr(record, _MARK, True)


class RedactingFilter(logging.Filter):
    """Removes the token (and anything shaped like one) from every record it passes."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record, self.secrets)
        return True


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then removes the token: the last line of defence."""

    def __init__(self, fmt: str, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(fmt)
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


def attach_redaction(handler: logging.Handler, secrets: tuple[str, ...] = ()) -> logging.Handler:
    """Gives a handler the redacting filter; use it for any handler added later."""
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RedactingFilter(secrets))
    return handler


_factory_before: Callable[..., logging.LogRecord] | None = None


def install_record_redaction(secrets: tuple[str, ...] = ()) -> None:
    """Redacts every record where it is made, so no handler can see the raw token."""
    global _factory_before
    if _factory_before is None:
        _factory_before = logging.getLogRecordFactory()
    make = _factory_before

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        redact_record(record, secrets)
        return record

    logging.setLogRecordFactory(factory)


def uninstall_record_redaction() -> None:
    """Puts back the record factory found before (for tests that configure logging)."""
    global _factory_before
    if _factory_before is not None:
        logging.setLogRecordFactory(_factory_before)
        _factory_before = None


class ContextFilter(logging.Filter):
    """Copies the ids of services/log_context.py onto the record (and a text suffix)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = log_context.current()
        for name in log_context.FIELDS:
            if not hasattr(record, name):
                setattr(record, name, ids.get(name))
        present = {n: getattr(record, n) for n in log_context.FIELDS if getattr(record, n)}
        record.context = (
            " [" + " ".join(f"{n}={v}" for n, v in present.items()) + "]" if present else ""
        )
        return True


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, ids, exception."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in log_context.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return redact(json.dumps(entry, ensure_ascii=False), self._secrets)


def log_handler(fmt: str = "text", secrets: tuple[str, ...] = ()) -> logging.Handler:
    """A stderr handler with the ids, the redaction, and the text or JSON format."""
    handler = logging.StreamHandler()
    formatter: logging.Formatter = (
        JsonFormatter(secrets) if fmt == "json" else RedactingFormatter(TEXT_FORMAT, secrets)
    )
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    attach_redaction(handler, secrets)
    return handler


def configure_logging(level: str, secrets: tuple[str, ...] = (), fmt: str = "text") -> None:
    handler = log_handler(fmt, secrets)
    install_record_redaction(secrets)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and the URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
