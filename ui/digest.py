"""The digest as text, in the reader's language and zone, one self-contained line at a time.

Every line opens and closes its own tags, so any splitter that cuts between lines keeps
the HTML valid however long the cohort. Names needing attention carry a /p_ID link that
opens their dossier.
"""

from __future__ import annotations

from liaison.services.cohort import local_day
from liaison.services.digest import Digest, EscalationItem, PersonItem, WorkGroup
from liaison.services.people import Actor
from liaison.ui.checkin import answer_text
from liaison.ui.i18n import Translator
from liaison.ui.selection_digest import render_selection_digest
from liaison.ui.text import escape

# A call note longer than this is cut in the digest; the dossier shows it whole.
NOTE_CHARS = 160


def person_link(person_id: int) -> str:
    """The tap-able command that opens a dossier (handlers/people.py)."""
    return f"/p_{person_id}"


def _name(name: str, person_id: int) -> str:
    return f"<b>{escape(name)}</b> {person_link(person_id)}"


def _note(notes: str | None, t: Translator) -> str:
    if not notes:
        return t("no call notes yet")
    last = notes.strip().splitlines()[-1]
    if len(last) > NOTE_CHARS:
        last = last[:NOTE_CHARS].rstrip() + "…"
    return t("call notes: {notes}").format(notes=escape(last))


def headline(digest: Digest, t: Translator) -> str:
    checkins = t("no check-in due")
    if digest.due:
        checkins = t("check-ins {answered}/{due} ({rate})").format(
            answered=digest.answered,
            due=digest.due,
            rate=f"{round(100 * digest.answered / digest.due)}%",
        )
    parts = [
        checkins,
        t("alerts {count}").format(count=len(digest.alerts)),
        t("escalations {count}").format(count=len(digest.escalations)),
        t("submissions {count}").format(count=digest.submissions),
    ]
    return f"📊 <b>{escape(t.day(digest.day))}</b> · " + " · ".join(parts)


def _escalation(item: EscalationItem, reader: Actor, t: Translator) -> str:
    due = t.with_other_zone(item.slot_at, reader.timezone, item.timezone)
    if item.answered_later:
        what = t("answered the check-in of {due} late, after the escalation").format(due=due)
    else:
        what = t("no answer to the check-in of {due}").format(due=due)
    link = "" if item.notes else f" (/note_{item.run_id})"
    return f"⚠️ {_name(item.name, item.person_id)} — {what}; {_note(item.notes, t)}{link}"


def _unreachable(item: PersonItem, reader: Actor, t: Translator) -> str:
    since = t.short_day(local_day(item.since, reader.timezone)) if item.since else "?"
    return f"📵 {_name(item.name, item.person_id)} — " + t(
        "unreachable through the bot since {since}; phone {phone}"
    ).format(since=since, phone=escape(item.phone))


def _silent(item: PersonItem, reader: Actor, t: Translator) -> str:
    count = t.plural("{count} check-in missed", "{count} check-ins missed", item.missed).format(
        count=item.missed
    )
    if item.since is None:
        what = t("has never answered a check-in ({missed})").format(missed=count)
    else:
        since = t.short_day(local_day(item.since, reader.timezone))
        what = t("silent since {since} ({missed})").format(since=since, missed=count)
    return f"🔇 {_name(item.name, item.person_id)} — {what}; " + t("phone {phone}").format(
        phone=escape(item.phone)
    )


def _group(group: WorkGroup, reader: Actor, t: Translator, *, upcoming: bool) -> str:
    title = escape(t.pick(group.title_zh, group.title_en))
    parts = [f"<b>{title}</b>"]
    if upcoming:
        when = t.with_other_zone(group.due_at, reader.timezone, group.timezone, full=True)
        parts.append(t("due {when}").format(when=when))
    parts.append(
        t("{submitted}/{expected} submitted").format(
            submitted=group.submitted, expected=group.expected
        )
    )
    parts.append(t("missing: {names}").format(names=escape("、".join(group.missing))))
    return "• " + " · ".join(parts)


def _heading(text: str) -> str:
    return f"<b>{escape(text)}</b>"


def render_digest(digest: Digest, reader: Actor, t: Translator) -> str:
    lines = [headline(digest, t)]
    if digest.quiet:
        lines.append(t("A quiet day: nothing due, nothing handed in, nothing needs attention."))
        return "\n".join(lines)
    if digest.needs_attention:
        lines += ["", _heading(t("Needs attention"))]
        for alert in digest.alerts:
            questions = {q.key: q for q in alert.view.questions}
            asked = [
                questions[i.question_key] for i in alert.triggered if i.question_key in questions
            ]
            answers = " · ".join(
                f"{escape(t.pick(q.text_zh, q.text_en))} → "
                f"{answer_text(alert.view, q, t, limit=80)}"
                for q in asked
            )
            lines.append(
                f"🚨 {_name(alert.name, alert.person_id)} — {answers}; {_note(alert.notes, t)}"
            )
        lines += [_escalation(item, reader, t) for item in digest.escalations]
        lines += [_unreachable(item, reader, t) for item in digest.unreachable]
        lines += [_silent(item, reader, t) for item in digest.silent]
    else:
        lines.append(t("Nobody needs attention."))
    if digest.submitted_by:
        lines += [
            "",
            "📥 "
            + t("Handed in: {names}").format(names=escape("、".join(digest.submitted_by)))
            + (
                " " + t("({count} late)").format(count=digest.late_submissions)
                if digest.late_submissions
                else ""
            ),
        ]
    if digest.upcoming:
        lines += ["", _heading(t("Due in the next 72 hours"))]
        lines += [_group(group, reader, t, upcoming=True) for group in digest.upcoming]
    if digest.overdue:
        lines += ["", _heading(t("Overdue"))]
        lines += [_group(group, reader, t, upcoming=False) for group in digest.overdue]
    if digest.selection is not None:
        lines += render_selection_digest(digest.selection, reader, t)
    if digest.mail_delayed:
        lines += ["", mail_delayed_text(digest.mail_delayed, t)]
    if digest.outbox_stuck is not None:
        minutes = int(digest.outbox_stuck.total_seconds() // 60)
        lines += [
            "",
            "⚠️ "
            + t(
                "Scheduled messages are not going out: the oldest has waited {minutes} min. "
                "Ask the operator to check `liaison status`."
            ).format(minutes=minutes),
        ]
    return "\n".join(lines)


def mail_delayed_text(count: int, t: Translator) -> str:
    return "✉️ " + t.plural(
        "E-mail is delayed: {count} message is waiting for the mail server.",
        "E-mail is delayed: {count} messages are waiting for the mail server.",
        count,
    ).format(count=count)
