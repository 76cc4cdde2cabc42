"""Programme files: every error names file, line and path; loading is all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from liaison.services.programmes.document import DocumentError
from liaison.services.programmes.loading import load_programme, plan_programme
from liaison.storage.database import Database
from liaison.storage.enums import AssignmentKind
from liaison.storage.models import AuditEvent, Phase, Programme, Session, Survey, SurveyQuestion
from tests.conftest import PROGRAMME_FILE

EXAMPLE = Path(__file__).parent.parent / "examples" / "jinjiang-2014.yaml"


def broken(tmp_path: Path, old: str, new: str, name: str = "programme.yaml") -> Path:
    text = PROGRAMME_FILE.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(path: Path, fragment: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(fragment)


def messages(path: Path) -> list[str]:
    with pytest.raises(DocumentError) as caught:
        plan_programme(path)
    return [str(problem) for problem in caught.value.problems]


def test_sample_programme_is_valid() -> None:
    plan = plan_programme(EXAMPLE)
    assert plan.definition.programme.id == "jinjiang-2014"
    assert len(plan.sessions) >= 30
    kinds = sorted(a.kind for a in plan.assignments)
    assert kinds.count(AssignmentKind.STAGE_REPORT) == 2
    assert "research_paper" in kinds and "pre_departure_research" in kinds
    assert plan.definition.surveys[0].schedule.weekdays == ["tue", "fri"]


def test_bad_datetime_names_file_line_and_path(tmp_path: Path) -> None:
    path = broken(tmp_path, '"2026-10-30 09:00"', '"2026-10-3O 09:00"')
    line = line_of(path, "2026-10-3O")
    assert messages(path) == [
        f"programme.yaml:{line} sessions[1].start: "
        "not a valid date-time (expected YYYY-MM-DD HH:MM)"
    ]


def test_typo_in_a_field_name_is_reported(tmp_path: Path) -> None:
    path = broken(tmp_path, "    place: UNC Chapel Hill", "    plase: UNC Chapel Hill")
    line = line_of(path, "plase:")
    assert messages(path) == [
        f"programme.yaml:{line} sessions[1].plase: unknown field (check the spelling)"
    ]


def test_unknown_phase_and_duplicate_key_are_both_reported(tmp_path: Path) -> None:
    path = broken(
        tmp_path, "    phase: theory\n    kind: community", "    phase: theroy\n    kind: community"
    )
    path.write_text(
        path.read_text(encoding="utf-8").replace("key: late-sunday", "key: sun-after-dst"),
        encoding="utf-8",
    )
    found = messages(path)
    assert any("sessions[2].phase: no phase 'theroy'" in m for m in found)
    assert any("sessions[3].key: duplicate session key 'sun-after-dst'" in m for m in found)


def test_time_skipped_by_daylight_saving_is_refused(tmp_path: Path) -> None:
    path = broken(tmp_path, '"2027-03-14 09:00"', '"2027-03-14 02:30"')
    (message,) = messages(path)
    assert "sessions[6].start: 2027-03-14 02:30 does not exist in America/New_York" in message


def test_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    path = broken(tmp_path, "host_timezone: America/New_York", "host_timezone: America/Raleigh")
    (message,) = messages(path)
    assert "programme.host_timezone: unknown time zone 'America/Raleigh'" in message


def test_alert_on_unknown_question_is_refused(tmp_path: Path) -> None:
    path = broken(tmp_path, "{question: wellbeing, op:", "{question: wellness, op:")
    (message,) = messages(path)
    assert "surveys[0].alerts[0]: no question 'wellness' in this survey" in message


def test_unquoted_time_of_day_is_read_as_a_time(tmp_path: Path) -> None:
    path = broken(tmp_path, 'at: "20:00"', "at: 20:00")
    plan = plan_programme(path)
    assert plan.definition.surveys[0].schedule.at.isoformat() == "20:00:00"


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = broken(tmp_path, "phases:\n", "phases: [\n")
    (message,) = messages(path)
    assert message.startswith("programme.yaml:") and "not valid YAML" in message


def test_toml_programme_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        """
[programme]
id = "toml-prog"
title = { zh = "项目", en = "Programme" }
host_timezone = "America/New_York"

[[phases]]
key = "theory"
title = { zh = "理论" }
location = "abroad"
start = "2026-10-01"
end = "2026-10-31"
""",
        encoding="utf-8",
    )
    assert plan_programme(path).definition.programme.id == "toml-prog"


async def count(db: Database, model: type) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_loading_twice_updates_in_place(db: Database) -> None:
    first = await load_programme(db, PROGRAMME_FILE)
    second = await load_programme(db, PROGRAMME_FILE)
    assert first.created and not second.created
    assert await count(db, Programme) == 1
    assert await count(db, Phase) == 3
    assert await count(db, Session) == 7
    assert await count(db, Survey) == 1
    assert await count(db, SurveyQuestion) == 4


async def test_changed_file_updates_rows_and_drops_removed_sessions(
    db: Database, tmp_path: Path
) -> None:
    await load_programme(db, PROGRAMME_FILE)
    text = PROGRAMME_FILE.read_text(encoding="utf-8")
    start = text.index("  - key: late-sunday")
    end = text.index("  - key: mon-after-dst")
    changed = text[:start] + text[end:]
    changed = changed.replace("现代服务业概论", "现代服务业导论")
    path = tmp_path / "programme.yaml"
    path.write_text(changed, encoding="utf-8")
    result = await load_programme(db, path)
    assert result.removed["sessions"] == 1
    async with db.read() as session:
        titles = set(await session.scalars(select(Session.title_zh)))
    assert "现代服务业导论" in titles and "周日晚间复盘" not in titles


async def test_invalid_file_writes_nothing(db: Database, tmp_path: Path) -> None:
    path = broken(tmp_path, '"2026-10-30 09:00"', '"yesterday"')
    with pytest.raises(DocumentError):
        await load_programme(db, path)
    assert await count(db, Programme) == 0
    assert await count(db, Session) == 0
    assert await count(db, AuditEvent) == 0


async def test_session_times_are_stored_in_utc(db: Database) -> None:
    await load_programme(db, PROGRAMME_FILE)
    async with db.read() as session:
        rows = {s.key: s for s in await session.scalars(select(Session))}
    assert rows["fri-before-dst"].starts_at.isoformat() == "2026-10-30T13:00:00+00:00"
    assert rows["mon-after-dst"].starts_at.isoformat() == "2026-11-02T14:00:00+00:00"
    assert rows["chengdu-lecture"].timezone == "Asia/Shanghai"
    assert rows["chengdu-lecture"].starts_at.isoformat() == "2026-09-10T06:00:00+00:00"


def test_rubric_is_loaded_with_its_scales_and_weights(tmp_path: Path) -> None:
    plan = plan_programme(PROGRAMME_FILE)
    stage = next(a for a in plan.assignments if a.key == "stage-1")
    assert [(c["key"], c["scale"], c["weight"]) for c in stage.rubric] == [
        ("content", 5, 3),
        ("writing", 4, 1),
    ]
    assert next(a for a in plan.assignments if a.key == "paper").rubric == []


def test_rubric_scale_out_of_range_names_file_line_and_path(tmp_path: Path) -> None:
    path = broken(tmp_path, "        scale: 4\n", "        scale: 40\n")
    line = line_of(path, "scale: 40")
    (message,) = messages(path)
    assert message.startswith(f"programme.yaml:{line} assignments[0].rubric[1].scale: ")
    assert "10" in message


def test_rubric_with_a_duplicate_criterion_or_a_zero_weight_is_refused(tmp_path: Path) -> None:
    path = broken(tmp_path, "      - key: writing\n", "      - key: content\n")
    first = line_of(path, "- key: content")
    assert messages(path) == [
        f"programme.yaml:{line} assignments[0].rubric[{index}].key: "
        "duplicate criterion key 'content'"
        for index, line in ((0, first), (1, first + 4))
    ]
    path = broken(tmp_path, "        weight: 1\n", "        weight: 0\n", "zero.yaml")
    (message,) = messages(path)
    assert "assignments[0].rubric[1].weight" in message and "greater than 0" in message
