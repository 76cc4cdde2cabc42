"""One map from domain error to message, in the reader's language.

Services raise a class per case (services/errors.py and each concept's errors); every
handler answers a refusal with ``error_text``. A new error class gets its line here.
"""

from __future__ import annotations

from collections.abc import Callable

from liaison.services.broadcasts.errors import (
    EmptyAudience,
    EmptyBroadcast,
    NoSuchBroadcast,
    NotARecipient,
    UnknownNames,
)
from liaison.services.checkins.answers import InvalidAnswer
from liaison.services.checkins.conversation import (
    NoOpenRun,
    NotYourRun,
    RunClosed,
    StaleQuestion,
)
from liaison.services.errors import (
    AccessEnded,
    AlreadyEnrolled,
    AmbiguousName,
    CodeAttemptsLocked,
    CodeExpired,
    CodeInvalid,
    CodeUsed,
    ContactNotOwn,
    DateProblem,
    DomainError,
    InvalidDate,
    NotAllowed,
    PersonNotFound,
    PhoneNotOnRoster,
    StaffOnly,
    UnknownLocale,
    UnknownTimezone,
)
from liaison.services.exports.errors import UnknownExport, UnknownProgramme
from liaison.services.files.quota import Cap, QuotaReached
from liaison.services.mail.errors import MailDisabled, NoEmailAddress
from liaison.services.reviews.errors import (
    NoSuchSubmission,
    ReviewDecided,
    ReviewTaken,
    RevisionDueInPast,
    RubricIncomplete,
)
from liaison.services.reviews.errors import (
    ScoreOutOfRange as RubricScoreOutOfRange,
)
from liaison.services.selection.errors import (
    NotACandidate,
    NothingToConfirm,
    NotInTheWalk,
    ScoreOutOfRange,
    UnknownLevel,
    UnknownTest,
)
from liaison.services.submissions.errors import (
    AssignmentClosed,
    DraftElsewhere,
    DuplicateFile,
    EmptyDraft,
    FileRefused,
    NoDraft,
    NotYourAssignment,
    UnknownAssignment,
)
from liaison.ui.i18n import Translator
from liaison.ui.text import escape

Render = Callable[[DomainError, Translator], str]


def access_ended_text(t: Translator) -> str:
    return t(
        "Your access to this programme has ended, so this bot can no longer help you. If you "
        "think this is a mistake, please contact the organizers."
    )


def too_large_text(t: Translator) -> str:
    return t(
        "This file is larger than 20 MB, the most a bot can download from Telegram. Please "
        "send a smaller file: export the document as PDF, compress the images, or split it "
        "into parts."
    )


def _run_closed(error: DomainError, t: Translator) -> str:
    if str(error) == "completed":
        return t("This check-in is already confirmed. Thank you!")
    return t(
        "This check-in has closed, so late answers cannot be accepted. If something is "
        "wrong, please contact the organizers."
    )


def _invalid_answer(error: DomainError, t: Translator) -> str:
    return {
        "empty": t("Please send your answer as text or as a voice message."),
        "use_buttons": t("Please choose one of the buttons below the question."),
        "scale": t("Please answer with a number from 1 to 5, or use the buttons."),
        "yes_no": t("Please answer Yes or No, or use the buttons."),
        "not_optional": t("This question cannot be skipped."),
    }.get(error.code, t("Please use the buttons below the question."))


def _file_refused(error: DomainError, t: Translator) -> str:
    assert isinstance(error, FileRefused)
    formats = ", ".join(error.accepted)
    if error.reason == "empty":
        return t("This file is empty. Please send it again.")
    if error.reason == "too_large":
        return too_large_text(t)
    if error.reason == "content_mismatch":
        return t(
            "This file's content does not match its name, so it was not accepted. "
            "Accepted formats: {formats}."
        ).format(formats=formats)
    return t("This file type is not accepted here. Accepted formats: {formats}.").format(
        formats=formats
    )


def _invalid_date(error: DomainError, t: Translator) -> str:
    assert isinstance(error, InvalidDate)
    text, other = escape(error.text), escape(error.other or "")
    return {
        DateProblem.NO_SUCH_DAY: t("{text} is not a real date: that month has no such day."),
        DateProblem.OUT_OF_RANGE: t("{text} is too far in the past or the future."),
        DateProblem.NO_SUCH_TIME: t(
            "I could not read {text} as a time of day. Please write it as HH:MM, e.g. 18:00."
        ),
        DateProblem.SKIPPED_BY_DST: t(
            "{text} does not exist in that time zone: the clocks jump forward over it. "
            "Please choose another time."
        ),
        DateProblem.END_BEFORE_START: t(
            "The last day ({text}) comes before the first day ({other})."
        ),
    }.get(
        error.problem,
        t("I could not read {text} as a date. Please write it as YYYY-MM-DD, e.g. 2026-11-05."),
    ).format(text=text, other=other)


def _code_attempts_locked(error: DomainError, t: Translator) -> str:
    assert isinstance(error, CodeAttemptsLocked)
    return t.plural(
        "Too many wrong codes were sent from this account, so for your security no code is "
        "accepted from it for the next {minutes} minute. Please check the code with the "
        "organizers, or send /start and share your phone number instead.",
        "Too many wrong codes were sent from this account, so for your security no code is "
        "accepted from it for the next {minutes} minutes. Please check the code with the "
        "organizers, or send /start and share your phone number instead.",
        error.minutes,
    ).format(minutes=error.minutes)


def _quota_reached(error: DomainError, t: Translator) -> str:
    assert isinstance(error, QuotaReached)
    if error.cap is Cap.DRAFT_FILES:
        return t(
            "This draft already holds {count} files, the most one submission can take. "
            "Submit it, or send /cancel and start again."
        ).format(count=error.limit)
    if error.cap is Cap.DRAFT_BYTES:
        return t(
            "This file would take the draft over {size}, the most one submission can take. "
            "Submit it as it is, or send smaller files (e.g. PDFs or compressed photos)."
        ).format(size=t.size(error.limit))
    if error.cap is Cap.DAY_FILES:
        return t(
            "You have sent {count} files in the last 24 hours, the most the bot accepts from "
            "one person. Please send the rest later, or contact the organizers."
        ).format(count=error.limit)
    return t(
        "You have sent {size} of files in the last 24 hours, the most the bot accepts from "
        "one person. Please send the rest later, or contact the organizers."
    ).format(size=t.size(error.limit))


def _draft_elsewhere(error: DomainError, t: Translator) -> str:
    assert isinstance(error, DraftElsewhere)
    return t(
        "You have an unfinished draft for {title}. Submit it, or send /cancel to drop it, "
        "before starting another."
    ).format(title=escape(t.pick(error.title_zh, error.title_en)))


def _unknown_assignment(error: DomainError, t: Translator) -> str:
    assert isinstance(error, UnknownAssignment)
    return t("There is no assignment {key}. The assignments are: {keys}.").format(
        key=escape(error.key), keys=escape(", ".join(error.keys))
    )


def _unknown_test(error: DomainError, t: Translator) -> str:
    assert isinstance(error, UnknownTest)
    if not error.keys:
        return t("This programme declares no tests (the programme file's selection.tests).")
    return t("There is no test {key}. The tests are: {keys}.").format(
        key=escape(error.key), keys=escape(", ".join(error.keys))
    )


def _score_out_of_range(error: DomainError, t: Translator) -> str:
    assert isinstance(error, ScoreOutOfRange)
    return t("{value} is not a result of {test}: it takes a number from {low} to {high}.").format(
        value=escape(error.value),
        test=escape(t.pick(error.title_zh, error.title_en)),
        low=t.number(error.low),
        high=t.number(error.high),
    )


def _unknown_level(error: DomainError, t: Translator) -> str:
    assert isinstance(error, UnknownLevel)
    return t("{value} is not a level of {test}. Its levels are: {levels}.").format(
        value=escape(error.value),
        test=escape(t.pick(error.title_zh, error.title_en)),
        levels=escape(", ".join(t.pick(zh, en) for zh, en in error.levels)),
    )


def _not_a_candidate(error: DomainError, t: Translator) -> str:
    assert isinstance(error, NotACandidate)
    return t(
        "{name} is not a candidate in the selection, so nothing was recorded or changed."
    ).format(name=escape(error.name))


_TEXTS: dict[type[DomainError], Render] = {
    # Enrolment
    ContactNotOwn: lambda e, t: t(
        "That is someone else's contact. Please use the button below to share your own "
        "phone number."
    ),
    PhoneNotOnRoster: lambda e, t: t(
        "Sorry, this phone number is not on the programme's roster. If you are a "
        "participant, ask the organizers for a one-time code and send /start CODE."
    ),
    CodeUsed: lambda e, t: t(
        "This code has already been used. Please ask the organizers for a new one."
    ),
    CodeExpired: lambda e, t: t("This code has expired. Please ask the organizers for a new one."),
    AlreadyEnrolled: lambda e, t: t(
        "This roster entry is already linked to another Telegram account. If that is a "
        "mistake, please contact the organizers."
    ),
    CodeInvalid: lambda e, t: t(
        "This code is not valid. Please check it and try again, or ask the organizers."
    ),
    CodeAttemptsLocked: _code_attempts_locked,
    # People and preferences
    AccessEnded: lambda e, t: access_ended_text(t),
    NotAllowed: lambda e, t: t("Only organizers can do this."),
    StaffOnly: lambda e, t: t("Only organizers and observers can see this."),
    AmbiguousName: lambda e, t: t("Several people match {name}; use the full name.").format(
        name=escape(str(e))
    ),
    PersonNotFound: lambda e, t: t("Nobody called {name} is on the roster.").format(
        name=escape(str(e))
    ),
    UnknownTimezone: lambda e, t: t(
        "{zone} is not a time zone I know. Use a name from the tz database, "
        "such as America/New_York or Asia/Shanghai."
    ).format(zone=escape(str(e))),
    UnknownLocale: lambda e, t: t("This button is no longer valid."),
    InvalidDate: _invalid_date,
    # Check-ins
    NoOpenRun: lambda e, t: t(
        "No check-in is open for you right now. The next one will come at its scheduled time."
    ),
    RunClosed: _run_closed,
    StaleQuestion: lambda e, t: t("This question has already been answered."),
    InvalidAnswer: _invalid_answer,
    NotYourRun: lambda e, t: t("This button is no longer valid."),
    # Submissions
    DraftElsewhere: _draft_elsewhere,
    AssignmentClosed: lambda e, t: t(
        "This assignment is closed; nothing more can be submitted to it."
    ),
    NotYourAssignment: lambda e, t: t("This button is no longer valid."),
    UnknownAssignment: _unknown_assignment,
    NoDraft: lambda e, t: t("This draft has already been submitted or cancelled."),
    EmptyDraft: lambda e, t: t("The draft is empty. Send text or files first."),
    DuplicateFile: lambda e, t: t("This file is already in your draft."),
    FileRefused: _file_refused,
    # Selection
    UnknownTest: _unknown_test,
    ScoreOutOfRange: _score_out_of_range,
    UnknownLevel: _unknown_level,
    NotACandidate: _not_a_candidate,
    NotInTheWalk: lambda e, t: t("This button is no longer valid."),
    NothingToConfirm: lambda e, t: t(
        "There is nothing to confirm: the selection on record is already as marked."
    ),
    # Exports
    UnknownProgramme: lambda e, t: t("There is no programme {id}.").format(id=escape(str(e))),
    UnknownExport: lambda e, t: t("This button is no longer valid."),
    # E-mail
    NoEmailAddress: lambda e, t: t(
        "You have no e-mail address on the roster. Ask for it to be added, then try again."
    ),
    MailDisabled: lambda e, t: t("Sending by e-mail is not set up on this installation."),
    # Reviews
    NoSuchSubmission: lambda e, t: t("This button is no longer valid."),
    ReviewTaken: lambda e, t: t(
        "{name} is reviewing this submission right now; choose another one."
    ).format(name=escape(str(e))),
    ReviewDecided: lambda e, t: t(
        "This submission has already been reviewed, or a newer version has come in."
    ),
    RubricScoreOutOfRange: lambda e, t: t("That score is not on this criterion's scale."),
    RubricIncomplete: lambda e, t: t("Score every criterion before accepting."),
    RevisionDueInPast: lambda e, t: t("The new due time must be in the future."),
    # Broadcasts
    NoSuchBroadcast: lambda e, t: t("This broadcast was already sent or cancelled."),
    EmptyAudience: lambda e, t: t(
        "Nobody is in this audience, so nothing can be sent. Choose another audience."
    ),
    EmptyBroadcast: lambda e, t: t("The notice is empty. Send its text or a file first."),
    NotARecipient: lambda e, t: t("This button is no longer valid."),
    UnknownNames: lambda e, t: t(
        "These names fit nobody or several people: {names}. Send the names again."
    ).format(names=escape(str(e))),
    QuotaReached: _quota_reached,
}


def error_text(error: DomainError, t: Translator) -> str:
    """The reader's message for a refused use case; the most specific class wins."""
    for cls in type(error).__mro__:
        render = _TEXTS.get(cls)
        if render is not None:
            return render(error, t)
    return t("Sorry, that did not work.")
