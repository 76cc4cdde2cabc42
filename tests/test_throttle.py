"""A token bucket per user before the guard: floods are dropped, one notice per window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from liaison.bot.application import GUARD_GROUP, THROTTLE_GROUP
from liaison.bot.throttle import BURST, NOTICE_EVERY, RATE, Throttle
from liaison.services.clock import FakeClock
from liaison.storage.models import AuditEvent
from liaison.ui.i18n import translator
from tests.conftest import STRANGER, ZHANG, Harness

ZH = translator("zh_CN")
EN = translator("en")
SLOW_DOWN = (
    "You are sending messages faster than I can answer them, so I skipped some. "
    "Please wait a minute, then send again."
)


def test_a_bucket_allows_a_burst_then_its_rate_and_one_notice_per_window() -> None:
    clock = FakeClock(datetime(2026, 11, 3, tzinfo=UTC))
    throttle = Throttle(clock)
    verdicts = [throttle.take(1) for _ in range(int(BURST) + 3)]
    assert verdicts[: int(BURST)] == [(True, False)] * int(BURST)
    assert verdicts[int(BURST) :] == [(False, True), (False, False), (False, False)]
    assert throttle.take(2) == (True, False)  # another user has a bucket of their own
    clock.advance(timedelta(seconds=1 / RATE))
    assert throttle.take(1) == (True, False)
    assert throttle.take(1) == (False, False)  # still inside the notice window
    clock.advance(NOTICE_EVERY)
    assert throttle.take(1)[0] is True


def test_the_throttle_runs_before_the_guard() -> None:
    assert THROTTLE_GROUP < GUARD_GROUP


async def test_300_code_guesses_in_a_burst_get_few_answers_and_one_audit_row(
    harness: Harness,
) -> None:
    h = harness
    for attempt in range(300):
        await h.send(h.updates.command(STRANGER, f"/start GUESS{attempt:03d}"))
    answers = h.texts(STRANGER)
    assert len(answers) == int(BURST) + 1
    assert answers.count(EN(SLOW_DOWN)) == 1
    async with h.db.read() as session:
        rows = await session.scalar(
            select(func.count()).where(AuditEvent.action == "enrolment.refused")
        )
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "enrolment.refused")
        )
    assert rows == 1 and event is not None and event.details["count"] == int(BURST)


async def test_a_known_user_is_asked_to_slow_down_in_their_language(harness: Harness) -> None:
    h = harness
    await h.enrol(ZHANG)
    h.app.bot_data.throttle.reset()
    for _ in range(int(BURST) + 5):
        await h.send(h.updates.command(ZHANG, "/help"))
    assert h.texts(ZHANG).count(ZH(SLOW_DOWN)) == 1
    h.clock.advance(timedelta(seconds=10))
    before = len(h.texts(ZHANG))
    await h.send(h.updates.command(ZHANG, "/help"))
    assert len(h.texts(ZHANG)) > before  # refilled: answered again


async def test_button_floods_are_answered_once_with_an_alert(harness: Harness) -> None:
    h = harness
    await h.enrol(ZHANG)
    h.app.bot_data.throttle.reset()
    for _ in range(int(BURST) + 3):
        await h.send(h.updates.callback(ZHANG, "sc1:week:2026-11-02"))
    answers = [a.get("text") for a in h.request.sent("answerCallbackQuery")]
    assert answers.count(ZH(SLOW_DOWN)) == 1
