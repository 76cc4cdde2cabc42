"""The recording transport answers like the Bot API, including its failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN, Fault, RecordingRequest


async def make_bot(request: RecordingRequest) -> Bot:
    bot = Bot(FAKE_TOKEN, request=request, get_updates_request=request)
    await bot.initialize()
    return bot


async def test_send_message_is_recorded_with_its_parameters() -> None:
    request = RecordingRequest()
    bot = await make_bot(request)
    message = await bot.send_message(42, "你好")
    assert message.text == "你好"
    assert message.chat.id == 42
    assert request.sent()[-1]["text"] == "你好"
    assert request.texts(42) == ["你好"]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.RETRY_AFTER, RetryAfter),
        (Fault.FORBIDDEN, Forbidden),
        (Fault.CHAT_NOT_FOUND, BadRequest),
        (Fault.SERVER_ERROR, NetworkError),
        (Fault.TIMEOUT, TimedOut),
        (Fault.MIGRATED, ChatMigrated),
    ],
)
async def test_injected_fault_raises_the_library_error(
    fault: Fault, error: type[Exception]
) -> None:
    request = RecordingRequest()
    bot = await make_bot(request)
    request.fail(fault, method="sendMessage", chat_id=42)
    with pytest.raises(error):
        await bot.send_message(42, "x")
    # The fault is used up: the next call goes through.
    assert (await bot.send_message(42, "y")).text == "y"


async def test_retry_after_carries_the_delay() -> None:
    request = RecordingRequest()
    bot = await make_bot(request)
    request.fail(Fault.RETRY_AFTER, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1, "x")
    assert caught.value.retry_after == timedelta(seconds=7)


async def test_fault_for_another_chat_does_not_fire() -> None:
    request = RecordingRequest()
    bot = await make_bot(request)
    request.fail(Fault.FORBIDDEN, chat_id=2)
    assert (await bot.send_message(1, "x")).text == "x"
    with pytest.raises(Forbidden):
        await bot.send_message(2, "x")


async def test_file_download_serves_registered_bytes() -> None:
    request = RecordingRequest()
    bot = await make_bot(request)
    request.files["files/abc"] = b"%PDF-1.4 data"
    file = await bot.get_file("abc")
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.4 data"
