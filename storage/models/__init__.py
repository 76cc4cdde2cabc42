"""Typed models, one module per aggregate; importing this package registers them all."""

from liaison.storage.models.assignments import (
    Assignment,
    Extension,
    StoredFile,
    Submission,
    SubmissionDraft,
)
from liaison.storage.models.audit import AuditEvent
from liaison.storage.models.broadcasts import Broadcast, BroadcastRecipient
from liaison.storage.models.inbox import InboxUpdate
from liaison.storage.models.limits import EnrolmentRefusals
from liaison.storage.models.operations import Heartbeat
from liaison.storage.models.outbox import OutboxMessage
from liaison.storage.models.people import EnrolmentCode, Person
from liaison.storage.models.programme import Phase, Programme, Session
from liaison.storage.models.reviews import Review
from liaison.storage.models.selection import SelectionMark, TestResult
from liaison.storage.models.surveys import (
    Absence,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyRun,
)

__all__ = [
    "Absence",
    "Assignment",
    "AuditEvent",
    "Broadcast",
    "BroadcastRecipient",
    "EnrolmentCode",
    "EnrolmentRefusals",
    "Extension",
    "Heartbeat",
    "InboxUpdate",
    "OutboxMessage",
    "Person",
    "Phase",
    "Programme",
    "Review",
    "SelectionMark",
    "Session",
    "StoredFile",
    "Submission",
    "SubmissionDraft",
    "Survey",
    "SurveyAnswer",
    "SurveyQuestion",
    "SurveyRun",
    "TestResult",
]
