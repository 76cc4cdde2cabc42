"""The ZIP of submitted files: opened with zipfile, names and manifest against the records."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from liaison.services.exports.errors import UnknownProgramme
from liaison.services.exports.files import MANIFEST, MANIFEST_COLUMNS, safe_name, unique_name
from liaison.services.exports.kinds import ExportKind
from liaison.services.programmes.loading import load_programme
from liaison.storage.database import Database
from liaison.storage.models import StoredFile, Submission
from liaison.ui.exports import build_export
from tests.conftest import PROGRAMME_FILE, PROGRAMME_ID
from tests.history import build_history

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def manifest(archive: zipfile.ZipFile) -> list[dict[str, str]]:
    text = archive.read(MANIFEST).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows == [] or tuple(rows[0]) == MANIFEST_COLUMNS
    return rows


async def test_files_archive_holds_every_file_by_person_assignment_and_version(
    db: Database, tmp_path: Path
) -> None:
    history = await build_history(db, tmp_path / "data")
    out = tmp_path / "files.zip"
    built = await build_export(
        db, ExportKind.FILES, PROGRAMME_ID, out, data_dir=history.data_dir, now=NOW
    )
    assert built.parts == [out]
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        lines = manifest(archive)
        names = set(archive.namelist()) - {MANIFEST}
        ok = [line for line in lines if line["status"] == "ok"]
        assert {line["name"] for line in ok} == names
        for line in ok:
            data = archive.read(line["name"])
            assert len(data) == int(line["size"])
            assert hashlib.sha256(data).hexdigest() == line["sha256"]
    async with db.read() as session:
        rows = (await session.execute(select(StoredFile, Submission).join(Submission))).tuples()
        recorded = {(f.sha256, f.size, s.is_late, s.submitted_at) for f, s in rows}
    listed = {
        (line["sha256"], int(line["size"]), line["late"] == "yes", line["submitted_at"])
        for line in lines
    }
    assert listed == {(sha, size, late, at.isoformat()) for sha, size, late, at in recorded}
    assert names == {
        "张伟/stage-1/v1/阶段报告.pdf",
        "张伟/stage-1/v2/阶段报告.pdf",
        "张伟/stage-1/v2/阶段报告 (2).pdf",
        "张伟/stage-1/v2/_.._etc_passwd",
    }


async def test_files_missing_on_disk_is_listed_as_missing_and_the_export_goes_on(
    db: Database, tmp_path: Path
) -> None:
    history = await build_history(db, tmp_path / "data")
    out = tmp_path / "files.zip"
    built = await build_export(
        db, ExportKind.FILES, PROGRAMME_ID, out, data_dir=history.data_dir, now=NOW
    )
    assert [line.name for line in built.problems] == ["Wang Fang/stage-1/v1/report.pdf"]
    with zipfile.ZipFile(out) as archive:
        (missing,) = [line for line in manifest(archive) if line["status"] == "missing"]
        assert missing["name"] == "Wang Fang/stage-1/v1/report.pdf"
        assert missing["name"] not in archive.namelist()


async def test_files_past_the_part_limit_are_split_into_zips_each_with_its_manifest(
    db: Database, tmp_path: Path
) -> None:
    history = await build_history(db, tmp_path / "data")
    out = tmp_path / "files.zip"
    built = await build_export(
        db,
        ExportKind.FILES,
        PROGRAMME_ID,
        out,
        data_dir=history.data_dir,
        now=NOW,
        part_limit=64 * 1024 + 3000,
    )
    assert len(built.parts) > 1
    seen: list[str] = []
    for part in built.parts:
        assert part.stat().st_size <= 64 * 1024 + 3000
        with zipfile.ZipFile(part) as archive:
            lines = manifest(archive)
            assert {line["name"] for line in lines if line["status"] == "ok"} == set(
                archive.namelist()
            ) - {MANIFEST}
            seen += [line["name"] for line in lines]
    assert len(seen) == len(set(seen)) == 5


async def test_files_of_an_empty_programme_is_a_valid_zip_with_an_empty_manifest(
    db: Database, tmp_path: Path
) -> None:
    await load_programme(db, PROGRAMME_FILE)
    out = tmp_path / "files.zip"
    await build_export(db, ExportKind.FILES, PROGRAMME_ID, out, data_dir=tmp_path, now=NOW)
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == [MANIFEST]
        assert manifest(archive) == []


async def test_files_of_an_unknown_programme_is_refused(db: Database, tmp_path: Path) -> None:
    with pytest.raises(UnknownProgramme):
        await build_export(
            db, ExportKind.FILES, "nope", tmp_path / "x.zip", data_dir=tmp_path, now=NOW
        )


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("阶段报告.pdf", "阶段报告.pdf"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("a:b*c?.docx", "a_b_c_.docx"),
        ("CON.txt", "_CON.txt"),
        ("  ..  ", "file"),
        ("tab\there.txt", "tab_here.txt"),
    ],
)
def test_safe_name_keeps_letters_and_drops_what_unzip_tools_refuse(raw: str, safe: str) -> None:
    assert safe_name(raw) == safe


def test_unique_name_numbers_repeats_before_the_extension() -> None:
    taken: set[str] = set()
    assert [unique_name(n, taken) for n in ["a.pdf", "A.pdf", "a.pdf", "notes"]] == [
        "a.pdf",
        "A (2).pdf",
        "a (3).pdf",
        "notes",
    ]
