"""The guard: strangers see nothing, repeats are dropped, groups are ignored."""

from __future__ import annotations

from sqlalchemy import select

from liaison.storage.enums import InboxState
from liaison.storage.models import InboxUpdate
from liaison.ui.i18n import translator
from tests.conftest import STRANGER, ZHANG, Harness

EN = translator("en")
ZH = translator("zh_CN")
REFUSAL = (
    "Sorry, this bot serves the participants of a training programme, and your account "
    "is not linked yet. Send /start to link it with your phone number or your code."
)


async def test_stranger_gets_a_polite_refusal_and_no_schedule(harness: Harness) -> None:
    await harness.send(harness.updates.command(STRANGER, "/schedule week"))
    texts = harness.texts(STRANGER)
    assert texts == [EN(REFUSAL)]
    assert "UNC" not in texts[0] and "测试" not in texts[0]


async def test_stranger_text_message_is_refused(harness: Harness) -> None:
    await harness.send(harness.updates.text(STRANGER, "hello?"))
    assert harness.texts(STRANGER) == [EN(REFUSAL)]


async def test_stranger_button_press_is_refused(harness: Harness) -> None:
    await harness.send(harness.updates.callback(STRANGER, "sc1:week:2026-10-26"))
    answer = harness.request.sent("answerCallbackQuery")[-1]
    assert answer["text"] == EN(REFUSAL)
    assert harness.request.sent("editMessageText") == []


async def test_duplicate_update_is_handled_once(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    update = harness.updates.command(ZHANG, "/help")
    await harness.send(update)
    count = len(harness.texts(ZHANG))
    await harness.send(update)
    assert len(harness.texts(ZHANG)) == count
    async with harness.db.read() as session:
        rows = list(
            await session.scalars(
                select(InboxUpdate.state).where(InboxUpdate.update_id == update.update_id)
            )
        )
    assert rows == [InboxState.DONE]


async def test_group_messages_get_no_answer(harness: Harness) -> None:
    await harness.send(harness.updates.group_text(STRANGER, "/start"))
    assert harness.request.sent() == []


async def test_edited_message_is_answered_with_the_policy(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.send(harness.updates.edited(ZHANG, "/schedule week"))
    assert harness.last_text(ZHANG) == ZH(
        "Edited messages are not processed again. Please send a new message instead."
    )


async def test_command_with_bot_username_suffix_works(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.send(harness.updates.command(ZHANG, "/help", bot_username="liaison_test_bot"))
    assert harness.last_text(ZHANG).startswith(
        ZH(
            "You are a participant. Times are shown in your time zone ({zone}) with Beijing "
            "time beside them."
        ).format(zone="America/New_York")
    )


async def test_unknown_command_points_to_help(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.send(harness.updates.command(ZHANG, "/frobnicate"))
    assert harness.last_text(ZHANG) == ZH(
        "I don't know that command. Send /help to see what I can do."
    )


async def test_forged_button_data_is_refused(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.send(harness.updates.callback(ZHANG, "sc1:week:not-a-date"))
    assert harness.request.sent("answerCallbackQuery")[-1]["text"] == ZH(
        "This button is no longer valid."
    )
    await harness.send(harness.updates.callback(ZHANG, "zz9:whatever"))
    assert harness.request.sent("answerCallbackQuery")[-1]["text"] == ZH(
        "This button is no longer valid."
    )
