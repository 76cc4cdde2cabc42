"""One typed payload per outbox kind: codes and ids only, never prose.

The text is rendered at send time in the reader's language and zone, so a payload says
*what* to tell, not *how*. A kind's payload is checked when the row is planned and
parsed again when it is claimed; a typo in a field name fails loudly at both ends.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict

from liaison.storage.enums import OutboxKind, PersonStatus


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunPayload(Payload):
    """A check-in prompt, reminder, escalation or alert: everything comes from the run."""

    run_id: int


class ExpiredPayload(Payload):
    """How many scheduled messages went stale while the bot was down."""

    count: int


class UnreachablePayload(Payload):
    person_id: int
    reason: str


class SubmissionPayload(Payload):
    submission_id: int


class DeadlinePayload(Payload):
    """A reminder for one due time; an extension moves the due time and plans anew."""

    assignment_id: int
    due_at: AwareDatetime


class DraftPayload(Payload):
    draft_id: int


class DroppedDraftPayload(Payload):
    """The draft is gone by the time this is sent, so its titles travel with the message."""

    title_zh: str
    title_en: str


class DigestPayload(Payload):
    """``until`` is the digest's instant: it covers the cadres' local day before it."""

    programme_id: str
    until: AwareDatetime


class SelectionOutcomePayload(Payload):
    """The outcome told to one candidate: SELECTED or NOT_SELECTED."""

    decision: PersonStatus


class EmailRefusedPayload(Payload):
    """The mail server refused a person's address: the organizers should correct it."""

    person_id: int
    address: str
    reason: str


class EmailExportPayload(Payload):
    """An export (workbook, files, calendar) built at send time and sent by e-mail."""

    programme_id: str
    export: str
    locale: str | None = None


class ReviewPayload(Payload):
    """A review's outcome for the cadre: decision, score and feedback come from the row."""

    review_id: int


class BroadcastPayload(Payload):
    """A broadcast message, its progress edit or its final report to the author."""

    broadcast_id: int


PAYLOADS: dict[OutboxKind, type[Payload]] = {
    OutboxKind.CHECKIN_PROMPT: RunPayload,
    OutboxKind.CHECKIN_REMINDER: RunPayload,
    OutboxKind.CHECKIN_ESCALATION: RunPayload,
    OutboxKind.CHECKIN_ALERT: RunPayload,
    OutboxKind.EXPIRED_REPORT: ExpiredPayload,
    OutboxKind.UNREACHABLE_REPORT: UnreachablePayload,
    OutboxKind.SUBMISSION_NOTICE: SubmissionPayload,
    OutboxKind.DEADLINE_REMINDER: DeadlinePayload,
    OutboxKind.OVERDUE_REMINDER: DeadlinePayload,
    OutboxKind.DRAFT_REMINDER: DraftPayload,
    OutboxKind.DRAFT_DROPPED: DroppedDraftPayload,
    OutboxKind.DIGEST: DigestPayload,
    OutboxKind.SELECTION_OUTCOME: SelectionOutcomePayload,
    OutboxKind.EMAIL_REFUSED_REPORT: EmailRefusedPayload,
    OutboxKind.EMAIL_DIGEST: DigestPayload,
    OutboxKind.EMAIL_EXPORT: EmailExportPayload,
    OutboxKind.REVIEW_OUTCOME: ReviewPayload,
    OutboxKind.BROADCAST: BroadcastPayload,
    OutboxKind.BROADCAST_PROGRESS: BroadcastPayload,
    OutboxKind.BROADCAST_REPORT: BroadcastPayload,
}

P = TypeVar("P", bound=Payload)


class PayloadMismatch(TypeError):
    """A payload of the wrong type for its kind: a programming error, caught at once."""


def check_payload(kind: OutboxKind, payload: Payload) -> None:
    if type(payload) is not PAYLOADS[kind]:
        expected, got = PAYLOADS[kind].__name__, type(payload).__name__
        raise PayloadMismatch(f"{kind} takes {expected}, not {got}")


def parse_payload(kind: OutboxKind, data: dict[str, Any]) -> Payload:
    return PAYLOADS[kind].model_validate(data)


def as_payload(payload: Payload, expected: type[P]) -> P:
    """Narrows a claimed row's payload to the type its kind promises."""
    if not isinstance(payload, expected):
        raise PayloadMismatch(f"expected {expected.__name__}, got {type(payload).__name__}")
    return payload


def run_payload(run_id: int) -> RunPayload:
    """A run's payload without pydantic's validation: for the planner, which makes tens of
    thousands of them a tick from ids the database just returned (always ints)."""
    return RunPayload.model_construct(run_id=run_id)


def dump(payload: Payload) -> dict[str, Any]:
    if type(payload) is RunPayload:
        # Most rows by far (every prompt, reminder and escalation): no model_dump.
        return {"run_id": payload.run_id}
    return payload.model_dump(mode="json")
