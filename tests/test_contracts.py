"""Contracts between layers: every domain error has words, every outbox kind a typed payload,
programme settings are read back typed."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from liaison.services.errors import DomainError
from liaison.services.files.quota import Cap
from liaison.services.outbox.payloads import (
    PAYLOADS,
    DeadlinePayload,
    PayloadMismatch,
    RunPayload,
    as_payload,
    parse_payload,
)
from liaison.services.outbox.queue import Planned
from liaison.services.programmes.settings import ProgrammeSettings, SubmissionNotices
from liaison.storage.enums import EMAIL_KINDS, TELEGRAM_KINDS, OutboxKind
from liaison.storage.models import Programme
from liaison.ui.email import EMAIL_RENDERERS
from liaison.ui.errors import error_text
from liaison.ui.i18n import translator
from liaison.ui.outbox import RENDERERS

FALLBACK = "Sorry, that did not work."
ARGS: dict[str, tuple[object, ...]] = {
    "DraftElsewhere": ("论文", "Paper"),
    "FileRefused": ("empty", ["pdf"]),
    "UnknownAssignment": ("stage-9", ["stage-1"]),
    "InvalidAnswer": ("scale",),
    "UnknownTest": ("toefl", ["english-1", "bft"]),
    "ScoreOutOfRange": ("120", "英语", "English", 0, 100),
    "UnknownLevel": ("top", "BFT", "BFT", [("高级", "Advanced")]),
    "CodeAttemptsLocked": (60,),
    "QuotaReached": (Cap.DAY_BYTES,),
}


def all_domain_errors() -> list[type[DomainError]]:
    services = importlib.import_module("liaison.services")
    for module in pkgutil.walk_packages(services.__path__, "liaison.services."):
        importlib.import_module(module.name)
    found: list[type[DomainError]] = []
    pending = [DomainError]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            pending.append(sub)
    return found


# Refusals handlers answer with their own usage line instead of a generic text.
ANSWERED_BY_USAGE: set[str] = set()


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_domain_error_has_its_own_words(locale: str) -> None:
    t = translator(locale)
    missing = []
    for cls in all_domain_errors():
        if cls.__name__ in ANSWERED_BY_USAGE:
            continue
        error = cls(*ARGS.get(cls.__name__, ("x",)))
        if error_text(error, t) == t(FALLBACK):
            missing.append(cls.__name__)
    assert missing == []


def test_every_outbox_kind_has_a_payload_type_and_a_renderer() -> None:
    assert set(PAYLOADS) == set(OutboxKind)
    # Telegram kinds render in ui/outbox.py, e-mail kinds in ui/email.py; never both.
    assert set(RENDERERS) == TELEGRAM_KINDS
    assert set(EMAIL_RENDERERS) == EMAIL_KINDS


def test_a_payload_of_the_wrong_type_is_refused_when_planned() -> None:
    now = datetime(2026, 11, 3, tzinfo=UTC)
    with pytest.raises(PayloadMismatch):
        Planned("k", 1, OutboxKind.DIGEST, RunPayload(run_id=1), now)
    with pytest.raises(PayloadMismatch):
        as_payload(RunPayload(run_id=1), DeadlinePayload)


def test_a_stored_payload_with_a_misspelt_field_fails_loudly() -> None:
    assert parse_payload(OutboxKind.CHECKIN_PROMPT, {"run_id": 7}) == RunPayload(run_id=7)
    with pytest.raises(ValidationError):
        parse_payload(OutboxKind.CHECKIN_PROMPT, {"runid": 7})


def test_programme_settings_are_typed_with_defaults_and_refuse_typos() -> None:
    programme = Programme(settings={"digest": {"submissions": "immediate"}})
    from liaison.services.programmes.settings import settings_of

    settings = settings_of(programme)
    assert settings.digest.submissions is SubmissionNotices.IMMEDIATE
    assert settings.reminders.overdue_days == 3
    with pytest.raises(ValidationError):
        ProgrammeSettings.model_validate({"digest": {"submisions": "immediate"}})
