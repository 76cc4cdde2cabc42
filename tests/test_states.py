"""State changes are compare-and-set moves from the transition table, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from liaison.services.checkins import conversation
from liaison.services.checkins.planning import plan_checkins
from liaison.services.checkins.states import TRANSITIONS, move_run, sources
from liaison.services.outbox import states as outbox_states
from liaison.services.outbox.queue import LEASE, claim_due, finish, mark_sent, release
from liaison.storage.database import Database
from liaison.storage.enums import OutboxState, RunState
from liaison.storage.models import OutboxMessage, SurveyRun
from tests.conftest import seed
from tests.test_checkin_plan import enrol_cadres
from tests.test_outbox import NOW, fan_out, make_people

FRIDAY_SLOT = datetime(2026, 10, 31, 0, 0, tzinfo=UTC)  # Fri 30 Oct 20:00 EDT


async def first_run(db: Database) -> SurveyRun:
    await seed(db)
    await enrol_cadres(db)
    await plan_checkins(db, FRIDAY_SLOT)
    async with db.read() as session:
        run = await session.scalar(
            select(SurveyRun)
            .where(SurveyRun.state == RunState.DUE, SurveyRun.slot_at == FRIDAY_SLOT)
            .order_by(SurveyRun.id)
            .limit(1)
        )
    assert run is not None
    return run


async def state_of(db: Database, run_id: int) -> RunState:
    async with db.read() as session:
        return (await session.get_one(SurveyRun, run_id)).state


async def test_prompt_recorded_after_start_does_not_overwrite_in_progress(db: Database) -> None:
    run = await first_run(db)
    # The cadre presses Start before the sender has recorded the prompt as sent.
    view = await conversation.start(db, run.person_id, FRIDAY_SLOT + timedelta(seconds=1), run.id)
    assert view.state is RunState.IN_PROGRESS
    assert await conversation.prompt_sent(db, run.id) is False
    assert await state_of(db, run.id) is RunState.IN_PROGRESS


async def test_a_due_run_becomes_sent_once(db: Database) -> None:
    run = await first_run(db)
    assert await conversation.prompt_sent(db, run.id) is True
    assert await conversation.prompt_sent(db, run.id) is False
    assert await state_of(db, run.id) is RunState.SENT


async def test_a_completed_run_never_moves_again(db: Database) -> None:
    run = await first_run(db)
    async with db.transaction() as session:
        assert await move_run(session, run.id, RunState.COMPLETED, completed_at=FRIDAY_SLOT)
    for target in RunState:
        async with db.transaction() as session:
            assert not await move_run(session, run.id, target)
    assert await state_of(db, run.id) is RunState.COMPLETED


def test_final_states_have_no_way_out_and_every_state_is_in_the_tables() -> None:
    assert set(TRANSITIONS) == set(RunState)
    assert TRANSITIONS[RunState.COMPLETED] == TRANSITIONS[RunState.MISSED] == frozenset()
    assert RunState.DUE not in {t for targets in TRANSITIONS.values() for t in targets}
    assert sources(RunState.SENT) == (RunState.DUE,)
    assert set(outbox_states.TRANSITIONS) == set(OutboxState)
    assert {
        OutboxState.SENT,
        OutboxState.FAILED,
        OutboxState.EXPIRED,
        OutboxState.SKIPPED,
        OutboxState.UNREACHABLE,
    } == outbox_states.FINAL


async def test_finishing_a_row_with_a_non_final_state_is_refused(db: Database) -> None:
    from liaison.services.outbox.queue import finish

    (person,) = await make_people(db, 1)
    await fan_out(db, [person])
    (row,) = await claim_due(db, NOW)
    with pytest.raises(ValueError, match="not a final outcome"):
        await finish(db, row, OutboxState.PENDING, None)


async def test_a_sender_whose_lease_was_taken_over_records_nothing(db: Database) -> None:
    """A sender stalled past its lease; another took the row up. The stale one's outcome
    (here: giving up on it) must not overwrite what the new holder is doing."""
    (person,) = await make_people(db, 1)
    await fan_out(db, [person])
    (stale,) = await claim_due(db, NOW)
    later = NOW + LEASE + timedelta(seconds=1)
    (current,) = await claim_due(db, later)
    assert current.token != stale.token and current.recovered
    assert await finish(db, stale, OutboxState.FAILED, "stale sender") is False
    await release(db, stale, later, "stale sender")
    assert await mark_sent(db, current, 10_000, 1, later) is True
    async with db.read() as session:
        row = await session.get_one(OutboxMessage, stale.id)
    assert (row.state, row.last_error, row.claim_token) == (OutboxState.SENT, None, None)


async def test_every_state_change_goes_through_a_transition_table() -> None:
    """No module but the two tables' own writes a run's or a row's state directly."""
    import re
    from pathlib import Path

    root = Path(__file__).parent.parent
    allowed = {"services/checkins/states.py", "services/outbox/states.py"}
    offenders = []
    for folder in ("bot", "handlers", "sender", "ui", "services", "storage"):
        for path in (root / folder).rglob("*.py"):
            relative = str(path.relative_to(root))
            text = path.read_text(encoding="utf-8")
            if relative in allowed:
                continue
            if re.search(r"\.state\s*=[^=]|[(,]\s*state\s*=\s*(RunState|OutboxState)", text):
                offenders.append(relative)
    assert offenders == []


async def test_a_move_decided_on_a_stale_read_loses_cleanly(db: Database) -> None:
    """The race seen under load: the sender read `due`, then the cadre's Start committed."""
    run = await first_run(db)
    async with db.transaction() as session:
        seen = await session.get_one(SurveyRun, run.id)
        assert seen.state is RunState.DUE
        await conversation.start(db, run.person_id, FRIDAY_SLOT + timedelta(seconds=1), run.id)
        moved = await move_run(session, run.id, RunState.SENT, only_from=(RunState.DUE,))
    assert moved is False
    assert await state_of(db, run.id) is RunState.IN_PROGRESS
