"""The inbox: handled once, effects and "done" together, retries, order per person, pruning."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from telegram import Update
from telegram.ext import CommandHandler, TypeHandler

from liaison.services import inbox
from liaison.storage.enums import InboxState
from liaison.storage.models import AuditEvent, InboxUpdate, Person
from liaison.ui.i18n import translator
from tests.conftest import LI, STRANGER, ZHANG, Harness

ZH = translator("zh_CN")
APOLOGY = "Sorry, something went wrong on our side. Please try again in a minute."


async def row(h: Harness, update_id: int) -> InboxUpdate:
    async with h.db.read() as session:
        found = await session.get(InboxUpdate, update_id)
    assert found is not None
    return found


class Flaky:
    """A handler that raises the given errors first, then answers."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self, update: Update, context: Any) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        assert update.effective_message is not None
        await update.effective_message.reply_text("flaky answered")


async def test_failing_handler_is_failed_after_three_tries_with_one_apology(
    harness: Harness,
) -> None:
    h = harness
    await h.enrol(ZHANG)
    flaky = Flaky(*(RuntimeError("boom") for _ in range(5)))
    h.app.add_handler(CommandHandler("flaky", flaky), group=1)
    sent = h.updates.command(ZHANG, "/flaky")
    await h.send(sent, expect_error=True)
    failed = await row(h, sent.update_id)
    assert (failed.state, failed.attempts, flaky.calls) == (InboxState.FAILED, 3, 3)
    assert failed.last_error is not None and "RuntimeError: boom" in failed.last_error
    assert h.texts(ZHANG).count(ZH(APOLOGY)) == 1


async def test_handler_failing_once_is_done_on_retry_without_apology(harness: Harness) -> None:
    h = harness
    await h.enrol(ZHANG)
    flaky = Flaky(RuntimeError("once"))
    h.app.add_handler(CommandHandler("flaky", flaky), group=1)
    sent = h.updates.command(ZHANG, "/flaky")
    await h.send(sent)
    assert (await row(h, sent.update_id)).state is InboxState.DONE
    assert h.texts(ZHANG)[-1] == "flaky answered"
    assert ZH(APOLOGY) not in h.texts(ZHANG)


async def test_failed_update_leaves_none_of_its_effects(harness: Harness) -> None:
    """Enrolment writes the link and an audit row; a later error undoes both with the update."""
    h = harness
    h.app.add_handler(TypeHandler(Update, Flaky(*(RuntimeError("x") for _ in range(3)))), 1)
    await h.send(
        h.updates.contact(ZHANG, "8613800001001", contact_user_id=ZHANG.id), expect_error=True
    )
    async with h.db.read() as session:
        linked = await session.scalar(select(Person.id).where(Person.telegram_user_id == ZHANG.id))
        audits = list(await session.scalars(select(AuditEvent.action)))
    assert linked is None
    assert not any(action.startswith("enrol") for action in audits)


async def test_transient_error_gets_no_apology_and_the_update_is_handled_later(
    harness: Harness,
) -> None:
    h = harness
    await h.enrol(ZHANG)
    h.app.bot_data.inbox.retry_delay = lambda attempts: timedelta(seconds=30)
    outage = OperationalError("SELECT 1", {}, ConnectionRefusedError("database is down"))
    flaky = Flaky(outage)
    h.app.add_handler(CommandHandler("flaky", flaky), group=1)
    sent = h.updates.command(ZHANG, "/flaky")
    await h.send(sent)
    assert (await row(h, sent.update_id)).state is InboxState.PENDING
    assert ZH(APOLOGY) not in h.texts(ZHANG)
    h.clock.advance(timedelta(seconds=30))
    await h.app.bot_data.inbox.drain()
    assert (await row(h, sent.update_id)).state is InboxState.DONE
    assert h.texts(ZHANG)[-1] == "flaky answered"


async def test_a_persons_later_update_waits_for_their_earlier_one(harness: Harness) -> None:
    h = harness
    await h.enrol(ZHANG)
    await h.enrol(LI)
    h.app.bot_data.inbox.retry_delay = lambda attempts: timedelta(seconds=30)
    flaky = Flaky(RuntimeError("first try fails"))
    h.app.add_handler(CommandHandler("flaky", flaky), group=1)
    first = h.updates.command(ZHANG, "/flaky")
    later = h.updates.command(ZHANG, "/help")
    other = h.updates.command(LI, "/help")
    await h.send(first)
    await h.send(later)
    await h.send(other)
    assert (await row(h, first.update_id)).state is InboxState.PENDING
    assert (await row(h, later.update_id)).state is InboxState.PENDING  # behind the first
    assert (await row(h, other.update_id)).state is InboxState.DONE  # someone else: not held
    answered = len(h.texts(ZHANG))
    h.clock.advance(timedelta(seconds=30))
    await h.app.bot_data.inbox.drain()
    assert (await row(h, later.update_id)).state is InboxState.DONE
    after = h.texts(ZHANG)[answered:]
    # The earlier one first (group 0 answers "unknown command", then flaky in group 1).
    assert len(after) == 3 and after[1] == "flaky answered"


async def test_updates_the_guard_stops_are_done(harness: Harness) -> None:
    h = harness
    group = h.updates.group_text(STRANGER, "/start")
    stranger = h.updates.text(STRANGER, "hello?")
    await h.send(group)
    await h.send(stranger)
    assert (await row(h, group.update_id)).state is InboxState.DONE
    assert (await row(h, stranger.update_id)).state is InboxState.DONE


async def test_update_begun_too_often_without_finishing_is_failed_unhandled(
    harness: Harness,
) -> None:
    """A crash loop (the process dies in the handler every time) ends after ATTEMPT_LIMIT."""
    h = harness
    await h.enrol(ZHANG)
    sent = h.updates.command(ZHANG, "/help")
    await inbox.store(h.db, [sent.to_dict()], h.clock.now())
    async with h.db.transaction() as session:
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id == sent.update_id)
            .values(attempts=inbox.ATTEMPT_LIMIT)
        )
    before = len(h.texts(ZHANG))
    await h.app.bot_data.inbox.drain()
    failed = await row(h, sent.update_id)
    assert failed.state is InboxState.FAILED
    assert len(h.texts(ZHANG)) == before


async def test_prune_forgets_settled_rows_after_a_week_and_keeps_pending_ones(
    harness: Harness,
) -> None:
    h = harness
    await h.enrol(ZHANG)
    pending = h.updates.command(ZHANG, "/help")
    await inbox.store(h.db, [pending.to_dict()], h.clock.now() - timedelta(days=30))
    assert await inbox.prune(h.db, h.clock.now() + timedelta(days=6)) == 0
    assert await inbox.prune(h.db, h.clock.now() + timedelta(days=8)) == 1  # the enrolment
    assert (await row(h, pending.update_id)).state is InboxState.PENDING


def test_sender_of_finds_the_user_of_messages_and_button_presses() -> None:
    message = {"update_id": 1, "message": {"from": {"id": 5}, "chat": {"id": 5}}}
    press = {"update_id": 2, "callback_query": {"id": "q", "from": {"id": 6}}}
    assert inbox.sender_of(message) == 5
    assert inbox.sender_of(press) == 6
    assert inbox.sender_of({"update_id": 3}) is None


async def test_rows_of_a_batch_cut_short_by_a_crash_pay_for_it_once(harness: Harness) -> None:
    """Fresh rows are counted together; after a crash each is begun alone and then done."""
    h = harness
    await h.enrol(ZHANG)
    await h.enrol(LI)
    first, second = h.updates.command(ZHANG, "/help"), h.updates.command(LI, "/help")
    ids = [first.update_id, second.update_id]
    await inbox.store(h.db, [first.to_dict(), second.to_dict()], h.clock.now())
    claimed = await inbox.claim_fresh(h.db, ids, h.clock.now())  # ... and the process dies
    assert [(c.update_id, c.attempts) for c in claimed] == [(ids[0], 1), (ids[1], 1)]
    assert await inbox.claim_fresh(h.db, ids, h.clock.now()) == []  # never twice in bulk
    await h.app.bot_data.inbox.drain()
    rows = [await row(h, update_id) for update_id in ids]
    assert [(r.state, r.attempts) for r in rows] == [(InboxState.DONE, 2)] * 2


async def test_a_row_killing_the_process_in_every_try_fails_after_the_attempt_limit(
    harness: Harness,
) -> None:
    """Claimed in a batch once, then begun alone at each restart: the crash loop is bounded."""
    h = harness
    await h.enrol(ZHANG)
    sent = h.updates.command(ZHANG, "/help")
    await inbox.store(h.db, [sent.to_dict()], h.clock.now())
    assert await inbox.claim_fresh(h.db, [sent.update_id], h.clock.now())  # dies in the handler
    for _ in range(inbox.ATTEMPT_LIMIT - 1):  # every restart begins it again, and dies again
        assert await inbox.begin_attempt(h.db, sent.update_id, h.clock.now()) is not None
    before = len(h.texts(ZHANG))
    assert await inbox.begin_attempt(h.db, sent.update_id, h.clock.now()) is None
    failed = await row(h, sent.update_id)
    assert (failed.state, failed.attempts) == (InboxState.FAILED, inbox.ATTEMPT_LIMIT + 1)
    await h.app.bot_data.inbox.drain()
    assert len(h.texts(ZHANG)) == before  # never handled


async def test_a_stopping_worker_finishes_the_update_in_hand_and_begins_no_other(
    harness: Harness,
) -> None:
    """SIGTERM with a backlog: the process must end now, not after the backlog (it waits)."""
    h = harness
    await h.enrol(ZHANG)
    await h.enrol(LI)
    stop = asyncio.Event()
    handled: list[int] = []

    async def slow(update: Update, context: Any) -> None:
        handled.append(update.update_id)
        stop.set()  # the signal arrives while the first update is in hand
        await asyncio.sleep(0)

    h.app.add_handler(CommandHandler("slow", slow), group=1)
    backlog = [h.updates.command(person, "/slow") for person in (ZHANG, LI) for _ in range(3)]
    worker = h.app.bot_data.inbox
    await worker.accept([u.to_dict() for u in backlog])
    await asyncio.wait_for(worker.run(stop), timeout=30)
    assert handled == [backlog[0].update_id]
    states = [(await row(h, u.update_id)).state for u in backlog]
    assert states[0] is InboxState.DONE
    assert set(states[1:]) == {InboxState.PENDING}  # handled at the next start
