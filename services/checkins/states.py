"""The one table of a run's allowed moves, and the compare-and-set that applies them.

Every state change is one conditional UPDATE from the states allowed to lead to the
target, so two writers racing (a press on Start while the sender records the prompt as
sent) can never overwrite each other: the loser's UPDATE matches no row, and it says so.

```mermaid
stateDiagram-v2
    [*] --> due: planned up to an hour ahead
    [*] --> missed: planned after its window
    due --> [*]: dropped (deleted) at its slot, no longer wanted
    due --> sent: prompt delivered
    due --> in_progress
    sent --> in_progress: Start or first answer
    due --> escalated
    sent --> escalated
    in_progress --> escalated: no answer after escalate_after
    due --> completed
    sent --> completed
    in_progress --> completed: Confirm
    escalated --> completed
    due --> missed
    sent --> missed
    in_progress --> missed: window closed, or absence
    escalated --> missed
```
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from liaison.storage.enums import RunState
from liaison.storage.models import SurveyRun

TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.DUE: frozenset(
        {
            RunState.SENT,
            RunState.IN_PROGRESS,
            RunState.ESCALATED,
            RunState.COMPLETED,
            RunState.MISSED,
        }
    ),
    RunState.SENT: frozenset(
        {RunState.IN_PROGRESS, RunState.ESCALATED, RunState.COMPLETED, RunState.MISSED}
    ),
    RunState.IN_PROGRESS: frozenset({RunState.ESCALATED, RunState.COMPLETED, RunState.MISSED}),
    RunState.ESCALATED: frozenset({RunState.COMPLETED, RunState.MISSED}),
    RunState.COMPLETED: frozenset(),
    RunState.MISSED: frozenset(),
}

# A run that can still be answered (if its window has not closed).
OPEN: tuple[RunState, ...] = (
    RunState.DUE,
    RunState.SENT,
    RunState.IN_PROGRESS,
    RunState.ESCALATED,
)


def sources(target: RunState) -> tuple[RunState, ...]:
    """The states a run may be in to move to ``target``."""
    return tuple(state for state, targets in TRANSITIONS.items() if target in targets)


async def move_run(
    session: AsyncSession,
    run: SurveyRun | int,
    target: RunState,
    *,
    only_from: tuple[RunState, ...] | None = None,
    **values: Any,
) -> bool:
    """Moves a run to ``target`` if it is in an allowed state; False when it was not.

    ``only_from`` narrows the allowed sources (e.g. only a due run becomes sent);
    ``values`` are written in the same statement. A loaded run object is updated in
    memory too, without marking it dirty.
    """
    allowed = sources(target)
    if only_from is not None:
        allowed = tuple(state for state in allowed if state in only_from)
    run_id = run if isinstance(run, int) else run.id
    result = await session.execute(
        update(SurveyRun)
        .where(SurveyRun.id == run_id, SurveyRun.state.in_(allowed))
        .values(state=target, **values)
        .execution_options(synchronize_session=False)
    )
    moved = bool(result.rowcount)  # type: ignore[attr-defined]
    if moved and isinstance(run, SurveyRun):
        set_committed_value(run, "state", target)
        for name, value in values.items():
            set_committed_value(run, name, value)
    return moved
