"""`liaison export ...` on a throwaway SQLite database: files written, exports audited."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from icalendar import Calendar
from openpyxl import load_workbook
from sqlalchemy import select

from liaison.bot.cli import main
from liaison.storage.database import Database
from liaison.storage.models import AuditEvent
from liaison.ui.i18n import translator
from tests.conftest import PROGRAMME_ID
from tests.history import build_history


@pytest.fixture
async def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    environment = {
        "LIAISON_DATA_DIR": str(tmp_path / "data"),
        "LIAISON_DATABASE_URL": "",
        "LIAISON_BOT_TOKEN": "",
    }
    result = await run(environment, "db", "upgrade")
    assert result[0] == 0, result[1]
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'liaison.db'}")
    try:
        await build_history(db, tmp_path / "data")
    finally:
        await db.dispose()
    return environment


async def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    import asyncio

    def invoke() -> tuple[int, str]:
        result = CliRunner().invoke(main, list(args), env=env)
        return result.exit_code, result.output

    return await asyncio.to_thread(invoke)


async def test_export_commands_write_workbook_files_and_calendar_and_audit_them(
    env: dict[str, str], tmp_path: Path
) -> None:
    code, out = await run(
        env, "export", "workbook", "--programme", PROGRAMME_ID, "--out", "r.xlsx", "--locale", "en"
    )
    assert code == 0, out
    assert load_workbook(tmp_path / "r.xlsx").sheetnames[0] == translator("en")("People")
    code, out = await run(env, "export", "files", "--programme", PROGRAMME_ID, "--out", "f.zip")
    assert code == 0, out
    assert "missing: Wang Fang/stage-1/v1/report.pdf" in out
    with zipfile.ZipFile(tmp_path / "f.zip") as archive:
        assert "manifest.csv" in archive.namelist()
    code, out = await run(
        env, "export", "calendar", "--programme", PROGRAMME_ID, "--person", "张伟", "--out", "z.ics"
    )
    assert code == 0, out
    assert Calendar.from_ical((tmp_path / "z.ics").read_bytes()).walk("VEVENT")
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'liaison.db'}")
    try:
        async with db.read() as session:
            actions = list(
                await session.scalars(
                    select(AuditEvent.action).where(AuditEvent.action.like("export.%"))
                )
            )
    finally:
        await db.dispose()
    assert sorted(actions) == ["export.calendar", "export.files", "export.workbook"]


async def test_export_of_an_unknown_programme_or_person_says_so_in_one_line(
    env: dict[str, str],
) -> None:
    code, out = await run(env, "export", "workbook", "--programme", "nope")
    assert code == 1 and "Error: no programme 'nope'" in out
    code, out = await run(
        env, "export", "calendar", "--programme", PROGRAMME_ID, "--person", "Nobody"
    )
    assert code == 1 and "Error: nobody called Nobody" in out
