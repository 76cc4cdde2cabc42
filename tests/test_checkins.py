"""Check-ins end to end: planning, the conversation, reminders, escalation, alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from liaison.services.clock import FakeClock
from liaison.storage.enums import RunState
from liaison.storage.models import AuditEvent, OutboxMessage, StoredFile, SurveyAnswer, SurveyRun
from liaison.ui.callbacks import CheckinButton
from liaison.ui.i18n import translator
from tests.conftest import ORGANIZER_CHEN, ORGANIZER_LIU, WANG, ZHANG, Harness, _harness

ZH = translator("zh_CN")
EN = translator("en")
FRIDAY_SLOT = datetime(2026, 10, 31, 0, 0, tzinfo=UTC)  # Fri 30 Oct 20:00 EDT


async def runs(h: Harness) -> list[SurveyRun]:
    async with h.db.read() as session:
        return list(await session.scalars(select(SurveyRun).order_by(SurveyRun.id)))


async def answers(h: Harness, run_id: int) -> dict[str, SurveyAnswer]:
    async with h.db.read() as session:
        rows = await session.scalars(select(SurveyAnswer).where(SurveyAnswer.run_id == run_id))
        return {a.question_key: a for a in rows}


async def prompted(h: Harness) -> SurveyRun:
    """Enrols Zhang and the organizers, moves to Friday's slot, plans and sends the prompt."""
    for user in (ZHANG, ORGANIZER_CHEN, ORGANIZER_LIU):
        await h.enrol(user)
    h.clock.set(FRIDAY_SLOT)
    await h.tick()
    (run,) = await runs(h)
    return run


def button(run: SurveyRun, question: int, action: str, value: str = "") -> str:
    return CheckinButton(run.id, question, action, value).encode()


async def test_prompt_arrives_at_the_local_slot_and_greets_by_name(harness: Harness) -> None:
    for user in (ZHANG, ORGANIZER_CHEN):
        await harness.enrol(user)
    harness.clock.set(FRIDAY_SLOT - timedelta(minutes=1))
    before = len(harness.texts(ZHANG))
    await harness.tick()
    # Planned ahead, due at the slot: nothing is sent before it.
    (early,) = await runs(harness)
    assert early.state == RunState.DUE
    assert len(harness.texts(ZHANG)) == before
    harness.clock.set(FRIDAY_SLOT)
    await harness.tick()
    (run,) = await runs(harness)
    assert run.slot_at == FRIDAY_SLOT and run.state == RunState.SENT
    text = harness.last_text(ZHANG)
    assert ZH("Hello {name}!").format(name="张伟") in text
    assert (
        ZH.plural(
            "This is your {weekday} check-in “{title}”: {count} question, about {minutes} min.",
            "This is your {weekday} check-in “{title}”: {count} questions, about {minutes} min.",
            4,
        ).format(weekday="星期五", title="每周联络", count=4, minutes=2)
        in text
    )
    # Organizers get no check-in of their own.
    assert harness.texts(ORGANIZER_CHEN)[-1] != text


async def test_full_conversation_with_buttons_text_skip_and_confirm(harness: Harness) -> None:
    run = await prompted(harness)
    h, u = harness, harness.updates
    await h.send(u.callback(ZHANG, button(run, 0, "g")))
    assert ZH("Question {number} of {count}").format(number=1, count=4) in h.last_text(ZHANG)
    await h.send(u.callback(ZHANG, button(run, 0, "a", "4")))
    assert "本周学习和工作进展如何" in h.last_text(ZHANG)
    long_answer = "进展顺利。" * 800  # 4,000 characters
    await h.send(u.text(ZHANG, long_answer))
    await h.send(u.callback(ZHANG, button(run, 2, "a", "no")))
    await h.send(u.callback(ZHANG, button(run, 3, "s")))
    summary = h.last_text(ZHANG)
    assert ZH("Your answers") in summary and ZH("(skipped)") in summary
    await h.send(u.callback(ZHANG, button(run, 4, "c")))
    assert h.last_text(ZHANG) == ZH("Thank you! Your answers have been sent to the organizers.")
    stored = await answers(h, run.id)
    assert stored["wellbeing"].value == "4"
    assert stored["progress"].value == long_answer  # stored whole
    assert stored["need_help"].value == "no"
    assert stored["remarks"].skipped
    (done,) = await runs(h)
    assert done.state == RunState.COMPLETED and done.completed_at == h.clock.now()


async def test_double_tap_records_one_answer_and_says_so(harness: Harness) -> None:
    run = await prompted(harness)
    h, u = harness, harness.updates
    await h.send(u.callback(ZHANG, button(run, 0, "g")))
    await h.send(u.callback(ZHANG, button(run, 0, "a", "2")))
    await h.send(u.callback(ZHANG, button(run, 0, "a", "5")))
    assert h.request.sent("answerCallbackQuery")[-1]["text"] == ZH(
        "This question has already been answered."
    )
    assert (await answers(h, run.id))["wellbeing"].value == "2"
    (current,) = await runs(h)
    assert current.current_question == 1


async def test_another_persons_run_is_refused(harness: Harness) -> None:
    run = await prompted(harness)
    await harness.enrol(WANG)
    await harness.send(harness.updates.callback(WANG, button(run, 0, "a", "1")))
    assert harness.request.sent("answerCallbackQuery")[-1]["text"] == EN(
        "This button is no longer valid."
    )
    assert await answers(harness, run.id) == {}


async def test_typed_answers_are_checked_and_reasked_with_a_hint(harness: Harness) -> None:
    run = await prompted(harness)
    h, u = harness, harness.updates
    await h.send(u.command(ZHANG, "/checkin"))
    await h.send(u.text(ZHANG, "very good"))
    texts = h.texts(ZHANG)
    assert texts[-2] == ZH("Please answer with a number from 1 to 5, or use the buttons.")
    assert ZH("Question {number} of {count}").format(number=1, count=4) in texts[-1]
    await h.send(u.text(ZHANG, "５"))  # a full-width digit from a Chinese keyboard
    assert (await answers(h, run.id))["wellbeing"].value == "5"


async def test_back_changes_the_previous_answer(harness: Harness) -> None:
    run = await prompted(harness)
    h, u = harness, harness.updates
    await h.send(u.callback(ZHANG, button(run, 0, "g")))
    await h.send(u.callback(ZHANG, button(run, 0, "a", "3")))
    await h.send(u.callback(ZHANG, button(run, 1, "b")))
    assert ZH("Current answer: {answer}").format(answer="3") in h.last_text(ZHANG)
    await h.send(u.callback(ZHANG, button(run, 0, "a", "1")))
    assert (await answers(h, run.id))["wellbeing"].value == "1"


async def test_edit_from_the_summary_returns_to_the_summary(harness: Harness) -> None:
    run = await prompted(harness)
    h, u = harness, harness.updates
    await h.send(u.callback(ZHANG, button(run, 0, "g")))
    await h.send(u.callback(ZHANG, button(run, 0, "a", "3")))
    await h.send(u.text(ZHANG, "ok"))
    await h.send(u.callback(ZHANG, button(run, 2, "a", "no")))
    await h.send(u.callback(ZHANG, button(run, 3, "a", "")), expect_error=False)
    await h.send(u.text(ZHANG, "没有了"))
    await h.send(u.callback(ZHANG, button(run, 4, "m")))
    await h.send(u.callback(ZHANG, button(run, 0, "e")))
    await h.send(u.callback(ZHANG, button(run, 0, "a", "5")))
    assert ZH("Your answers") in h.last_text(ZHANG)
    assert (await answers(h, run.id))["wellbeing"].value == "5"


async def test_edited_text_answer_replaces_the_stored_one(harness: Harness) -> None:
    run = await prompted(harness)
    h, u = harness, harness.updates
    await h.send(u.callback(ZHANG, button(run, 0, "g")))
    await h.send(u.callback(ZHANG, button(run, 0, "a", "3")))
    typed = u.text(ZHANG, "进展一般")
    await h.send(typed)
    assert typed.message is not None
    await h.send(u.edited(ZHANG, "进展顺利", message_id=typed.message.message_id))
    assert h.last_text(ZHANG) == ZH("Your answer has been updated.")
    assert (await answers(h, run.id))["progress"].value == "进展顺利"


async def test_voice_answer_is_archived_as_a_file(harness: Harness, tmp_path: Path) -> None:
    run = await prompted(harness)
    h, u = harness, harness.updates
    h.request.files["files/voice-1"] = b"OggS\x00fake-opus-audio"
    await h.send(u.callback(ZHANG, button(run, 0, "g")))
    await h.send(u.callback(ZHANG, button(run, 0, "a", "4")))
    await h.send(u.voice(ZHANG, file_id="voice-1", duration=12, size=20))
    stored = (await answers(h, run.id))["progress"]
    assert stored.file_id is not None
    async with h.db.read() as session:
        file = await session.get_one(StoredFile, stored.file_id)
    path = h.settings.data_dir / file.archive_path
    assert path.read_bytes() == b"OggS\x00fake-opus-audio"
    assert file.sha256 in {__import__("hashlib").sha256(path.read_bytes()).hexdigest()}
    assert f"test-prog/{run.person_id}/checkins/{run.id}/" in file.archive_path


async def test_text_while_no_run_is_open_gets_an_explanation(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.send(harness.updates.text(ZHANG, "我很好"))
    assert harness.last_text(ZHANG) == ZH(
        "No check-in is open right now, so this message was not recorded. "
        "Send /help to see what I can do."
    )


async def test_late_answer_is_refused_and_the_run_is_missed(harness: Harness) -> None:
    run = await prompted(harness)
    harness.clock.advance(timedelta(hours=25))
    await harness.send(harness.updates.callback(ZHANG, button(run, 0, "a", "3")))
    assert harness.request.sent("answerCallbackQuery")[-1]["text"] == ZH(
        "This check-in has closed, so late answers cannot be accepted. If something is "
        "wrong, please contact the organizers."
    )
    (closed,) = await runs(harness)
    assert closed.state == RunState.MISSED


async def test_restart_in_the_middle_resumes_at_the_same_question(
    harness: Harness, tmp_path: Path
) -> None:
    run = await prompted(harness)
    await harness.send(harness.updates.callback(ZHANG, button(run, 0, "g")))
    await harness.send(harness.updates.callback(ZHANG, button(run, 0, "a", "3")))
    await harness.app.shutdown()
    # A new process: a fresh Application on the same database.
    async for second in _harness(harness.db, FakeClock(harness.clock.now()), tmp_path / "2"):
        second.updates._update_ids = iter(range(50_000, 60_000))  # type: ignore[assignment]
        await second.send(second.updates.command(ZHANG, "/checkin"))
        assert ZH("Question {number} of {count}").format(number=2, count=4) in second.last_text(
            ZHANG
        )
    await harness.app.initialize()


async def test_reminder_then_escalation_then_a_recorded_note(harness: Harness) -> None:
    run = await prompted(harness)
    h = harness
    h.clock.set(FRIDAY_SLOT + timedelta(hours=3))
    await h.tick()
    reminder = ZH(
        "Reminder: your check-in is waiting ({answered} of {count} answered). It closes {when}."
    ).format(
        answered=0, count=4, when=ZH.full(FRIDAY_SLOT + timedelta(hours=24), "America/New_York")
    )
    assert h.last_text(ZHANG) == reminder
    h.clock.set(FRIDAY_SLOT + timedelta(hours=20))
    await h.tick()
    await h.tick()  # a second tick plans nothing new
    chen = h.last_text(ORGANIZER_CHEN)
    liu = h.last_text(ORGANIZER_LIU)
    assert "张伟" in chen and "+8613800001001" in chen and f"/note_{run.id}" in chen
    # Zhang's local time now, 16:00 on Saturday in New York, beside the organizer's.
    assert (
        ZH("Their local time now: {now}.").format(
            now=ZH.with_other_zone(h.clock.now(), "America/New_York", "Asia/Shanghai")
        )
        in chen
    )
    assert EN("Phone: {phone}").format(phone="+8613800001001") in liu
    assert h.texts(ZHANG).count(reminder) == 1
    (escalated,) = await runs(h)
    assert escalated.state == RunState.ESCALATED
    await h.send(h.updates.command(ORGANIZER_CHEN, f"/note_{run.id}"))
    await h.send(h.updates.text(ORGANIZER_CHEN, "已电话联系，身体不适，已休息。"))
    assert h.last_text(ORGANIZER_CHEN) == ZH("Notes of the call with {name} saved.").format(
        name="张伟"
    )
    (noted,) = await runs(h)
    assert noted.notes is not None and "已电话联系，身体不适，已休息。" in noted.notes


async def test_alert_reaches_two_organizers_in_their_languages(harness: Harness) -> None:
    run = await prompted(harness)
    h, u = harness, harness.updates
    await h.send(u.callback(ZHANG, button(run, 0, "g")))
    await h.send(u.callback(ZHANG, button(run, 0, "a", "1")))
    await h.send(u.text(ZHANG, "不太好"))
    await h.send(u.callback(ZHANG, button(run, 2, "a", "yes")))
    await h.send(u.callback(ZHANG, button(run, 3, "s")))
    await h.send(u.callback(ZHANG, button(run, 4, "c")))
    await h.dispatch()
    chen, liu = h.last_text(ORGANIZER_CHEN), h.last_text(ORGANIZER_LIU)
    assert (
        ZH("Alert from {name}'s check-in of {due}:").format(
            name="张伟", due=ZH.full(FRIDAY_SLOT, "Asia/Shanghai")
        )
        in chen
    )
    assert "您最近状态如何？ → 1" in chen and "需要帮助吗？ → " + ZH("Yes") in chen
    assert (
        EN("Alert from {name}'s check-in of {due}:").format(
            name="张伟", due=EN.full(FRIDAY_SLOT, "Asia/Shanghai")
        )
        in liu
    )
    assert "How are you doing? → 1" in liu and "Do you need help? → Yes" in liu


async def test_organizer_records_an_absence_and_no_run_is_planned(harness: Harness) -> None:
    for user in (ZHANG, ORGANIZER_CHEN):
        await harness.enrol(user)
    await harness.send(
        harness.updates.command(ORGANIZER_CHEN, "/absent 张伟 2026-10-30 2026-10-31 外出考察")
    )
    assert "张伟" in harness.last_text(ORGANIZER_CHEN)
    harness.clock.set(FRIDAY_SLOT)
    await harness.tick()
    assert await runs(harness) == []


async def test_cadre_cannot_record_absences(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.send(harness.updates.command(ZHANG, "/absent 张伟 2026-10-30 2026-10-31"))
    assert harness.last_text(ZHANG) == ZH("Only organizers can do this.")


async def test_prompt_too_old_after_downtime_is_not_sent(harness: Harness) -> None:
    for user in (ZHANG, ORGANIZER_CHEN):
        await harness.enrol(user)
    harness.clock.set(FRIDAY_SLOT)
    await harness.plan()  # planned, then the bot went down before sending
    harness.clock.set(FRIDAY_SLOT + timedelta(days=2))
    report = await harness.tick()
    # The prompt (and that morning's digest, also planned before the outage) expired.
    assert report.expired >= 1
    async with harness.db.read() as session:
        prompt = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "checkin_prompt")
        )
    assert prompt is not None and prompt.state == "expired"
    await harness.dispatch()  # the organizers' report, planned by the first batch
    assert not any("张伟" in t and "check-in" in t for t in harness.texts(ZHANG))
    assert all(ZH("Hello {name}!").format(name="张伟") not in t for t in harness.texts(ZHANG))
    (missed,) = await runs(harness)
    assert missed.state == RunState.MISSED
    assert ZH.plural(
        "While the bot was offline, {count} scheduled message became too old and was not "
        "sent; check-ins concerned are recorded as missed.",
        "While the bot was offline, {count} scheduled messages became too old and were not "
        "sent; check-ins concerned are recorded as missed.",
        1,
    ).format(count=report.expired) in "\n".join(harness.texts(ORGANIZER_CHEN))


async def test_slot_passed_during_downtime_is_recorded_missed_without_prompt(
    harness: Harness,
) -> None:
    await harness.enrol(ZHANG)
    harness.clock.set(FRIDAY_SLOT + timedelta(days=2))
    await harness.tick()
    (missed,) = await runs(harness)
    assert missed.state == RunState.MISSED
    async with harness.db.read() as session:
        assert list(await session.scalars(select(OutboxMessage))) == []
        events = list(await session.scalars(select(AuditEvent.action)))
    assert "checkin.missed" in events
