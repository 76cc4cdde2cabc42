"""Typed models, one module per aggregate; importing this package registers them all."""

from storage.models.assignments import (
    Assignment,
    Extension,
    StoredFile,
    Submission,
    SubmissionDraft,
)
from storage.models.audit import AuditEvent, ProcessedUpdate
from storage.models.outbox import OutboxMessage, OutboxState
from storage.models.people import EnrolmentCode, Person, PersonStatus, Role
from storage.models.programme import Phase, Programme, Session
from storage.models.surveys import (
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
