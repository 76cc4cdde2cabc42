"""The token never reaches a log handler: not the one we configure, nor one added later."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from liaison.bot.logging_setup import (
    REDACTED,
    RedactingFilter,
    attach_redaction,
    configure_logging,
    uninstall_record_redaction,
)
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN

SECRET = "webhook-secret-value-42"
TOKEN_TAIL = FAKE_TOKEN.split(":")[1]


class ListHandler(logging.Handler):
    """Keeps every record it is given, with no filter or formatter of ours."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def configured() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("DEBUG", (FAKE_TOKEN, SECRET))
    try:
        yield root
    finally:
        uninstall_record_redaction()
        root.handlers[:] = handlers
        root.setLevel(level)


def _fail_with_the_token() -> None:
    try:
        raise ConnectionError(f"could not reach https://api.telegram.org/bot{FAKE_TOKEN}/getMe")
    except ConnectionError as exc:
        raise RuntimeError(f"sending failed; secret {SECRET}") from exc


def _everything_seen(record: logging.LogRecord) -> str:
    parts = [logging.Formatter("%(message)s").format(record), record.getMessage()]
    parts.append(repr(record.args))
    if record.exc_info and record.exc_info[1] is not None:
        error: BaseException | None = record.exc_info[1]
        while error is not None:
            parts.append(str(error))
            error = error.__cause__
    return "\n".join(parts)


def test_added_handler_sees_no_token_in_message_args_or_traceback(
    configured: logging.Logger, tmp_path: Path
) -> None:
    collected = ListHandler()
    log_file = tmp_path / "liaison.log"
    file_handler = logging.FileHandler(log_file, encoding="utf-8")
    configured.addHandler(collected)
    configured.addHandler(file_handler)
    try:
        log = logging.getLogger("liaison.some.module")
        log.info("calling %s", f"https://api.telegram.org/bot{FAKE_TOKEN}/sendMessage")
        log.warning(f"inline token {FAKE_TOKEN} and secret {SECRET}")
        try:
            _fail_with_the_token()
        except RuntimeError:
            log.exception("send failed for user %s", 501)
    finally:
        configured.removeHandler(collected)
        configured.removeHandler(file_handler)
        file_handler.close()
    assert len(collected.records) == 3
    seen = "\n".join(_everything_seen(record) for record in collected.records)
    seen += log_file.read_text(encoding="utf-8")
    for secret in (FAKE_TOKEN, TOKEN_TAIL, SECRET):
        assert secret not in seen
    assert REDACTED in seen
    assert "Traceback" in seen and "ConnectionError" in seen and "user 501" in seen


def test_filter_alone_cleans_a_record_for_the_handler_it_guards() -> None:
    logger = logging.getLogger("liaison.tests.filter_only")
    collected = attach_redaction(ListHandler(), (FAKE_TOKEN,))
    assert isinstance(collected, ListHandler)
    logger.addHandler(collected)
    logger.propagate = False
    try:
        try:
            raise ValueError(f"bad url /bot{FAKE_TOKEN}/x")
        except ValueError:
            logger.error("failed: %s", FAKE_TOKEN, exc_info=True)
    finally:
        logger.removeHandler(collected)
        logger.propagate = True
    (record,) = collected.records
    assert FAKE_TOKEN not in _everything_seen(record)
    assert record.exc_text is not None and FAKE_TOKEN not in record.exc_text
    assert any(isinstance(f, RedactingFilter) for f in collected.filters)
