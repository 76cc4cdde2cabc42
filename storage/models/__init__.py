"""Typed models, one module per aggregate; importing this package registers them all."""

from liaison.storage.models.assignments import (
    Assignment,
    Extension,
    StoredFile,
    Submission,
    SubmissionDraft,
)
from liaison.storage.models.audit import AuditEvent, ProcessedUpdate
from liaison.storage.models.outbox import OutboxMessage, OutboxState
from liaison.storage.models.people import EnrolmentCode, Person, PersonStatus, Role
from liaison.storage.models.programme import Phase, Programme, Session
from liaison.storage.models.surveys import (
    Absence,
    RunState,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyRun,
)

__all__ = [
    "Absence",
    "Assignment",
    "AuditEvent",
    "EnrolmentCode",
    "Extension",
    "OutboxMessage",
    "OutboxState",
    "Person",
    "PersonStatus",
    "Phase",
    "ProcessedUpdate",
    "Programme",
    "Role",
    "RunState",
    "Session",
    "StoredFile",
    "Submission",
    "SubmissionDraft",
    "Survey",
    "SurveyAnswer",
    "SurveyQuestion",
    "SurveyRun",
]
