"""LIAISON_LOG_FORMAT=json: one object a line, with the ids the event concerns, no token."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram import Update
from telegram.ext import CommandHandler

from liaison.bot.logging_setup import REDACTED, configure_logging, uninstall_record_redaction
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN
from liaison.bot.settings import LogFormat, Settings
from liaison.services import log_context
from tests.conftest import ZHANG, Harness

SECRET = "webhook-secret-value-42"
Configure = Callable[[str], None]


@pytest.fixture
def configure() -> Iterator[Configure]:
    """Configures logging as `liaison run` does (to the captured stderr), then puts it back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def configure(fmt: str) -> None:
        configure_logging("DEBUG", (FAKE_TOKEN, SECRET), fmt)

    try:
        yield configure
    finally:
        uninstall_record_redaction()
        root.handlers[:] = handlers
        root.setLevel(level)


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _fail_with_the_token() -> None:
    try:
        raise ConnectionError(f"could not reach https://api.telegram.org/bot{FAKE_TOKEN}/getMe")
    except ConnectionError as exc:
        raise RuntimeError(f"sending failed; secret {SECRET}") from exc


def test_log_format_setting_reads_json_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIAISON_LOG_FORMAT", "json")
    assert Settings().log_format is LogFormat.JSON
    monkeypatch.delenv("LIAISON_LOG_FORMAT")
    assert Settings().log_format is LogFormat.TEXT


def test_json_line_has_utc_time_level_logger_message_and_the_ids_of_its_block(
    configure: Configure, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("json")
    log = logging.getLogger("liaison.test")
    with log_context.about(update_id=7, person_id=3):
        log.info("handling %s", "something")
        with log_context.about(outbox_id=11):
            log.warning("nested")
    log.info("outside")
    first, nested, outside = _json_lines(capsys.readouterr().err)
    assert first["level"] == "INFO" and first["logger"] == "liaison.test"
    assert first["message"] == "handling something"
    assert (first["update_id"], first["person_id"], "outbox_id" in first) == (7, 3, False)
    at = datetime.fromisoformat(first["time"].replace("Z", "+00:00"))
    assert at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - at) < timedelta(minutes=5)
    assert (nested["update_id"], nested["outbox_id"], nested["person_id"]) == (7, 11, 3)
    assert not {"update_id", "outbox_id", "person_id"} & set(outside)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_token_never_appears_in_either_format_even_in_a_traceback(
    fmt: str, configure: Configure, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(fmt)
    log = logging.getLogger("liaison.test")
    log.info("calling %s", f"https://api.telegram.org/bot{FAKE_TOKEN}/sendMessage")
    log.warning(f"inline token {FAKE_TOKEN} and secret {SECRET}")
    try:
        _fail_with_the_token()
    except RuntimeError:
        log.exception("it failed")
    output = capsys.readouterr().err
    assert FAKE_TOKEN not in output and FAKE_TOKEN.split(":")[1] not in output
    assert SECRET not in output
    assert output.count(REDACTED) >= 4
    if fmt == "json":
        lines = _json_lines(output)
        assert len(lines) == 3  # the traceback stays inside its line
        assert "ConnectionError" in lines[2]["exception"]
        assert "RuntimeError" in lines[2]["exception"]


def test_text_format_shows_the_ids_in_brackets(
    configure: Configure, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("text")
    with log_context.about(outbox_id=12, person_id=4):
        logging.getLogger("liaison.test").warning("sending")
    logging.getLogger("liaison.test").warning("idle")
    sending, idle = capsys.readouterr().err.splitlines()
    assert sending.endswith("sending [outbox_id=12 person_id=4]")
    assert idle.endswith("idle")


async def test_outbox_row_decorator_names_the_row_and_its_person() -> None:
    class Row:
        id, person_id = 31, 5

    seen: list[dict[str, int]] = []

    class Sender:
        @log_context.for_outbox_row
        async def one(self, row: Row) -> None:
            seen.append(log_context.current())

    await Sender().one(Row())
    assert seen == [{"outbox_id": 31, "person_id": 5}]
    assert log_context.current() == {}


async def test_warning_of_a_failing_update_carries_its_update_id(
    harness: Harness, configure: Configure, capsys: pytest.CaptureFixture[str]
) -> None:
    h = harness
    await h.enrol(ZHANG)
    calls = 0

    async def flaky(update: Update, context: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError(f"once, near {FAKE_TOKEN}")

    h.app.add_handler(CommandHandler("flaky", flaky), group=1)
    configure("json")
    sent = h.updates.command(ZHANG, "/flaky")
    await h.send(sent)
    lines = _json_lines(capsys.readouterr().err)
    warned = [line for line in lines if line["level"] == "WARNING"]
    assert warned and all(line["update_id"] == sent.update_id for line in warned)
    assert all(FAKE_TOKEN not in json.dumps(line) for line in lines)
