"""Roster import: CSV as Excel saves it, XLSX, every bad row listed, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from liaison.services.phones import normalise_phone
from liaison.services.programmes.loading import load_programme
from liaison.services.roster import RosterError, import_roster
from liaison.storage.database import Database
from liaison.storage.models import Person
from tests.conftest import PROGRAMME_FILE, PROGRAMME_ID, ROSTER_FILE

HEADER = (
    "name,unit,position,phone,role,locale,timezone,test_batch,english_score,bft_level,status,notes"
)


@pytest.mark.parametrize(
    "raw",
    ["138 0000 1001", "+86 138-0000-1001", "8613800001001", "+8613800001001", "13800001001"],
)
def test_chinese_mobile_is_normalised_in_every_format(raw: str) -> None:
    assert normalise_phone(raw) == "+8613800001001"


def test_us_number_with_country_code_is_normalised() -> None:
    assert normalise_phone("+1 (919) 555-0123") == "+19195550123"
    assert normalise_phone("19195550123") == "+19195550123"


def test_garbage_is_not_a_phone() -> None:
    assert normalise_phone("call me") is None
    assert normalise_phone("123") is None


async def people(db: Database) -> list[Person]:
    async with db.read() as session:
        return list(await session.scalars(select(Person).order_by(Person.id)))


async def test_csv_with_bom_is_imported(db: Database) -> None:
    await load_programme(db, PROGRAMME_FILE)
    result = await import_roster(db, PROGRAMME_ID, ROSTER_FILE)
    assert (result.created, result.updated) == (6, 0)
    rows = await people(db)
    assert rows[0].name == "张伟"  # the BOM did not leak into the first column
    assert rows[0].phone == "+8613800001001"
    assert rows[0].english_score == 82.5 and rows[0].test_batch == 1
    assert {p.role for p in rows} == {"cadre", "organizer", "observer"}


async def test_reimport_updates_without_duplicating(db: Database) -> None:
    await load_programme(db, PROGRAMME_FILE)
    await import_roster(db, PROGRAMME_ID, ROSTER_FILE)
    result = await import_roster(db, PROGRAMME_ID, ROSTER_FILE)
    assert (result.created, result.updated) == (0, 6)
    assert len(await people(db)) == 6


async def test_xlsx_with_chinese_headers_is_imported(db: Database, tmp_path: Path) -> None:
    await load_programme(db, PROGRAMME_FILE)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "单位", "职务", "手机", "角色", "英语成绩"])
    sheet.append(["周杰", "锦江区商务局", "科员", 13800001234, "学员", 77.5])
    path = tmp_path / "roster.xlsx"
    book.save(path)
    await import_roster(db, PROGRAMME_ID, path)
    (person,) = await people(db)
    assert (person.name, person.phone, person.role) == ("周杰", "+8613800001234", "cadre")
    assert person.english_score == 77.5


async def test_bad_rows_are_all_listed_and_nothing_is_written(db: Database, tmp_path: Path) -> None:
    await load_programme(db, PROGRAMME_FILE)
    path = tmp_path / "roster.csv"
    path.write_text(
        "\n".join(
            [
                HEADER,
                "张伟,局,科长,138 0000 1001,cadre,,,,,,active,",
                "李娜,局,科长,+86 138-0000-1001,cadre,,,,,,active,",
                "王芳,局,科长,not a phone,boss,fr,Mars/Base,x,y,,retired,",
                ",局,科长,138 0000 1009,cadre,,,,,,,",
            ]
        ),
        encoding="utf-8",
    )
    with pytest.raises(RosterError) as caught:
        await import_roster(db, PROGRAMME_ID, path)
    found = [str(p) for p in caught.value.problems]
    assert "roster.csv:3: phone '+86 138-0000-1001' duplicates row 2" in found
    assert "roster.csv:4: phone 'not a phone' is not a valid number" in found
    assert "roster.csv:4: role 'boss' is not cadre, organizer or observer" in found
    assert "roster.csv:4: locale 'fr' is not zh_CN or en" in found
    assert "roster.csv:4: time zone 'Mars/Base' is unknown (e.g. America/New_York)" in found
    assert "roster.csv:4: test_batch 'x' is not a whole number" in found
    assert "roster.csv:4: english_score 'y' is not a number" in found
    assert any(m.startswith("roster.csv:4: status 'retired'") for m in found)
    assert "roster.csv:5: name is empty" in found
    assert await people(db) == []


async def test_unknown_column_is_refused(db: Database, tmp_path: Path) -> None:
    await load_programme(db, PROGRAMME_FILE)
    path = tmp_path / "roster.csv"
    path.write_text("name,phone,favourite colour\n张伟,13800001001,red\n", encoding="utf-8")
    with pytest.raises(RosterError) as caught:
        await import_roster(db, PROGRAMME_ID, path)
    assert [str(p) for p in caught.value.problems] == [
        "roster.csv:1: unknown column 'favourite colour'"
    ]


async def test_roster_for_an_unknown_programme_is_refused(db: Database) -> None:
    with pytest.raises(RosterError) as caught:
        await import_roster(db, "nope", ROSTER_FILE)
    assert "no programme 'nope'" in str(caught.value)
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Person)) == 0


async def test_gbk_file_gets_a_clear_error(db: Database, tmp_path: Path) -> None:
    await load_programme(db, PROGRAMME_FILE)
    path = tmp_path / "roster.csv"
    path.write_bytes("name,phone\n张伟,13800001001\n".encode("gbk"))
    with pytest.raises(RosterError) as caught:
        await import_roster(db, PROGRAMME_ID, path)
    assert "not UTF-8" in str(caught.value)


async def test_roster_extensions_give_a_later_due_time(db: Database, tmp_path: Path) -> None:
    from liaison.storage.models import Assignment, Extension

    await load_programme(db, PROGRAMME_FILE)
    path = tmp_path / "roster.csv"
    path.write_text(
        "name,phone,extensions\n"
        "张伟,13800001001,stage-1=2026-11-10\n"
        "李娜,13800001002,stage-1=2026-11-12 09:30; paper=2027-03-25\n",
        encoding="utf-8",
    )
    await import_roster(db, PROGRAMME_ID, path)
    async with db.read() as session:
        rows = (
            await session.execute(
                select(Person.name, Assignment.key, Extension.due_at)
                .join(Extension, Extension.person_id == Person.id)
                .join(Assignment, Assignment.id == Extension.assignment_id)
                .order_by(Person.name, Assignment.key)
            )
        ).all()
    due = {(name, key): when.isoformat() for name, key, when in rows}
    # Date only: the assignment's own time of day (22:00 in New York, EST after 1 November).
    assert due[("张伟", "stage-1")] == "2026-11-11T03:00:00+00:00"
    assert due[("李娜", "stage-1")] == "2026-11-12T14:30:00+00:00"
    assert ("李娜", "paper") in due


async def test_roster_extension_for_an_unknown_assignment_writes_nothing(
    db: Database, tmp_path: Path
) -> None:
    await load_programme(db, PROGRAMME_FILE)
    path = tmp_path / "roster.csv"
    path.write_text(
        "name,phone,extensions\n张伟,13800001001,stage-9=2026-11-10\n王芳,13800001003,oops\n",
        encoding="utf-8",
    )
    with pytest.raises(RosterError) as caught:
        await import_roster(db, PROGRAMME_ID, path)
    found = [str(p) for p in caught.value.problems]
    assert found == ["roster.csv:3: extension 'oops' is not KEY=YYYY-MM-DD or KEY=YYYY-MM-DD HH:MM"]
    path.write_text(
        "name,phone,extensions\n张伟,13800001001,stage-9=2026-11-10\n", encoding="utf-8"
    )
    with pytest.raises(RosterError) as caught:
        await import_roster(db, PROGRAMME_ID, path)
    assert [str(p) for p in caught.value.problems] == [
        "roster.csv:2: extension for unknown assignment 'stage-9'"
    ]
    assert await people(db) == []
