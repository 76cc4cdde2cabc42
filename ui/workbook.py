"""The programme's record as an Excel workbook, one sheet per concern, in the reader's language.

Each sheet is a list of columns: a header (a catalog text), how to read the cell from a
row, its kind and width. A new column (rubric scores, selection results) is one more
``Column`` in the sheet's list below; a new sheet is one more ``Sheet`` in ``SHEETS``.
Instants are written as real Excel dates in one named zone (the header says which);
texts a spreadsheet would run as formulas are neutralised. Writing is blocking: call
``write_workbook`` off the event loop.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Generic, TypeVar

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from liaison.services.exports.progress import Progress
from liaison.services.exports.records import (
    AbsenceRow,
    AlertRow,
    AuditRow,
    CheckinRow,
    ExtensionRow,
    PersonRow,
    ProgrammeRecord,
    QuestionColumn,
    SessionRow,
    SubmissionRow,
)
from liaison.services.timezones import zone
from liaison.storage.enums import (
    QuestionKind,
    ReviewStatus,
    Role,
    RunState,
    SessionKind,
)
from liaison.ui.checkin import answer_label
from liaison.ui.i18n import N_, Translator, translator
from liaison.ui.selection import status_label

R = TypeVar("R")
Cell = str | int | float | bool | datetime | date | None

MAX_CELL_CHARS = 32_767  # Excel's limit for one cell
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER_LIKE = re.compile(r"^[+-]?\d[\d .]*$")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"


class Kind(Enum):
    TEXT = "text"
    NUMBER = "number"
    INSTANT = "instant"  # an aware datetime, shown in the column's zone
    LOCAL = "local"  # a wall-clock datetime already in the row's own zone
    DAY = "day"
    FLAG = "flag"  # yes / no in the reader's language


@dataclass(frozen=True)
class Column(Generic[R]):
    header: str
    value: Callable[[R], Cell]
    kind: Kind = Kind.TEXT
    width: float = 14
    # INSTANT columns: the zone their dates are written in, named in the header.
    zone: str | None = None
    # False when the header is data (a question's text), not a catalog text.
    translate: bool = True


@dataclass(frozen=True)
class Sheet(Generic[R]):
    title: str
    columns: Callable[[ProgrammeRecord, Translator], list[Column[R]]]
    rows: Callable[[ProgrammeRecord], Sequence[R]]


def neutralise(text: str) -> str:
    """A text that no spreadsheet will run: formula-like starts get a leading apostrophe.

    Plain numbers written as text ("+8613800001001", "-3") are left alone: they cannot
    run anything. Characters XLSX cannot hold are dropped; overlong texts are cut.
    """
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    if text.startswith(FORMULA_STARTS) and not NUMBER_LIKE.match(text):
        text = "'" + text
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + "…"
    return text


def _local(instant: datetime | None, zone_name: str) -> datetime | None:
    """Excel has no zones: the wall-clock time in the named zone, without tzinfo."""
    if instant is None:
        return None
    return instant.astimezone(zone(zone_name)).replace(tzinfo=None, microsecond=0)


def _hours(row: CheckinRow) -> float | None:
    delta = row.answered_after
    return round(delta.total_seconds() / 3600, 1) if delta is not None else None


# Words for codes: the catalog holds them once, the sheets show them in the reader's language.
ROLE_NAMES = {
    Role.CADRE: N_("participant"),
    Role.ORGANIZER: N_("organizer"),
    Role.OBSERVER: N_("observer"),
}
RUN_STATE_NAMES = {
    RunState.DUE: N_("due"),
    RunState.SENT: N_("sent"),
    RunState.IN_PROGRESS: N_("in progress"),
    RunState.COMPLETED: N_("completed"),
    RunState.MISSED: N_("missed"),
    RunState.ESCALATED: N_("escalated"),
}
REVIEW_NAMES = {
    ReviewStatus.PENDING: N_("awaiting review"),
    ReviewStatus.REVIEWED: N_("reviewed"),
    ReviewStatus.RETURNED: N_("returned for revision"),
}
SESSION_KIND_NAMES = {
    SessionKind.LECTURE: N_("lecture"),
    SessionKind.CASE: N_("case teaching"),
    SessionKind.VISIT: N_("visit"),
    SessionKind.PLACEMENT: N_("placement"),
    SessionKind.COMMUNITY: N_("community activity"),
    SessionKind.MEETING: N_("meeting"),
    SessionKind.EXAM: N_("exam"),
    SessionKind.TRAVEL: N_("travel"),
    SessionKind.OTHER: N_("other"),
}


def _people(d: ProgrammeRecord, t: Translator) -> list[Column[PersonRow]]:
    home = d.programme.home_timezone
    return [
        Column(N_("Name"), lambda p: p.name, width=14),
        Column(N_("Role"), lambda p: t(ROLE_NAMES[p.role]), width=10),
        Column(N_("Status"), lambda p: status_label(p.status, t), width=10),
        Column(N_("Unit"), lambda p: p.unit, width=22),
        Column(N_("Position"), lambda p: p.position, width=12),
        Column(N_("Phone"), lambda p: p.phone, width=16),
        Column(N_("E-mail"), lambda p: p.email, width=24),
        # Selection data; results of the selection phase join here.
        Column(N_("Test batch"), lambda p: p.test_batch, Kind.NUMBER, width=8),
        Column(N_("English score"), lambda p: p.english_score, Kind.NUMBER, width=10),
        Column(N_("BFT level"), lambda p: p.bft_level, width=10),
        Column(N_("Enrolled"), lambda p: p.enrolled_at, Kind.INSTANT, width=18, zone=home),
        Column(N_("Unreachable since"), lambda p: p.unreachable_at, Kind.INSTANT, 18, home),
        Column(N_("Time zone"), lambda p: p.timezone, width=18),
        Column(N_("Language"), lambda p: p.locale, width=8),
        Column(N_("Notes"), lambda p: p.notes, width=30),
    ]


def _schedule(d: ProgrammeRecord, t: Translator) -> list[Column[SessionRow]]:
    home = d.programme.home_timezone
    return [
        Column(N_("Starts (local)"), lambda s: _local(s.starts_at, s.timezone), Kind.LOCAL, 17),
        Column(N_("Ends (local)"), lambda s: _local(s.ends_at, s.timezone), Kind.LOCAL, 17),
        Column(N_("Local time zone"), lambda s: s.timezone, width=18),
        Column(N_("Starts"), lambda s: s.starts_at, Kind.INSTANT, 17, home),
        Column(N_("Title"), lambda s: t.pick(s.title_zh, s.title_en), width=32),
        Column(N_("Kind"), lambda s: t(SESSION_KIND_NAMES[s.kind]), width=12),
        Column(N_("Phase"), lambda s: t.pick(s.phase_zh, s.phase_en) if s.phase_zh else None),
        Column(N_("Place"), lambda s: s.place, width=24),
        Column(N_("Key"), lambda s: s.key, width=16),
    ]


def _answer_column(q: QuestionColumn, several: bool, t: Translator) -> Column[CheckinRow]:
    question = q.question
    header = t.pick(question.text_zh, question.text_en)
    if several:
        header = f"{t.pick(q.survey_title_zh, q.survey_title_en)}: {header}"

    def value(row: CheckinRow) -> Cell:
        if row.survey_key != q.survey_key:
            return None
        stored = row.answers.get(question.key)
        if stored is None:
            return None
        if stored.skipped:
            return t("(skipped)")
        if stored.has_file and not stored.value:
            return t("(voice message)")
        label = answer_label(question, stored.value, t)
        if question.kind is QuestionKind.SCALE and label.isdigit():
            return int(label)
        return label

    return Column(header, value, width=24, translate=False)


def _checkins(d: ProgrammeRecord, t: Translator) -> list[Column[CheckinRow]]:
    home = d.programme.home_timezone
    several = len({q.survey_key for q in d.questions}) > 1
    return [
        Column(N_("Run"), lambda r: r.run_id, Kind.NUMBER, width=7),
        Column(N_("Name"), lambda r: r.person_name),
        Column(N_("Check-in"), lambda r: t.pick(r.survey_title_zh, r.survey_title_en), width=16),
        Column(
            N_("Slot (cadre's local time)"), lambda r: _local(r.slot_at, r.timezone), Kind.LOCAL, 18
        ),
        Column(N_("Cadre's time zone"), lambda r: r.timezone, width=18),
        Column(N_("Slot"), lambda r: r.slot_at, Kind.INSTANT, 18, home),
        Column(N_("State"), lambda r: t(RUN_STATE_NAMES[r.state]), width=10),
        Column(N_("Confirmed"), lambda r: r.completed_at, Kind.INSTANT, 18, home),
        Column(N_("Answered after (hours)"), _hours, Kind.NUMBER, width=10),
        Column(N_("Reminded"), lambda r: r.reminded_at is not None, Kind.FLAG, width=9),
        Column(N_("Escalated"), lambda r: r.escalated_at is not None, Kind.FLAG, width=9),
        *(_answer_column(q, several, t) for q in d.questions),
    ]


def _alerts(d: ProgrammeRecord, t: Translator) -> list[Column[AlertRow]]:
    home = d.programme.home_timezone
    return [
        Column(N_("Run"), lambda a: a.run_id, Kind.NUMBER, width=7),
        Column(N_("Name"), lambda a: a.person_name),
        Column(
            N_("Slot (cadre's local time)"), lambda a: _local(a.slot_at, a.timezone), Kind.LOCAL, 18
        ),
        Column(N_("Slot"), lambda a: a.slot_at, Kind.INSTANT, 18, home),
        Column(N_("Question"), lambda a: t.pick(a.question.text_zh, a.question.text_en), width=30),
        Column(N_("Answer"), lambda a: answer_label(a.question, a.triggered.value, t), width=16),
        Column(
            N_("Rule"), lambda a: f"{a.triggered.op} {json.dumps(a.triggered.threshold)}", width=10
        ),
    ]


def _submissions(d: ProgrammeRecord, t: Translator) -> list[Column[SubmissionRow]]:
    home = d.programme.home_timezone
    return [
        Column(N_("Name"), lambda s: s.person_name),
        Column(
            N_("Assignment"),
            lambda s: t.pick(s.assignment_title_zh, s.assignment_title_en),
            width=22,
        ),
        Column(N_("Version"), lambda s: s.version, Kind.NUMBER, width=8),
        Column(N_("Submitted"), lambda s: s.submitted_at, Kind.INSTANT, 18, home),
        Column(N_("Due"), lambda s: s.due_at, Kind.INSTANT, 18, home),
        Column(N_("Late"), lambda s: s.is_late, Kind.FLAG, width=7),
        Column(N_("Title"), lambda s: s.title, width=28),
        Column(N_("Abstract"), lambda s: s.abstract, width=40),
        Column(N_("Text"), lambda s: s.text, width=40),
        Column(N_("Files"), lambda s: s.files, Kind.NUMBER, width=7),
        Column(N_("Review"), lambda s: t(REVIEW_NAMES[s.review_status]), width=12),
        # Rubric scores, criterion by criterion, join here with the organizers' review.
        Column(N_("Score"), lambda s: s.score, Kind.NUMBER, width=8),
        Column(N_("Feedback"), lambda s: s.feedback, width=40),
        Column(N_("Reviewed by"), lambda s: s.reviewed_by, width=12),
        Column(N_("Reviewed"), lambda s: s.reviewed_at, Kind.INSTANT, 18, home),
        Column(N_("Assignment key"), lambda s: s.assignment_key, width=14),
    ]


def _notes(d: ProgrammeRecord, t: Translator) -> list[Column[CheckinRow]]:
    home = d.programme.home_timezone
    return [
        Column(N_("Run"), lambda r: r.run_id, Kind.NUMBER, width=7),
        Column(N_("Name"), lambda r: r.person_name),
        Column(N_("Slot"), lambda r: r.slot_at, Kind.INSTANT, 18, home),
        Column(N_("State"), lambda r: t(RUN_STATE_NAMES[r.state]), width=10),
        Column(N_("Notes of the call"), lambda r: r.notes, width=60),
    ]


def _absences(d: ProgrammeRecord, t: Translator) -> list[Column[AbsenceRow | ExtensionRow]]:
    home = d.programme.home_timezone

    def kind(row: AbsenceRow | ExtensionRow) -> str:
        return t("absence") if isinstance(row, AbsenceRow) else t("extension")

    def first(row: AbsenceRow | ExtensionRow) -> Cell:
        return row.starts_on if isinstance(row, AbsenceRow) else None

    def last(row: AbsenceRow | ExtensionRow) -> Cell:
        return row.ends_on if isinstance(row, AbsenceRow) else None

    def assignment(row: AbsenceRow | ExtensionRow) -> Cell:
        if isinstance(row, AbsenceRow):
            return None
        return t.pick(row.assignment_title_zh, row.assignment_title_en)

    def due(row: AbsenceRow | ExtensionRow) -> Cell:
        return None if isinstance(row, AbsenceRow) else row.due_at

    def extended(row: AbsenceRow | ExtensionRow) -> Cell:
        return None if isinstance(row, AbsenceRow) else row.extended_to

    def by(row: AbsenceRow | ExtensionRow) -> Cell:
        return row.set_by if isinstance(row, AbsenceRow) else row.granted_by

    return [
        Column(N_("Kind"), kind, width=10),
        Column(N_("Name"), lambda r: r.person_name),
        Column(N_("From"), first, Kind.DAY, width=12),
        Column(N_("To"), last, Kind.DAY, width=12),
        Column(N_("Reason"), lambda r: r.reason if isinstance(r, AbsenceRow) else None, width=24),
        Column(N_("Assignment"), assignment, width=22),
        Column(N_("Due"), due, Kind.INSTANT, 18, home),
        Column(N_("Extended to"), extended, Kind.INSTANT, 18, home),
        Column(N_("Set by"), by, width=12),
        Column(N_("Recorded"), lambda r: r.created_at, Kind.INSTANT, 18, home),
    ]


def _audit(d: ProgrammeRecord, t: Translator) -> list[Column[AuditRow]]:
    home = d.programme.home_timezone
    return [
        Column(N_("When"), lambda a: a.at, Kind.INSTANT, 18, home),
        Column(N_("Who"), lambda a: a.actor, width=14),
        Column(N_("Action"), lambda a: a.action, width=22),
        Column(
            N_("Details"),
            lambda a: json.dumps(a.details, ensure_ascii=False, sort_keys=True),
            width=60,
        ),
    ]


def _leave_rows(d: ProgrammeRecord) -> list[AbsenceRow | ExtensionRow]:
    return [*d.absences, *d.extensions]


# The selection's figures (services/selection/figures.py), one line each.
FIGURES = (
    (N_("Candidates"), "candidates"),
    (N_("Tested"), "tested"),
    (N_("Shortlisted"), "shortlisted"),
    (N_("Selected"), "selected"),
    (N_("Not selected"), "not_selected"),
    (N_("Withdrawn"), "withdrawn"),
    (N_("Places"), "places"),
)


def _figure_rows(d: ProgrammeRecord) -> list[tuple[str, int | None]]:
    if d.figures is None:
        return []
    return [(label, getattr(d.figures, name)) for label, name in FIGURES]


def _figures(d: ProgrammeRecord, t: Translator) -> list[Column[tuple[str, int | None]]]:
    return [
        Column(N_("Figure"), lambda row: t(row[0]), width=20),
        Column(N_("Number"), lambda row: row[1], Kind.NUMBER, width=10),
    ]


SHEETS: list[Sheet[Any]] = [
    Sheet(N_("People"), _people, lambda d: d.people),
    Sheet(N_("Schedule"), _schedule, lambda d: d.sessions),
    Sheet(N_("Check-ins"), _checkins, lambda d: d.checkins),
    Sheet(N_("Alerts"), _alerts, lambda d: d.alerts),
    Sheet(N_("Submissions"), _submissions, lambda d: d.submissions),
    Sheet(N_("Call notes"), _notes, lambda d: d.notes),
    Sheet(N_("Absences and extensions"), _absences, _leave_rows),
    Sheet(N_("Audit"), _audit, lambda d: d.audit),
    Sheet(N_("Selection"), _figures, _figure_rows),
]


def header_text(column: Column[Any], t: Translator) -> str:
    """The header as shown: translated, with the zone of its dates named."""
    label = t(column.header) if column.translate else column.header
    if column.kind is Kind.INSTANT and column.zone is not None:
        return t("{label} ({city} time, {zone})").format(
            label=label, city=t.city(column.zone), zone=column.zone
        )
    return label


def _cell(column: Column[R], row: R, t: Translator) -> tuple[Cell, str | None]:
    """The value to store and its number format."""
    value = column.value(row)
    if value is None:
        return None, None
    if column.kind is Kind.INSTANT:
        assert isinstance(value, datetime) and column.zone is not None
        return _local(value, column.zone), DATETIME_FORMAT
    if column.kind is Kind.LOCAL:
        return value, DATETIME_FORMAT
    if column.kind is Kind.DAY:
        return value, DATE_FORMAT
    if column.kind is Kind.FLAG:
        return (t("Yes") if value else t("No")), None
    if isinstance(value, str):
        return neutralise(value), None
    return value, None


def sheet_title(title: str) -> str:
    """Excel refuses some characters in sheet names and more than 31 of them."""
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31]


def write_workbook(
    record: ProgrammeRecord, locale: str, path: Path, progress: Progress | None = None
) -> None:
    """Writes the workbook to ``path`` (blocking: run it in a thread).

    openpyxl's write-only mode streams rows to disk: a cohort's ten thousand check-ins
    cost neither minutes nor hundreds of megabytes.
    """
    t = translator(locale)
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for index, spec in enumerate(SHEETS):
        if progress is not None:
            progress.set("sheet", index, len(SHEETS), spec.title)
        sheet = book.create_sheet(sheet_title(t(spec.title)))
        columns = spec.columns(record, t)
        rows = spec.rows(record)
        for number, column in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(number)].width = column.width
        sheet.freeze_panes = "A2"
        last = get_column_letter(max(len(columns), 1))
        sheet.auto_filter.ref = f"A1:{last}{len(rows) + 1}"
        header = []
        for column in columns:
            cell = WriteOnlyCell(sheet, value=header_text(column, t))
            cell.font, cell.alignment = bold, wrap
            header.append(cell)
        sheet.append(header)
        for row in rows:
            cells = []
            for column in columns:
                value, number_format = _cell(column, row, t)
                cell = WriteOnlyCell(sheet, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever the text
                if number_format is not None:
                    cell.number_format = number_format
                cells.append(cell)
            sheet.append(cells)
    book.properties.title = t.pick(record.programme.title_zh, record.programme.title_en)
    book.properties.creator = "Liaison"
    book.save(path)
