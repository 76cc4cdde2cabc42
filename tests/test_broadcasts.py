"""Broadcasts: audience, preview, confirm; sent below check-in prompts; progress in one
edited message; a final report; "Got it" and /broadcasts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from liaison.bot.sandbox.fake_telegram import Fault
from liaison.bot.sandbox.fake_updates import FakeUser
from liaison.services.outbox.payloads import BroadcastPayload, RunPayload
from liaison.services.outbox.queue import Planned, claim_due, enqueue
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, OutboxState
from liaison.storage.models import Broadcast, BroadcastRecipient, OutboxMessage, Person, Phase
from liaison.ui.callbacks import AckButton, BroadcastButton
from liaison.ui.i18n import translator
from tests.conftest import LI, ORGANIZER_CHEN, ORGANIZER_LIU, WANG, ZHANG, Harness, seed
from tests.organizers import (
    OBSERVER_ZHAO,
    OTHER_ORGANIZER,
    enrol_observer,
    other_programme_organizer,
)

ZH = translator("zh_CN")
EN = translator("en")
STATUS_MESSAGE = 4242


async def draft_id(h: Harness) -> int:
    async with h.db.read() as session:
        found = await session.scalar(select(Broadcast.id).order_by(Broadcast.id.desc()))
    assert found is not None
    return found


async def tap(h: Harness, user: FakeUser, action: str, bid: int, value: str = "") -> None:
    data = BroadcastButton(action, bid, value).encode()
    await h.send(h.updates.callback(user, data, message_id=STATUS_MESSAGE))


def alert(h: Harness) -> str:
    return str(h.request.sent("answerCallbackQuery")[-1].get("text", ""))


async def composed(
    h: Harness, text: str = "明天上午9点（北京时间）召开视频会议，请准时参加。"
) -> int:
    for user in (ZHANG, LI, WANG, ORGANIZER_CHEN, ORGANIZER_LIU):
        await h.enrol(user)
    await h.send(h.updates.command(ORGANIZER_CHEN, "/broadcast"))
    assert h.last_text(ORGANIZER_CHEN) == ZH("New broadcast. Who should receive it?")
    bid = await draft_id(h)
    await tap(h, ORGANIZER_CHEN, "a", bid, "c")
    await h.send(h.updates.text(ORGANIZER_CHEN, text))
    return bid


async def test_broadcast_with_an_unreachable_cadre_reports_progress_and_acknowledgements(
    harness: Harness,
) -> None:
    h = harness
    bid = await composed(h)
    preview = h.last_text(ORGANIZER_CHEN)
    assert ZH.plural("{count} recipient", "{count} recipients", 3).format(count=3) in preview
    assert "召开视频会议" in preview
    await tap(h, ORGANIZER_CHEN, "k", bid)
    assert ZH("“Got it” button: on") in h.request.sent("editMessageText")[-1]["text"]
    await tap(h, ORGANIZER_CHEN, "y", bid)
    assert (
        ZH("📢 Sending to {count}…").format(count=3)
        in h.request.sent("editMessageText")[-1]["text"]
    )
    await tap(h, ORGANIZER_CHEN, "y", bid)  # a double tap sends nothing twice
    assert alert(h) == ZH("This broadcast was already sent or cancelled.")

    h.request.fail(Fault.FORBIDDEN, method="sendMessage", chat_id=LI.id)
    h.request.clear()
    await h.tick()
    assert any("召开视频会议" in t for t in h.texts(ZHANG))
    assert any("召开视频会议" in t for t in h.texts(WANG))
    await h.tick()
    edits = [
        p
        for p in h.request.sent("editMessageText")
        if p["chat_id"] == ORGANIZER_CHEN.id and p["message_id"] == STATUS_MESSAGE
    ]
    progress = (
        ZH("sent {sent}/{total}").format(sent=2, total=3)
        + " · "
        + ZH("{count} unreachable").format(count=1)
    )
    assert progress in edits[-1]["text"]
    report = h.last_text(ORGANIZER_CHEN)
    assert (
        ZH("Not reached: {names}. Please contact them another way.").format(names="李娜") in report
    )
    # Told once that Li blocked the bot, as for any message.
    assert any("李娜" in t and t.startswith("⚠️") for t in h.texts(ORGANIZER_CHEN))
    await h.tick()
    reports = [
        p["text"]
        for p in h.request.sent("sendMessage")
        if p["chat_id"] == ORGANIZER_CHEN.id and ZH("Broadcast finished") in p["text"]
    ]
    assert len(reports) == 1

    ack = AckButton(bid).encode()
    await h.send(h.updates.callback(ZHANG, ack))
    assert alert(h) == ZH("Thank you, noted.")
    await h.send(h.updates.callback(ZHANG, ack))
    assert alert(h) == ZH("Already noted, thank you.")
    await h.send(h.updates.callback(ORGANIZER_LIU, ack))
    assert alert(h) == EN("This button is no longer valid.")
    await h.send(h.updates.command(ORGANIZER_CHEN, "/broadcasts"))
    listing = h.last_text(ORGANIZER_CHEN)
    assert ZH("Got it: {count}/{total}").format(count=1, total=2) + " — 张伟" in listing
    assert ZH("Not yet: {names}").format(names="Wang Fang") in listing


async def test_a_5000_character_notice_is_previewed_as_two_messages(harness: Harness) -> None:
    h = harness
    await composed(h, "通知内容。" * 1000)
    preview = h.last_text(ORGANIZER_CHEN)
    assert ZH("sent as {parts} messages").format(parts=2) in preview
    assert ZH("{count} characters").format(count=ZH.number(5000)) in preview


async def test_an_empty_audience_or_unknown_names_send_nothing(harness: Harness) -> None:
    h = harness
    bid = await composed(h)
    async with h.db.read() as session:
        past = await session.scalar(select(Phase.id).where(Phase.key == "domestic"))
    await tap(h, ORGANIZER_CHEN, "p", bid, str(past))
    assert (
        ZH.plural("{count} recipient", "{count} recipients", 0).format(count=0)
        in (h.request.sent("editMessageText")[-1]["text"])
    )
    await tap(h, ORGANIZER_CHEN, "y", bid)
    assert alert(h) == ZH(
        "Nobody is in this audience, so nothing can be sent. Choose another audience."
    )
    await h.send(h.updates.command(ORGANIZER_CHEN, "/broadcast"))
    bid = await draft_id(h)
    await tap(h, ORGANIZER_CHEN, "a", bid, "n")
    await h.send(h.updates.text(ORGANIZER_CHEN, "张伟, 王五"))
    assert h.last_text(ORGANIZER_CHEN) == ZH(
        "These names fit nobody or several people: {names}. Send the names again."
    ).format(names="王五")
    await h.send(h.updates.text(ORGANIZER_CHEN, "张伟、Wang"))
    assert ZH.plural("{count} recipient", "{count} recipients", 2).format(count=2) in (
        h.last_text(ORGANIZER_CHEN)
    )
    async with h.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(BroadcastRecipient)) == 0
        assert (
            await session.scalar(
                select(func.count()).where(OutboxMessage.kind == OutboxKind.BROADCAST)
            )
            == 0
        )


async def test_cadres_observers_and_other_programmes_cannot_broadcast(harness: Harness) -> None:
    h = harness
    bid = await composed(h)
    await enrol_observer(h)
    await other_programme_organizer(h)
    for user in (ZHANG, OBSERVER_ZHAO):
        for command in ("/broadcast", "/broadcasts"):
            await h.send(h.updates.command(user, command))
            assert h.last_text(user) == ZH("Only organizers can do this.")
        await tap(h, user, "y", bid)
        assert alert(h) == ZH("Only organizers can do this.")
    await tap(h, OTHER_ORGANIZER, "y", bid)
    assert alert(h) == EN("This broadcast was already sent or cancelled.")
    await tap(h, ORGANIZER_LIU, "y", bid)  # another organizer's draft
    assert alert(h) == EN("This broadcast was already sent or cancelled.")
    async with h.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(BroadcastRecipient)) == 0


async def test_broadcast_rows_are_claimed_after_check_in_prompts(db: Database) -> None:
    await seed(db)
    now = datetime(2026, 10, 31, 0, 0, tzinfo=UTC)
    async with db.transaction() as session:
        people = list(await session.scalars(select(Person.id).order_by(Person.id)))
        for person in people:
            await enqueue(
                session,
                Planned(
                    f"broadcast:1:{person}",
                    person,
                    OutboxKind.BROADCAST,
                    BroadcastPayload(broadcast_id=1),
                    now - timedelta(minutes=5),
                ),
            )
        await enqueue(
            session,
            Planned(
                "checkin:9:prompt", people[0], OutboxKind.CHECKIN_PROMPT, RunPayload(run_id=9), now
            ),
        )
    first = await claim_due(db, now, limit=1)
    assert [row.kind for row in first] == [OutboxKind.CHECKIN_PROMPT]
    rest = await claim_due(db, now, limit=50)
    assert {row.kind for row in rest} == {OutboxKind.BROADCAST}
    async with db.read() as session:
        states = set(await session.scalars(select(OutboxMessage.state)))
    assert states == {OutboxState.SENDING}
