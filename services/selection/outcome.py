"""What a candidate is told of the decision: read at send time, so a reversed decision
is never announced."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from liaison.services.audience import Stage, audience_rule
from liaison.services.programmes.settings import settings_of
from liaison.services.timezones import zone
from liaison.storage.database import Database
from liaison.storage.enums import PersonStatus
from liaison.storage.models import Person, Phase, Programme


@dataclass(frozen=True)
class NextPhase:
    title_zh: str
    title_en: str
    starts_on: date


@dataclass(frozen=True)
class OutcomeView:
    name: str
    status: PersonStatus
    programme_zh: str
    programme_en: str
    places: int | None
    # For the selected: the programme's first phase still to come, if any.
    next_phase: NextPhase | None


async def outcome_view(db: Database, person_id: int, now: datetime) -> OutcomeView:
    async with db.read() as session:
        person = await session.get_one(Person, person_id)
        programme = await session.get_one(Programme, person.programme_id)
        rule = await audience_rule(session, programme.id)
        today = now.astimezone(zone(programme.home_timezone)).date()
        upcoming = [
            p for p in rule.phases if p.stage is not Stage.SELECTION and p.starts_on >= today
        ]
        next_phase = None
        if upcoming:
            phase = await session.get_one(Phase, min(upcoming, key=lambda p: p.starts_on).id)
            next_phase = NextPhase(phase.title_zh, phase.title_en, phase.starts_on)
        return OutcomeView(
            person.name,
            person.status,
            programme.title_zh,
            programme.title_en,
            settings_of(programme).selection.places,
            next_phase,
        )
