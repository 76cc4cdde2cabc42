"""Who gets what: the one rule that turns a person's status and an item's audience into
"this person gets it".

Every planner (check-ins, deadline reminders), the digest's counts, /schedule and the
submission commands ask here; none of them tests a status itself. The table of the rule
is in docs/selection.md.

An item (session, assignment, survey slot) belongs to a phase, named or found by its
date. Its audience is its own ``audience`` from the programme file, else its phase's,
else the default: the selection phase addresses candidates, every other phase cadres.
Each phase is also at a stage: the selection, the programme itself, or after return (a
home phase that starts after the last phase abroad ended). Returned cadres keep only
what is at that last stage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.programmes.settings import settings_of
from liaison.services.timezones import zone
from liaison.storage.enums import Audience, Location, PersonStatus
from liaison.storage.models import Assignment, Phase, Programme, Session, Survey


class Stage(StrEnum):
    SELECTION = "selection"
    PROGRAMME = "programme"
    AFTER_RETURN = "after_return"


# Statuses of people the selection has not decided yet.
POOL = frozenset({PersonStatus.CANDIDATE, PersonStatus.SHORTLISTED})
# Statuses of the cohort before its return.
COHORT = frozenset({PersonStatus.SELECTED, PersonStatus.ACTIVE})
# Statuses the selection walks through and may change (a decision can be changed later).
SELECTABLE = POOL | {PersonStatus.SELECTED, PersonStatus.NOT_SELECTED}


def receives(status: PersonStatus, audience: Audience, stage: Stage) -> bool:
    """The rule itself: whether a person of this status gets an item of this audience."""
    if status in POOL:
        return audience in (Audience.CANDIDATES, Audience.ALL)
    if status in COHORT:
        return audience in (Audience.CADRES, Audience.ALL)
    if status is PersonStatus.RETURNED:
        return audience in (Audience.CADRES, Audience.ALL) and stage is Stage.AFTER_RETURN
    # Withdrawn, not selected: nothing at all.
    return False


def is_followed(status: PersonStatus) -> bool:
    """Whether the programme still follows this person at all (digest lists, silences)."""
    return status not in (PersonStatus.WITHDRAWN, PersonStatus.NOT_SELECTED)


def default_audience(stage: Stage) -> Audience:
    return Audience.CANDIDATES if stage is Stage.SELECTION else Audience.CADRES


@dataclass(frozen=True)
class PhaseRule:
    id: int
    key: str
    starts_on: date
    ends_on: date
    stage: Stage
    audience: Audience

    def holds(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


@dataclass(frozen=True)
class AudienceRule:
    """The rule applied to one programme: each phase with its stage and audience."""

    phases: tuple[PhaseRule, ...]

    def phase(self, phase_id: int | None, day: date) -> PhaseRule | None:
        """The item's own phase, or for an item without one the phase its date falls in."""
        if phase_id is not None:
            return next((p for p in self.phases if p.id == phase_id), None)
        holding = [p for p in self.phases if p.holds(day)]
        return max(holding, key=lambda p: p.starts_on) if holding else None

    @property
    def selection_phase(self) -> PhaseRule | None:
        return next((p for p in self.phases if p.stage is Stage.SELECTION), None)

    def gets(self, status: PersonStatus, own: Audience | None, phase: PhaseRule | None) -> bool:
        stage = phase.stage if phase else Stage.PROGRAMME
        audience = own or (phase.audience if phase else default_audience(stage))
        return receives(status, audience, stage)

    def gets_session(self, status: PersonStatus, item: Session) -> bool:
        day = item.starts_at.astimezone(zone(item.timezone)).date()
        return self.gets(status, item.audience, self.phase(item.phase_id, day))

    def gets_assignment(self, status: PersonStatus, item: Assignment) -> bool:
        day = item.due_at.astimezone(zone(item.timezone)).date()
        return self.gets(status, item.audience, self.phase(item.phase_id, day))

    def gets_survey(self, status: PersonStatus, survey: Survey, day: date) -> bool:
        """Whether a check-in slot on this local day is for this person."""
        phase = next((p for p in self.phases if p.key in survey.phase_keys and p.holds(day)), None)
        return phase is not None and self.gets(status, survey.audience, phase)


def rule_for(programme: Programme, phases: Iterable[Phase]) -> AudienceRule:
    phases = sorted(phases, key=lambda p: p.starts_on)
    selection_key = settings_of(programme).selection.phase
    abroad_ends = [p.ends_on for p in phases if p.location is Location.ABROAD]
    back_home = max(abroad_ends) if abroad_ends else None
    rules = []
    for phase in phases:
        if phase.key == selection_key:
            stage = Stage.SELECTION
        elif (
            back_home is not None
            and phase.location is Location.HOME
            and phase.starts_on > back_home
        ):
            stage = Stage.AFTER_RETURN
        else:
            stage = Stage.PROGRAMME
        audience = phase.audience or default_audience(stage)
        rules.append(
            PhaseRule(phase.id, phase.key, phase.starts_on, phase.ends_on, stage, audience)
        )
    return AudienceRule(tuple(rules))


async def audience_rule(session: AsyncSession, programme_id: str) -> AudienceRule:
    """The rule for a programme, read in the caller's session (one query for its phases)."""
    programme = await session.get_one(Programme, programme_id)
    phases = await session.scalars(select(Phase).where(Phase.programme_id == programme_id))
    return rule_for(programme, phases)
