"""Benchmark: the workbook and the file archive for a large cohort, and the event loop meanwhile.

What it measures, on SQLite in a temporary folder:
- the workbook for 100 cadres with 100 check-in runs each (10,000 rows, 4 answers each)
  and 3 versions of 2 assignments each: time to gather, time to write, file size;
- the ZIP of 200 files of 1 MB: time, and peak memory (files are streamed, so memory
  must not grow with the archive);
- the event loop's worst delay while both are built (a 50 ms ticker): what the bot's
  other users would feel.

Run: .venv/bin/python -m benchmarks.exports  (prints its numbers; nothing is written)
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from liaison.services.exports.kinds import ExportKind
from liaison.services.programmes.loading import load_programme
from liaison.storage.base import Base
from liaison.storage.database import Database
from liaison.storage.enums import RunState
from liaison.storage.models import (
    Assignment,
    Person,
    StoredFile,
    Submission,
    Survey,
    SurveyAnswer,
    SurveyRun,
)
from liaison.ui.exports import build_export

ROOT = Path(__file__).resolve().parent.parent
CADRES, RUNS, FILES, FILE_MB = 100, 100, 200, 1
START = datetime(2026, 10, 1, 0, 0, tzinfo=UTC)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def fill(db: Database, data_dir: Path) -> None:
    await load_programme(db, ROOT / "tests" / "data" / "programme.yaml")
    async with db.transaction() as session:
        survey = await session.scalar(select(Survey))
        assignments = list(await session.scalars(select(Assignment)))
        assert survey is not None
        people = [
            Person(programme_id="test-prog", name=f"学员{i:03}", phone=f"+861380000{i:04}")
            for i in range(CADRES)
        ]
        session.add_all(people)
        await session.flush()
        for person in people:
            runs = [
                SurveyRun(
                    survey_id=survey.id,
                    person_id=person.id,
                    slot_date=(START + timedelta(days=day)).date(),
                    slot_at=START + timedelta(days=day),
                    closes_at=START + timedelta(days=day, hours=24),
                    timezone="America/New_York",
                    state=RunState.COMPLETED,
                    completed_at=START + timedelta(days=day, hours=2),
                )
                for day in range(RUNS)
            ]
            session.add_all(runs)
            await session.flush()
            for run in runs:
                for key, value in (
                    ("wellbeing", "4"),
                    ("progress", "本周进展顺利，完成了调研访谈。" * 3),
                    ("need_help", "no"),
                    ("remarks", "无"),
                ):
                    session.add(SurveyAnswer(run_id=run.id, question_key=key, value=value))
            for assignment in assignments[:2]:
                for version in (1, 2, 3):
                    session.add(
                        Submission(
                            assignment_id=assignment.id,
                            person_id=person.id,
                            version=version,
                            text="报告正文" * 200,
                            submitted_at=START + timedelta(days=version),
                        )
                    )
        await session.flush()
        submissions = list(await session.scalars(select(Submission).limit(FILES)))
        block = os.urandom(FILE_MB * 1024 * 1024)
        for index, submission in enumerate(submissions):
            relative = f"archive/test-prog/f{index}.bin"
            data = block[index:] + block[:index]
            (data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            (data_dir / relative).write_bytes(data)
            session.add(
                StoredFile(
                    submission_id=submission.id,
                    person_id=submission.person_id,
                    telegram_file_id=f"t{index}",
                    telegram_file_unique_id=f"u{index}",
                    original_name="报告.pdf",
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    archive_path=relative,
                )
            )


async def timed(label: str, work: object) -> float:
    worst = 0.0
    running = True

    async def ticker() -> None:
        nonlocal worst
        while running:
            before = time.perf_counter()
            await asyncio.sleep(0.05)
            worst = max(worst, time.perf_counter() - before - 0.05)

    tick = asyncio.create_task(ticker())
    started = time.perf_counter()
    await work  # type: ignore[misc]
    elapsed = time.perf_counter() - started
    running = False
    await tick
    print(f"{label}: {elapsed:.1f} s, worst event-loop delay {worst * 1000:.0f} ms")  # noqa: T201
    return elapsed


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        db = Database.from_url(f"sqlite+aiosqlite:///{root / 'bench.db'}")
        async with db.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        started = time.perf_counter()
        await fill(db, root)
        print(f"filled in {time.perf_counter() - started:.1f} s; rss {rss_mb():.0f} MB")  # noqa: T201
        now = datetime.now(UTC)
        for kind, name in ((ExportKind.WORKBOOK, "w.xlsx"), (ExportKind.FILES, "f.zip")):
            before = rss_mb()
            await timed(
                kind.value,
                build_export(db, kind, "test-prog", root / name, data_dir=root, now=now),
            )
            size = (root / name).stat().st_size / 1024 / 1024
            print(f"  {name}: {size:.1f} MB; peak rss {before:.0f} → {rss_mb():.0f} MB")  # noqa: T201
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
