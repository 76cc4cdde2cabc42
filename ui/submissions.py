"""How submissions look: the assignment list, the draft preview, due lines, refusals."""

from __future__ import annotations

from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from liaison.services.people import Actor
from liaison.services.submissions.assignments import AssignmentView
from liaison.services.submissions.drafts import DraftView
from liaison.storage.enums import AssignmentKind, DraftStep
from liaison.ui.callbacks import SubmissionButton
from liaison.ui.i18n import N_, Translator
from liaison.ui.text import escape

# The command that submits each kind of assignment.
COMMAND_KINDS: dict[str, tuple[AssignmentKind, ...]] = {
    "report": (AssignmentKind.STAGE_REPORT,),
    "paper": (AssignmentKind.RESEARCH_PAPER,),
    "research": (AssignmentKind.PRE_DEPARTURE_RESEARCH,),
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
