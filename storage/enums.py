"""The domain's closed vocabularies, stored as their text values (stable once persisted).

Columns use ``enum_column``: a non-native Enum keeps the schema a plain VARCHAR of the
same length, while Python code reads and writes the enum members, never bare strings.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import TypeVar

from sqlalchemy import Enum

E = TypeVar("E", bound=StrEnum)


def enum_column(enum: type[E], length: int) -> Enum:
    """A VARCHAR(length) column that loads and stores ``enum`` members by their values."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Role(StrEnum):
    CADRE = "cadre"
    ORGANIZER = "organizer"
    OBSERVER = "observer"


class PersonStatus(StrEnum):
    """Roster status through the lifecycle; services/audience.py says what each one gets."""

    CANDIDATE = "candidate"
    SHORTLISTED = "shortlisted"
    SELECTED = "selected"
    # A candidate the selection did not choose: told once, then sent nothing more.
    NOT_SELECTED = "not_selected"
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    RETURNED = "returned"


class Audience(StrEnum):
    """Whom a phase, session, assignment or survey addresses (the programme file's `audience`)."""

    CANDIDATES = "candidates"
    CADRES = "cadres"
    ALL = "all"


class ResultSource(StrEnum):
    """Where a test result came from: typed in the bot, or read from a roster file."""

    BOT = "bot"
    ROSTER = "roster"


class Location(StrEnum):
    """Where the cohort is during a phase."""

    HOME = "home"
    ABROAD = "abroad"


class SessionKind(StrEnum):
    LECTURE = "lecture"
    CASE = "case"
    VISIT = "visit"
    PLACEMENT = "placement"
    COMMUNITY = "community"
    MEETING = "meeting"
    EXAM = "exam"
    TRAVEL = "travel"
    OTHER = "other"


class AssignmentKind(StrEnum):
    STAGE_REPORT = "stage_report"
    RESEARCH_PAPER = "research_paper"
    PRE_DEPARTURE_RESEARCH = "pre_departure_research"


class ReviewStatus(StrEnum):
    """Where a submitted version stands: awaiting review, accepted, or returned for revision."""

    PENDING = "pending"
    REVIEWED = "reviewed"
    RETURNED = "returned"


class ReviewDecision(StrEnum):
    """An organizer's decision on a submission; services/reviews/ applies it."""

    ACCEPTED = "accepted"
    REVISION = "revision"


class BroadcastState(StrEnum):
    """A notice being written, going out, sent to everyone, or dropped before sending."""

    DRAFT = "draft"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class AudienceKind(StrEnum):
    """Who a broadcast goes to."""

    CADRES = "cadres"
    PHASE = "phase"
    ZONE = "zone"
    PEOPLE = "people"
    STAFF = "staff"


class MediaKind(StrEnum):
    """How a file sent by file_id is sent again: Telegram refuses a photo sent as a voice."""

    DOCUMENT = "document"
    PHOTO = "photo"
    VOICE = "voice"


class DraftStep(StrEnum):
    """A paper asks for its title, then its abstract, then collects; reports only collect."""

    TITLE = "title"
    ABSTRACT = "abstract"
    COLLECT = "collect"


class QuestionKind(StrEnum):
    TEXT = "text"
    VOICE_OR_TEXT = "voice_or_text"
    CHOICE = "choice"
    SCALE = "scale"
    YES_NO = "yes_no"


class RunState(StrEnum):
    """A check-in run's state; services/checkins/states.py says which moves are allowed."""

    DUE = "due"
    SENT = "sent"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    MISSED = "missed"
    ESCALATED = "escalated"


class OutboxState(StrEnum):
    """An outbox row's state; services/outbox/states.py says which moves are allowed."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"
    SKIPPED = "skipped"
    UNREACHABLE = "unreachable"


class InboxState(StrEnum):
    """An incoming update's state: pending until handled (done) or given up (failed)."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class OutboxKind(StrEnum):
    """What an outbox row is; each kind has its typed payload in services/outbox/payloads.py."""

    CHECKIN_PROMPT = "checkin_prompt"
    CHECKIN_REMINDER = "checkin_reminder"
    CHECKIN_ESCALATION = "checkin_escalation"
    CHECKIN_ALERT = "checkin_alert"
    EXPIRED_REPORT = "expired_report"
    UNREACHABLE_REPORT = "unreachable_report"
    SUBMISSION_NOTICE = "submission_notice"
    DEADLINE_REMINDER = "deadline_reminder"
    OVERDUE_REMINDER = "overdue_reminder"
    DRAFT_REMINDER = "draft_reminder"
    DRAFT_DROPPED = "draft_dropped"
    DIGEST = "digest"
    SELECTION_OUTCOME = "selection_outcome"
    EMAIL_REFUSED_REPORT = "email_refused"
    REVIEW_OUTCOME = "review_outcome"
    BROADCAST = "broadcast"
    BROADCAST_PROGRESS = "broadcast_progress"
    BROADCAST_REPORT = "broadcast_report"
    # Sent by e-mail (sender/email_sender.py), never through Telegram.
    EMAIL_DIGEST = "email_digest"
    EMAIL_EXPORT = "email_export"


# The kinds the e-mail sender claims; the Telegram sender claims every other kind.
EMAIL_KINDS = frozenset({OutboxKind.EMAIL_DIGEST, OutboxKind.EMAIL_EXPORT})
TELEGRAM_KINDS = frozenset(set(OutboxKind) - EMAIL_KINDS)


class OutboxPriority(IntEnum):
    """Claim order before due time: lower goes first, so a big broadcast never holds up a
    check-in prompt or an alert that comes due behind it."""

    URGENT = 0
    NORMAL = 1
    BULK = 2
