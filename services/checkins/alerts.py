"""Alert rules on a completed run (e.g. wellbeing ≤ 2), and who is told."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.checkins.views import RunView, load_view
from liaison.services.outbox.payloads import RunPayload
from liaison.services.outbox.queue import Planned, enqueue
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, QuestionKind
from liaison.storage.models import Survey, SurveyRun
from liaison.storage.queries import reachable_staff


@dataclass(frozen=True)
class Triggered:
    question_key: str
    op: str
    threshold: Any
    value: str


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    ">": operator.gt,
}


def evaluate_alerts(rules: list[dict[str, Any]], view: RunView) -> list[Triggered]:
    kinds = {q.key: q.kind for q in view.questions}
    triggered: list[Triggered] = []
    for rule in rules:
        stored = view.answers.get(rule["question"])
        if stored is None or stored.skipped or stored.value is None:
            continue
        kind = kinds.get(rule["question"])
        value: Any = stored.value
        if kind is QuestionKind.SCALE:
            value = int(value)
        elif kind is QuestionKind.YES_NO:
            value = value == "yes"
        if _OPS[rule["op"]](value, rule["value"]):
            triggered.append(Triggered(rule["question"], rule["op"], rule["value"], stored.value))
    return triggered


async def alert_organizers(
    session: AsyncSession, programme_id: str, run_id: int, now: datetime
) -> int:
    """Tells every reachable organizer at once, through the outbox; returns how many."""
    told = 0
    for organizer in await reachable_staff(session, programme_id):
        told += await enqueue(
            session,
            Planned(
                f"alert:{run_id}:{organizer.id}",
                organizer.id,
                OutboxKind.CHECKIN_ALERT,
                RunPayload(run_id=run_id),
                now,
            ),
        )
    return told


async def alerts_of(db: Database, run_id: int) -> list[Triggered]:
    async with db.read() as session:
        run = await session.get_one(SurveyRun, run_id)
        survey = await session.get_one(Survey, run.survey_id)
        return evaluate_alerts(list(survey.alert_rules), await load_view(session, run))
