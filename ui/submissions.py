"""How submissions look: the assignment list, the draft preview, due lines, refusals."""

from __future__ import annotations

from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from liaison.services import submissions as sub
from liaison.services.errors import DomainError
from liaison.services.people import Actor
from liaison.services.submissions import AssignmentView, DraftView
from liaison.storage.enums import DraftStep
from liaison.ui.callbacks import SubmissionButton
from liaison.ui.i18n import N_, Translator
from liaison.ui.text import escape

COMMAND_KINDS: dict[str, tuple[str, ...]] = {
    "report": ("stage_report",),
    "paper": ("research_paper",),
    "research": ("pre_departure_research",),
}


KIND_COMMAND = {kind: command for command, kinds in COMMAND_KINDS.items() for kind in kinds}


NONE_OPEN = {
    "report": N_("No stage report is open for you right now."),
    "paper": N_("No research paper is open for you right now."),
    "research": N_("No pre-departure research is open for you right now."),
}


CHOOSE = {
    "report": N_("Which stage report do you want to submit?"),
    "paper": N_("Which research paper do you want to submit?"),
    "research": N_("Which pre-departure research do you want to submit?"),
}


def due_line(assignment: AssignmentView, actor: Actor, t: Translator) -> str:
    when = t.with_other_zone(assignment.due_at, actor.timezone, actor.home_timezone, full=True)
    if actor.timezone == actor.home_timezone:
        when = t.with_other_zone(assignment.due_at, actor.timezone, assignment.timezone, full=True)
    text = t("due {when}").format(when=when)
    if assignment.extended:
        text += " " + t("(extended)")
    return text


def preview(draft: DraftView, actor: Actor, t: Translator, now: datetime) -> str:
    title = escape(t.pick(draft.assignment.title_zh, draft.assignment.title_en))
    files = t.plural("{count} file", "{count} files", len(draft.files)).format(
        count=len(draft.files)
    )
    characters = t.plural("{count} character", "{count} characters", len(draft.text)).format(
        count=t.number(len(draft.text))
    )
    lines = [f"📝 <b>{title}</b>"]
    if draft.title:
        lines.append(t("Title: {title}").format(title=escape(draft.title)))
    lines.append(t("Draft: {files}, {characters}.").format(files=files, characters=characters))
    for item in draft.files:
        lines.append(f"  • {escape(item.name)} ({t.size(item.size)})")
    delta = draft.assignment.due_at - now
    if delta.total_seconds() >= 0:
        lines.append(t("Due {relative}.").format(relative=t.relative(delta)))
    else:
        lines.append(
            t("Overdue since {relative}; it will be marked late.").format(
                relative=t.relative(delta)
            )
        )
    return "\n".join(lines)


def preview_keyboard(draft: DraftView, t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t("✅ Submit"), callback_data=SubmissionButton("s", draft.id).encode()
                ),
                InlineKeyboardButton(
                    t("➕ Add more"), callback_data=SubmissionButton("m", draft.id).encode()
                ),
                InlineKeyboardButton(
                    t("✖ Cancel"), callback_data=SubmissionButton("c", draft.id).encode()
                ),
            ]
        ]
    )


def step_prompt(draft: DraftView, t: Translator) -> str | None:
    if draft.step is DraftStep.TITLE:
        return t("Please send the title of your paper.")
    if draft.step is DraftStep.ABSTRACT:
        return t("Now send a short abstract (a few sentences).")
    return None


def collect_prompt(t: Translator) -> str:
    return t(
        "Send your work: text, documents, photos or voice messages, as many as you need. "
        "Then tap Submit. /cancel stops at any time."
    )


def error_text(error: DomainError, t: Translator) -> str:
    if isinstance(error, sub.DraftElsewhere):
        return t(
            "You have an unfinished draft for {title}. Submit it, or send /cancel to drop it, "
            "before starting another."
        ).format(title=escape(t.pick(error.title_zh, error.title_en)))
    if isinstance(error, sub.AssignmentClosed):
        return t("This assignment is closed; nothing more can be submitted to it.")
    if isinstance(error, sub.NotYourAssignment):
        return t("This button is no longer valid.")
    if isinstance(error, sub.NoDraft):
        return t("This draft has already been submitted or cancelled.")
    if isinstance(error, sub.EmptyDraft):
        return t("The draft is empty. Send text or files first.")
    if isinstance(error, sub.DuplicateFile):
        return t("This file is already in your draft.")
    if isinstance(error, sub.FileRefused):
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
    return t("Sorry, that did not work.")


def too_large_text(t: Translator) -> str:
    return t(
        "This file is larger than 20 MB, the most a bot can download from Telegram. Please "
        "send a smaller file: export the document as PDF, compress the images, or split it "
        "into parts."
    )
