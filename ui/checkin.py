"""How a check-in looks: the greeting, one question, the summary, in the reader's language."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from liaison.services.checkins.views import Question, RunView
from liaison.storage.enums import QuestionKind
from liaison.ui.callbacks import CheckinButton
from liaison.ui.i18n import N_, Translator
from liaison.ui.text import escape

# About half a minute a question: what "about N minutes" promises.
SECONDS_PER_QUESTION = 30
# Answers are stored whole; the summary shows the start of a long one.
SUMMARY_ANSWER_CHARS = 300


def start_keyboard(view: RunView, t: Translator, *, resume: bool = False) -> InlineKeyboardMarkup:
    label = t("Continue") if resume else t("Start")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=CheckinButton(view.run_id, 0, "g").encode())]]
    )


def greeting(view: RunView, t: Translator) -> str:
    count = len(view.questions)
    minutes = max(1, round(count * SECONDS_PER_QUESTION / 60))
    weekday = t.weekday_name(view.slot_at, view.timezone)
    lines = [
        t("Hello {name}!").format(name=escape(view.person_name)),
        t.plural(
            "This is your {weekday} check-in “{title}”: {count} question, about {minutes} min.",
            "This is your {weekday} check-in “{title}”: {count} questions, about {minutes} min.",
            count,
        ).format(
            weekday=weekday,
            title=escape(t.pick(view.survey_title_zh, view.survey_title_en)),
            count=count,
            minutes=minutes,
        ),
        t("Please answer by {when}.").format(when=t.full(view.closes_at, view.timezone)),
    ]
    return "\n".join(lines)


def answer_label(question: Question, value: str | None, t: Translator) -> str:
    """An answer as plain text: the option's label, Yes or No, or what was written."""
    if value is None:
        return ""
    if question.kind is QuestionKind.CHOICE:
        for option in question.options:
            if option["key"] == value:
                return t.pick(option["zh"], option.get("en"))
    if question.kind is QuestionKind.YES_NO:
        return t("Yes") if value == "yes" else t("No")
    return value


def answer_text(
    view: RunView, question: Question, t: Translator, *, limit: int | None = None
) -> str:
    """An answer as shown back; long texts are shortened before escaping (never mid-entity)."""
    stored = view.answers.get(question.key)
    if stored is None:
        return t("(no answer)")
    if stored.skipped:
        return t("(skipped)")
    if stored.has_file and not stored.value:
        return t("(voice message)")
    label = answer_label(question, stored.value, t)
    if limit is not None and len(label) > limit:
        label = label[:limit].rstrip() + "…"
    return escape(label)


HINTS = {
    QuestionKind.TEXT: N_("Reply with a text message (or a voice message)."),
    QuestionKind.VOICE_OR_TEXT: N_("Reply with a voice message or a text message."),
    QuestionKind.CHOICE: N_("Choose one of the buttons."),
    QuestionKind.SCALE: N_("Choose from 1 (very bad) to 5 (very good)."),
    QuestionKind.YES_NO: N_("Choose Yes or No."),
}


def question_message(view: RunView, t: Translator) -> tuple[str, InlineKeyboardMarkup | None]:
    question = view.question
    assert question is not None
    header = t("Question {number} of {count}").format(
        number=question.index + 1, count=len(view.questions)
    )
    lines = [f"<b>{escape(header)}</b>", escape(t.pick(question.text_zh, question.text_en))]
    lines.append(f"<i>{escape(t(HINTS[question.kind]))}</i>")
    previous = view.answers.get(question.key)
    if previous is not None and not previous.skipped:
        lines.append(t("Current answer: {answer}").format(answer=answer_text(view, question, t)))
    rows: list[list[InlineKeyboardButton]] = []

    def button(label: str, action: str, value: str = "") -> InlineKeyboardButton:
        data = CheckinButton(view.run_id, question.index, action, value).encode()
        return InlineKeyboardButton(label, callback_data=data)

    if question.kind is QuestionKind.SCALE:
        rows.append([button(str(n), "a", str(n)) for n in range(1, 6)])
    elif question.kind is QuestionKind.YES_NO:
        rows.append([button(t("Yes"), "a", "yes"), button(t("No"), "a", "no")])
    elif question.kind is QuestionKind.CHOICE:
        rows.extend(
            [button(t.pick(option["zh"], option.get("en")), "a", str(index))]
            for index, option in enumerate(question.options)
        )
    extra = []
    if question.index > 0 and not view.editing:
        extra.append(button(t("◀ Back"), "b"))
    if question.optional:
        extra.append(button(t("Skip"), "s"))
    if extra:
        rows.append(extra)
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


def summary_message(view: RunView, t: Translator) -> tuple[str, InlineKeyboardMarkup]:
    heading = t("Your answers")
    lines = [f"<b>{escape(heading)}</b>"]
    for question in view.questions:
        text = escape(t.pick(question.text_zh, question.text_en))
        shown = answer_text(view, question, t, limit=SUMMARY_ANSWER_CHARS)
        lines.append(f"{question.index + 1}. {text}\n   → {shown}")
    lines.append("")
    lines.append(t("Is everything right? Confirm to send your answers to the organizers."))
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t("✅ Confirm"),
                    callback_data=CheckinButton(view.run_id, len(view.questions), "c").encode(),
                ),
                InlineKeyboardButton(
                    t("✏️ Edit"),
                    callback_data=CheckinButton(view.run_id, len(view.questions), "m").encode(),
                ),
            ]
        ]
    )
    return "\n".join(lines), keyboard


def edit_menu(view: RunView, t: Translator) -> tuple[str, InlineKeyboardMarkup]:
    rows = [
        [
            InlineKeyboardButton(
                f"{q.index + 1}. {t.pick(q.text_zh, q.text_en)}"[:60],
                callback_data=CheckinButton(view.run_id, q.index, "e").encode(),
            )
        ]
        for q in view.questions
    ]
    return t("Which answer do you want to change?"), InlineKeyboardMarkup(rows)


def step_message(view: RunView, t: Translator) -> tuple[str, InlineKeyboardMarkup | None]:
    """The next thing to show: the current question, or the summary when all are answered."""
    if view.at_summary:
        return summary_message(view, t)
    return question_message(view, t)
