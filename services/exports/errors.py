"""Refusals of an export, one class per case."""

from __future__ import annotations

from liaison.services.errors import DomainError


class UnknownProgramme(DomainError):
    """No programme has this id."""

    code = "unknown_programme"


class UnknownExport(DomainError):
    """A button or command named an export that does not exist (stale or forged)."""

    code = "unknown_export"
