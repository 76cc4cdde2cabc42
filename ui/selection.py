"""Screens of the selection: results, the ranking, the walk's cards and summary, and what
each candidate is told."""

from __future__ import annotations

from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from liaison.services.selection.decisions import Card, Confirmed, Summary
from liaison.services.selection.outcome import OutcomeView
from liaison.services.selection.ranking import Candidate, Ranking
from liaison.services.selection.results import Recorded, ResultView
from liaison.storage.enums import PersonStatus, ResultSource
from liaison.ui.callbacks import SelectionButton
from liaison.ui.i18n import N_, Translator
from liaison.ui.text import escape

STATUS_LABELS = {
    PersonStatus.CANDIDATE: N_("Candidate"),
    PersonStatus.SHORTLISTED: N_("Shortlisted"),
    PersonStatus.SELECTED: N_("Selected"),
    PersonStatus.NOT_SELECTED: N_("Not selected"),
    PersonStatus.ACTIVE: N_("In the programme"),
    PersonStatus.WITHDRAWN: N_("Withdrawn"),
    PersonStatus.RETURNED: N_("Returned"),
}


def status_label(status: PersonStatus, t: Translator) -> str:
    return t(STATUS_LABELS[status])


def result_text(result: ResultView, t: Translator) -> str:
    """ "English test (batch 1) 86.5", "BFT Advanced"."""
    return t("{test} {value}").format(
        test=escape(t.pick(result.title_zh, result.title_en)),
        value=escape(t.pick(result.shown_zh, result.shown_en)),
    )


def results_line(results: list[ResultView], t: Translator) -> str:
    if not results:
        return t("no results yet")
    return " · ".join(result_text(result, t) for result in results)


def render_results(results: list[ResultView], reader_zone: str, t: Translator) -> list[str]:
    """One line per result with who entered it and when: for a person's dossier."""
    if not results:
        return [t("No test results recorded.")]
    lines = []
    for result in results:
        by = (
            escape(result.entered_by)
            if result.entered_by
            else t("roster import")
            if result.source is ResultSource.ROSTER
            else "?"
        )
        lines.append(
            "• "
            + t("{result} (entered by {by}, {when})").format(
                result=result_text(result, t), by=by, when=t.full(result.entered_at, reader_zone)
            )
        )
    return lines


def render_recorded(recorded: Recorded, t: Translator) -> str:
    result = recorded.result
    values = {
        "name": escape(recorded.person_name),
        "test": escape(t.pick(result.title_zh, result.title_en)),
        "value": escape(t.pick(result.shown_zh, result.shown_en)),
    }
    if not recorded.changed:
        return t("{name} already has {value} in {test}; nothing changed.").format(**values)
    if recorded.previous is not None:
        return "✅ " + t("Recorded for {name}: {test} {value} (was {previous}).").format(
            previous=escape(t.pick(*recorded.previous)), **values
        )
    return "✅ " + t("Recorded for {name}: {test} {value}.").format(**values)


def _tally(ranking: Ranking, t: Translator) -> str:
    counts = {
        "selected": ranking.selected,
        "not_selected": ranking.not_selected,
        "left": ranking.undecided,
    }
    if ranking.places is None:
        return t(
            "Selected {selected}, not selected {not_selected}, still to decide {left}."
        ).format(**counts)
    return t(
        "Selected {selected} of {places} places, not selected {not_selected}, still to decide "
        "{left}."
    ).format(places=ranking.places, **counts)


def candidate_line(position: int, candidate: Candidate, t: Translator) -> str:
    unit = f" ({escape(candidate.unit)})" if candidate.unit else ""
    return f"{position}. <b>{escape(candidate.name)}</b>{unit} — " + t(
        "{results} — {status}"
    ).format(results=results_line(candidate.results, t), status=status_label(candidate.status, t))


def render_ranking(ranking: Ranking, t: Translator) -> str:
    if ranking.test is not None:
        title = t("Candidates ranked by {test}").format(
            test=t.pick(ranking.test.title_zh, ranking.test.title_en)
        )
    else:
        title = t("Candidates, best first")
    lines = [f"🎓 <b>{escape(title)}</b>", _tally(ranking, t), ""]
    if not ranking.candidates:
        lines.append(t("There are no candidates on the roster."))
        return "\n".join(lines)
    lines += [candidate_line(i, c, t) for i, c in enumerate(ranking.candidates, start=1)]
    if ranking.tests:
        lines.append("")
        lines.append(
            t("Sort by one test: {commands}").format(
                commands=", ".join(f"/candidates {test.key}" for test in ranking.tests)
            )
        )
    return "\n".join(lines)


def _decision_text(decision: PersonStatus | None, pending: bool, t: Translator) -> str:
    if decision is None:
        return t("not decided yet")
    label = status_label(decision, t)
    return t("{decision} (to confirm)").format(decision=label) if pending else label


def render_card(card: Card, t: Translator) -> tuple[str, InlineKeyboardMarkup]:
    candidate = card.candidate
    about = " ".join(escape(part) for part in (candidate.unit, candidate.position) if part)
    lines = [
        "🗳 <b>"
        + t("Selection {position} of {total}").format(position=card.position, total=card.total)
        + "</b>",
        f"<b>{escape(candidate.name)}</b>" + (f" · {about}" if about else ""),
    ]
    lines += [f"• {result_text(result, t)}" for result in candidate.results] or [
        "• " + t("no results yet")
    ]
    lines.append(t("Status: {status}").format(status=status_label(candidate.status, t)))
    lines.append(
        t("Decision: {decision}").format(decision=_decision_text(card.decision, card.pending, t))
    )
    if card.places is not None:
        lines.append(
            t("Selected so far: {count} of {places} places").format(
                count=card.selected, places=card.places
            )
        )
    else:
        lines.append(t("Selected so far: {count}").format(count=card.selected))
    pid = candidate.person_id
    moves = []
    if card.previous_id is not None:
        moves.append(
            InlineKeyboardButton(
                t("◀ Previous"), callback_data=SelectionButton("v", card.previous_id).encode()
            )
        )
    moves.append(InlineKeyboardButton(t("Summary"), callback_data=SelectionButton("s").encode()))
    if card.next_id is not None:
        moves.append(
            InlineKeyboardButton(
                t("Next ▶"), callback_data=SelectionButton("v", card.next_id).encode()
            )
        )
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    "✅ " + t("Select"), callback_data=SelectionButton("y", pid).encode()
                ),
                InlineKeyboardButton(
                    "✖ " + t("Not select"), callback_data=SelectionButton("n", pid).encode()
                ),
            ],
            moves,
        ]
    )
    return "\n".join(lines), keyboard


def _names(candidates: list[Candidate]) -> str:
    return escape("、".join(c.name for c in candidates))


def render_summary(summary: Summary, t: Translator) -> tuple[str, InlineKeyboardMarkup]:
    lines = ["🗳 <b>" + t("Selection summary") + "</b>"]
    if summary.places is not None:
        lines.append(
            t("Selected: {count} (places: {places})").format(
                count=len(summary.selected), places=summary.places
            )
        )
    else:
        lines.append(t("Selected: {count}").format(count=len(summary.selected)))
    if summary.selected:
        lines.append("   " + _names(summary.selected))
    lines.append(t("Not selected: {count}").format(count=len(summary.not_selected)))
    if summary.not_selected:
        lines.append("   " + _names(summary.not_selected))
    if summary.undecided:
        lines.append(
            t("Not decided yet: {count} (they stay as they are)").format(
                count=len(summary.undecided)
            )
        )
        lines.append("   " + _names(summary.undecided))
    if summary.holding:
        lines.append(
            t("Already in the programme: {count}, counted against the places.").format(
                count=summary.holding
            )
        )
    lines.append("")
    if summary.over_places:
        assert summary.places is not None
        lines.append(
            "⚠️ "
            + t(
                "{count} selected, more than the programme's {places} places. You can still "
                "confirm."
            ).format(count=len(summary.selected) + summary.holding, places=summary.places)
        )
    rows = []
    if summary.changes:
        lines.append(
            t(
                "Changes to confirm: {count}. On Confirm the statuses change and each person "
                "concerned is told in their own language."
            ).format(count=summary.changes)
        )
        label = t("Confirm anyway") if summary.over_places else t("Confirm")
        rows.append(
            [InlineKeyboardButton("✅ " + label, callback_data=SelectionButton("c").encode())]
        )
    else:
        lines.append(t("Nothing to confirm: these are the decisions on record."))
    back = [
        # Person 0 is nobody: the walk opens at its first card.
        InlineKeyboardButton(
            t("◀ Back to the candidates"), callback_data=SelectionButton("v").encode()
        ),
        InlineKeyboardButton(t("Cancel"), callback_data=SelectionButton("x").encode()),
    ]
    rows.append(back)
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def render_confirmed(confirmed: Confirmed, when: datetime, zone_name: str, t: Translator) -> str:
    lines = [
        "✅ <b>" + t("Selection confirmed, {when}.").format(when=t.full(when, zone_name)) + "</b>"
    ]
    if confirmed.selected:
        lines.append(
            t("Selected ({count}): {names}").format(
                count=len(confirmed.selected), names=escape("、".join(confirmed.selected))
            )
        )
    if confirmed.not_selected:
        lines.append(
            t("Not selected ({count}): {names}").format(
                count=len(confirmed.not_selected), names=escape("、".join(confirmed.not_selected))
            )
        )
    told = len(confirmed.selected) + len(confirmed.not_selected) - len(confirmed.not_told)
    lines.append(t("{count} of them are being told in their own language.").format(count=told))
    if confirmed.not_told:
        lines.append(
            "⚠️ "
            + t("Not reachable through the bot; please tell them yourself: {names}").format(
                names=escape("、".join(confirmed.not_told))
            )
        )
    if confirmed.places is not None:
        lines.append(
            t("In the cohort now: {count} of {places} places.").format(
                count=confirmed.selected_total, places=confirmed.places
            )
        )
    else:
        lines.append(t("In the cohort now: {count}.").format(count=confirmed.selected_total))
    return "\n".join(lines)


def render_outcome(view: OutcomeView, t: Translator) -> str:
    """The candidate's own message: a welcome, or a kind and final word of thanks."""
    programme = escape(t.pick(view.programme_zh, view.programme_en))
    name = escape(view.name)
    if view.status is PersonStatus.SELECTED:
        lines = [
            "🎉 "
            + t(
                "Dear {name}, congratulations: you have been selected for {programme}. "
                "Welcome to the cohort!"
            ).format(name=name, programme=programme)
        ]
        if view.next_phase is not None:
            lines.append(
                t("What comes next: {phase} begins on {day}.").format(
                    phase=escape(t.pick(view.next_phase.title_zh, view.next_phase.title_en)),
                    day=t.long_date(view.next_phase.starts_on),
                )
            )
        lines.append(
            t(
                "Send /schedule to see your sessions; the organizers will be in touch with the "
                "details."
            )
        )
        return "\n".join(lines)
    return t(
        "Dear {name}, thank you for taking part in the selection for {programme}: for the "
        "tests and for the months of English study. After careful consideration of all "
        "candidates, you were not among those selected this time, and this decision is "
        "final for this programme. We are grateful for your effort and commitment, and wish "
        "you every success in your work."
    ).format(name=name, programme=programme)
