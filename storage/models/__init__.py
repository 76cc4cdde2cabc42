"""Typed models, one module per aggregate; importing this package registers them all."""

from liaison.storage.models.assignments import (
    Assignment,
    Extension,
    StoredFile,
    Submission,
    SubmissionDraft,
)
from liaison.storage.models.audit import AuditEvent, ProcessedUpdate
from liaison.storage.models.limits import EnrolmentRefusals
from liaison.storage.models.outbox import OutboxMessage
from liaison.storage.models.people import EnrolmentCode, Person
from liaison.storage.models.programme import Phase, Programme, Session
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
    "EnrolmentCode",
    "EnrolmentRefusals",
    "Extension",
    "OutboxMessage",
    "Person",
    "Phase",
    "ProcessedUpdate",
    "Programme",
    "Session",
    "StoredFile",
    "Submission",
    "SubmissionDraft",
    "Survey",
    "SurveyAnswer",
    "SurveyQuestion",
    "SurveyRun",
]
