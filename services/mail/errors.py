"""Refusals of an e-mail request, one class per case."""

from __future__ import annotations

from liaison.services.errors import DomainError


class NoEmailAddress(DomainError):
    """The person has no e-mail address on the roster."""

    code = "no_email_address"


class MailDisabled(DomainError):
    """This installation has no SMTP server configured."""

    code = "mail_disabled"
