"""The Excel workbook: opened with openpyxl and checked against the database cell by cell."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from liaison.services.checkins.alerts import alerts_of
from liaison.services.exports.errors import UnknownProgramme
from liaison.services.exports.kinds import ExportKind
from liaison.services.programmes.loading import load_programme
from liaison.storage.database import Database
from liaison.storage.models import (
    AuditEvent,
    Person,
    StoredFile,
    Submission,
    SurveyAnswer,
    SurveyQuestion,
    SurveyRun,
)
from liaison.ui.exports import build_export
from liaison.ui.i18n import Translator, translator
from liaison.ui.workbook import RUN_STATE_NAMES, SHEETS, neutralise
from tests.conftest import PROGRAMME_FILE, PROGRAMME_ID
from tests.history import INJECTION, build_history

ZH = translator("zh_CN")
EN = translator("en")
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=ZoneInfo("UTC"))
BEIJING = ZoneInfo("Asia/Shanghai")


def local(instant: datetime | None, zone: str = "Asia/Shanghai") -> datetime | None:
    if instant is None:
        return None
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None, microsecond=0)


async def export(db: Database, tmp_path: Path, locale: str) -> dict[str, Worksheet]:
    out = tmp_path / "record.xlsx"
    await build_export(
        db, ExportKind.WORKBOOK, PROGRAMME_ID, out, data_dir=tmp_path, now=NOW, locale=locale
    )
    book = load_workbook(out)
    return {sheet.title: sheet for sheet in book.worksheets}


def table(sheet: Worksheet) -> list[dict[str, Any]]:
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def zoned(t: Translator, label: str) -> str:
    return t("{label} ({city} time, {zone})").format(
        label=t(label), city=t.city("Asia/Shanghai"), zone="Asia/Shanghai"
    )


async def test_workbook_in_chinese_has_every_sheet_headers_frozen_filtered_and_sized(
    db: Database, tmp_path: Path
) -> None:
    await build_history(db, tmp_path)
    sheets = await export(db, tmp_path, "zh_CN")
    assert list(sheets) == [ZH(spec.title) for spec in SHEETS]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in title) for title in sheets)
    for sheet in sheets.values():
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref is not None
        assert sheet.auto_filter.ref.startswith("A1:")
        assert sheet.column_dimensions["A"].width > 0
        header = [c.value for c in sheet[1]]
        assert all(isinstance(h, str) and h for h in header)
    people = sheets[ZH("People")]
    assert people["A1"].value == ZH("Name")
    assert zoned(ZH, "Enrolled") in [c.value for c in people[1]]


async def test_workbook_checkins_match_the_runs_in_both_zones_with_answers(
    db: Database, tmp_path: Path
) -> None:
    await build_history(db, tmp_path)
    sheets = await export(db, tmp_path, "en")
    rows = {row[EN("Run")]: row for row in table(sheets[EN("Check-ins")])}
    async with db.read() as session:
        runs = list(await session.scalars(select(SurveyRun)))
        questions = list(await session.scalars(select(SurveyQuestion)))
        answers = list(await session.scalars(select(SurveyAnswer)))
        names = dict((await session.execute(select(Person.id, Person.name))).tuples().all())
    assert set(rows) == {r.id for r in runs}
    for run in runs:
        row = rows[run.id]
        assert row[EN("Name")] == names[run.person_id]
        assert row[EN("Slot (cadre's local time)")] == local(run.slot_at, run.timezone)
        assert row[EN("Cadre's time zone")] == run.timezone
        assert row[zoned(EN, "Slot")] == local(run.slot_at)
        assert row[EN("State")] == EN(RUN_STATE_NAMES[run.state])
        assert row[zoned(EN, "Confirmed")] == local(run.completed_at)
        hours = (
            round((run.completed_at - run.slot_at).total_seconds() / 3600, 1)
            if run.completed_at
            else None
        )
        assert row[EN("Answered after (hours)")] == hours
        assert row[EN("Escalated")] == (EN("Yes") if run.escalated_at else EN("No"))
        for question in questions:
            stored = next(
                (a for a in answers if a.run_id == run.id and a.question_key == question.key),
                None,
            )
            cell = row[question.text_en]
            if stored is None:
                assert cell is None
            elif stored.skipped:
                assert cell == EN("(skipped)")
            elif question.key == "wellbeing":
                assert cell == int(str(stored.value))
            elif question.key == "need_help":
                assert cell == (EN("Yes") if stored.value == "yes" else EN("No"))
            else:
                assert cell == neutralise(str(stored.value))
    # Both sides of the daylight-saving change: 20:00 local on each, Beijing 08:00 then 09:00.
    slots = sorted(
        (r[EN("Slot (cadre's local time)")], r[zoned(EN, "Slot")])
        for r in rows.values()
        if r[EN("Name")] == "张伟"
    )
    assert [(a.hour, b.hour) for a, b in slots] == [(20, 8), (20, 9)]


async def test_workbook_alerts_and_call_notes_come_from_the_runs(
    db: Database, tmp_path: Path
) -> None:
    await build_history(db, tmp_path)
    sheets = await export(db, tmp_path, "zh_CN")
    async with db.read() as session:
        runs = list(await session.scalars(select(SurveyRun).order_by(SurveyRun.id)))
    expected_alerts = []
    for run in runs:
        for triggered in await alerts_of(db, run.id) if run.state.value == "completed" else []:
            expected_alerts.append((run.id, triggered.question_key))
    alert_rows = table(sheets[ZH("Alerts")])
    questions = {"您最近状态如何？": "wellbeing", "需要帮助吗？": "need_help"}
    assert sorted((r[ZH("Run")], questions[r[ZH("Question")]]) for r in alert_rows) == sorted(
        expected_alerts
    )
    assert len(expected_alerts) == 2
    notes = table(sheets[ZH("Call notes")])
    assert {(r[ZH("Run")], r[ZH("Notes of the call")]) for r in notes} == {
        (run.id, neutralise(run.notes)) for run in runs if run.notes
    }


async def test_workbook_submissions_list_every_version_with_review_and_due_time(
    db: Database, tmp_path: Path
) -> None:
    await build_history(db, tmp_path)
    sheets = await export(db, tmp_path, "zh_CN")
    rows = table(sheets[ZH("Submissions")])
    async with db.read() as session:
        submissions = list(await session.scalars(select(Submission).order_by(Submission.id)))
        files = list(await session.scalars(select(StoredFile)))
        names = dict((await session.execute(select(Person.id, Person.name))).tuples().all())
    assert len(rows) == len(submissions)
    by_key = {(r[ZH("Name")], r[ZH("Version")], r[zoned(ZH, "Submitted")]): r for r in rows}
    for s in submissions:
        row = by_key[(names[s.person_id], s.version, local(s.submitted_at))]
        assert row[ZH("Late")] == (ZH("Yes") if s.is_late else ZH("No"))
        assert row[ZH("Score")] == s.score
        assert row[ZH("Feedback")] == (neutralise(s.feedback) if s.feedback else None)
        assert row[ZH("Reviewed by")] == (names[s.reviewed_by_id] if s.reviewed_by_id else None)
        assert row[ZH("Files")] == sum(f.submission_id == s.id for f in files)
        assert row[ZH("Assignment")] == "第一阶段报告"


async def test_workbook_people_absences_and_audit_match_the_database(
    db: Database, tmp_path: Path
) -> None:
    await build_history(db, tmp_path)
    sheets = await export(db, tmp_path, "en")
    async with db.read() as session:
        people = list(await session.scalars(select(Person)))
        events = list(await session.scalars(select(AuditEvent)))
    rows = {r[EN("Name")]: r for r in table(sheets[EN("People")])}
    assert set(rows) == {p.name for p in people}
    for p in people:
        row = rows[p.name]
        assert row[EN("Phone")] == p.phone
        assert row[EN("E-mail")] == p.email
        assert row[EN("English score")] == p.english_score
        assert row[EN("Test batch")] == p.test_batch
        assert row[zoned(EN, "Enrolled")] == local(p.enrolled_at)
    leave = table(sheets[EN("Absences and extensions")])
    kinds = sorted(r[EN("Kind")] for r in leave)
    assert kinds == sorted([EN("absence"), EN("extension")])
    audit = table(sheets[EN("Audit")])
    assert len(audit) == len(events)


async def test_workbook_formula_like_texts_are_neutralised(db: Database, tmp_path: Path) -> None:
    await build_history(db, tmp_path)
    sheets = await export(db, tmp_path, "en")
    texts = [
        cell.value
        for sheet in sheets.values()
        for row in sheet.iter_rows(min_row=2)
        for cell in row
        if isinstance(cell.value, str)
    ]
    assert "'" + INJECTION in texts
    assert "'@SUM(A1)" in texts
    assert "'-请补充数据" in texts
    assert "'\tTabbed title" in texts
    assert "'+1 组长" in texts
    assert "+8613800001001" in texts  # a phone number is a number, not a formula
    for sheet in sheets.values():
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                assert cell.data_type != "f"


@pytest.mark.parametrize("text", ["=1+1", "+cmd", "-2+3", "@A1", "\t=x", "\r=x"])
def test_neutralise_formula_start_gets_an_apostrophe(text: str) -> None:
    assert neutralise(text) == "'" + text


async def test_workbook_of_an_empty_programme_has_headers_only(
    db: Database, tmp_path: Path
) -> None:
    await load_programme(db, PROGRAMME_FILE)
    sheets = await export(db, tmp_path, "zh_CN")
    assert sheets[ZH("People")].max_row == 1
    assert sheets[ZH("Check-ins")].max_row == 1
    assert sheets[ZH("Schedule")].max_row > 1  # the programme file's sessions


async def test_workbook_of_an_unknown_programme_is_refused(db: Database, tmp_path: Path) -> None:
    with pytest.raises(UnknownProgramme):
        await build_export(
            db, ExportKind.WORKBOOK, "nope", tmp_path / "x.xlsx", data_dir=tmp_path, now=NOW
        )


async def test_workbook_selection_sheet_carries_the_selection_figures(
    db: Database, tmp_path: Path
) -> None:
    from liaison.services.selection.figures import selection_figures

    await build_history(db, tmp_path)
    sheets = await export(db, tmp_path, "en")
    rows = {row[EN("Figure")]: row[EN("Number")] for row in table(sheets[EN("Selection")])}
    figures = await selection_figures(db, PROGRAMME_ID)
    assert rows == {
        EN("Candidates"): figures.candidates,
        EN("Tested"): figures.tested,
        EN("Shortlisted"): figures.shortlisted,
        EN("Selected"): figures.selected,
        EN("Not selected"): figures.not_selected,
        EN("Withdrawn"): figures.withdrawn,
        EN("Places"): figures.places,
    }
    assert figures.candidates > 0
