"""How reviewing looks: the queue, the submission, the scoring card, and the cadre's notice."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from liaison.services.people import Actor
from liaison.services.reviews.queue import ReviewQueue
from liaison.services.reviews.review import ReviewView
from liaison.storage.enums import ReviewDecision
from liaison.ui.callbacks import ReviewButton
from liaison.ui.i18n import Translator
from liaison.ui.labels import score_text
from liaison.ui.text import escape

QUEUE_BUTTONS = 10
DUE_CHOICES = (3, 7, 14)


def queue_message(
    queue: ReviewQueue, actor: Actor, t: Translator
) -> tuple[str, InlineKeyboardMarkup | None]:
    if queue.only is not None:
        heading = t("Awaiting review for {title}: {count}").format(
            title=t.pick(queue.only.title_zh, queue.only.title_en), count=len(queue.items)
        )
    else:
        heading = t("Awaiting review, oldest first: {count}").format(count=len(queue.items))
    lines = [f"<b>{escape(heading)}</b>"]
    if not queue.items:
        lines.append(t("Nothing is waiting for review."))
    rows = []
    for number, item in enumerate(queue.items, start=1):
        title = escape(t.pick(item.title_zh, item.title_en))
        parts = [
            f"{number}. <b>{escape(item.person_name)}</b>",
            f"{title} v{item.version}",
            t.full(item.submitted_at, actor.timezone),
        ]
        if item.late:
            parts.append(t("late"))
        if item.holder:
            parts.append(t("being reviewed by {name}").format(name=escape(item.holder)))
        lines.append(" · ".join(parts))
        if number <= QUEUE_BUTTONS:
            label = f"{number}. {item.person_name} · {t.pick(item.title_zh, item.title_en)}"
            rows.append(
                [
                    InlineKeyboardButton(
                        label[:60], callback_data=ReviewButton("o", item.submission_id).encode()
                    )
                ]
            )
    if len(queue.items) > QUEUE_BUTTONS:
        lines.append(t("Review these first; the rest follow in the next /review."))
    if queue.only is None and len(queue.assignments) > 1:
        rows.append(
            [
                InlineKeyboardButton(
                    f"{t.pick(a.title_zh, a.title_en)} ({a.count})"[:40],
                    callback_data=ReviewButton("f", a.id).encode(),
                )
                for a in queue.assignments
            ]
        )
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


def submission_text(view: ReviewView, actor: Actor, t: Translator) -> str:
    """The submission itself: who, what, when, and its text (split by the reply helper)."""
    title = escape(t.pick(view.title_zh, view.title_en))
    head = t("{name} · {title}, version {version}").format(
        name=escape(view.person_name), title=title, version=view.version
    )
    lines = [f"📄 <b>{head}</b>"]
    submitted = t("Submitted {when}").format(
        when=t.with_other_zone(
            view.submitted_at, actor.timezone, view.assignment_timezone, full=True
        )
    )
    if view.late:
        submitted += " · " + t("late")
    lines.append(submitted)
    if view.paper_title:
        lines.append(t("Title: {title}").format(title=escape(view.paper_title)))
    if view.abstract:
        lines.append(t("Abstract: {text}").format(text=escape(view.abstract)))
    if view.files:
        lines.append(
            t.plural("{count} file follows.", "{count} files follow.", len(view.files)).format(
                count=len(view.files)
            )
        )
    if view.text:
        lines += ["", escape(view.text)]
    return "\n".join(lines)


def card(
    view: ReviewView, t: Translator, *, criterion: int | None = None, asking_due: bool = False
) -> tuple[str, InlineKeyboardMarkup]:
    """The scoring card: points so far, buttons for one criterion, then the decision."""
    sid = view.submission_id
    heading = t("Review")
    lines = [f"🖊 <b>{escape(heading)}</b> · {escape(view.person_name)} v{view.version}"]
    for index, criterion_def in enumerate(view.criteria):
        points = view.scores.get(criterion_def.key)
        shown = f"{points}/{criterion_def.scale}" if points is not None else "–"
        lines.append(
            t("{number}. {name} (weight {weight}): {points}").format(
                number=index + 1,
                name=escape(t.pick(criterion_def.title_zh, criterion_def.title_en)),
                weight=t.number(criterion_def.weight),
                points=shown,
            )
        )
    if not view.criteria:
        lines.append(t("This assignment has no rubric: feedback and a decision are enough."))
    elif view.score is not None:
        lines.append(t("Score: {score}").format(score=score_text(view.score, t)))
    if view.feedback:
        lines.append(t("Feedback: {text}").format(text=escape(view.feedback)))
    if view.has_voice_feedback:
        lines.append(t("Voice feedback recorded."))
    rows: list[list[InlineKeyboardButton]] = []
    if asking_due:
        lines.append(
            t(
                "Request a revision by when? Choose below, or send a date as YYYY-MM-DD [HH:MM] "
                "({zone} time)."
            ).format(zone=t.city(view.assignment_timezone))
        )
        rows.append(
            [
                InlineKeyboardButton(
                    t("+{days} days").format(days=days),
                    callback_data=ReviewButton("d", sid, days).encode(),
                )
                for days in DUE_CHOICES
            ]
        )
    else:
        lines.append(t("Send feedback now as a text or voice message (it replaces earlier)."))
        current = criterion if criterion is not None else view.next_criterion
        if current is not None and 0 <= current < len(view.criteria):
            chosen = view.criteria[current]
            lines.append(
                t("Points for {name}:").format(
                    name=escape(t.pick(chosen.title_zh, chosen.title_en))
                )
            )
            buttons = [
                InlineKeyboardButton(
                    str(value), callback_data=ReviewButton("s", sid, current, value).encode()
                )
                for value in range(1, chosen.scale + 1)
            ]
            rows += [buttons[i : i + 5] for i in range(0, len(buttons), 5)]
        if len(view.criteria) > 1:
            rows.append(
                [
                    InlineKeyboardButton(
                        f"✎ {index + 1}", callback_data=ReviewButton("k", sid, index).encode()
                    )
                    for index in range(len(view.criteria))
                ]
            )
        rows.append(
            [
                InlineKeyboardButton(t("✅ Accept"), callback_data=ReviewButton("a", sid).encode()),
                InlineKeyboardButton(
                    t("↩ Request revision"), callback_data=ReviewButton("r", sid).encode()
                ),
            ]
        )
    rows.append(
        [InlineKeyboardButton(t("Leave for later"), callback_data=ReviewButton("x", sid).encode())]
    )
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def decided_text(view: ReviewView, actor: Actor, t: Translator) -> str:
    name = escape(view.person_name)
    if view.decision is ReviewDecision.ACCEPTED:
        text = t("Accepted: {name}, version {version}.").format(name=name, version=view.version)
        if view.score is not None:
            text += " " + t("Score: {score}").format(score=score_text(view.score, t))
    else:
        assert view.revision_due_at is not None
        text = t("Revision requested from {name}, due {when}.").format(
            name=name,
            when=t.with_other_zone(
                view.revision_due_at, actor.timezone, view.assignment_timezone, full=True
            ),
        )
    return "✅ " + text + " " + t("They have been told.")


def outcome_text(view: ReviewView, reader: Actor, t: Translator, command: str) -> str:
    """The cadre's notice, in their language and zone."""
    title = escape(t.pick(view.title_zh, view.title_en))
    if view.decision is ReviewDecision.ACCEPTED:
        lines = [
            "✅ "
            + t("Your {title} (version {version}) has been reviewed and accepted.").format(
                title=title, version=view.version
            )
        ]
    else:
        assert view.revision_due_at is not None
        lines = [
            "↩ "
            + t(
                "Your {title} (version {version}) needs a revision. Please send a new version "
                "with {command} by {when}."
            ).format(
                title=title,
                version=view.version,
                command=command,
                when=t.with_other_zone(
                    view.revision_due_at, reader.timezone, reader.home_timezone, full=True
                ),
            )
        ]
    for criterion in view.criteria:
        if criterion.key in view.scores:
            lines.append(
                f"• {escape(t.pick(criterion.title_zh, criterion.title_en))}: "
                f"{view.scores[criterion.key]}/{criterion.scale}"
            )
    if view.score is not None:
        lines.append(t("Score: {score}").format(score=score_text(view.score, t)))
    if view.feedback:
        lines.append(t("Feedback: {text}").format(text=escape(view.feedback)))
    if view.has_voice_feedback:
        lines.append(t("The organizers' voice feedback is above."))
    return "\n".join(lines)
