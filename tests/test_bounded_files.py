"""Bounded files: caps per draft and per person per day, sizes checked before, during and
after a download, downloads streamed with a byte cap."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from telegram.error import NetworkError

from liaison.bot.downloads import CHUNK, StreamingDownloader
from liaison.services.files.archive import MAX_DOWNLOAD_BYTES, Incoming
from liaison.services.files.quota import (
    MAX_BYTES_PER_DAY,
    MAX_FILES_PER_DAY,
    MAX_FILES_PER_DRAFT,
    Cap,
    QuotaReached,
)
from liaison.services.people import load_actor
from liaison.services.submissions.drafts import start_draft
from liaison.services.submissions.intake import add_file
from liaison.storage.database import Database
from liaison.storage.models import Assignment, Person, StoredFile
from liaison.ui.downloads import FileTooLarge
from liaison.ui.errors import too_large_text
from liaison.ui.i18n import translator
from tests.conftest import ZHANG, Harness, seed
from tests.test_checkin_plan import enrol_cadres
from tests.test_submissions import PDF, document, start

ZH = translator("zh_CN")
NOW = datetime(2026, 10, 30, 12, 0, tzinfo=UTC)


async def zhang_with_a_draft(db: Database) -> tuple[int, int]:
    await seed(db)
    await enrol_cadres(db)
    async with db.read() as session:
        zhang = await session.scalar(select(Person).where(Person.name == "张伟"))
        assignment = await session.scalar(select(Assignment.id).where(Assignment.key == "stage-1"))
    assert zhang is not None and zhang.telegram_user_id is not None and assignment is not None
    actor = await load_actor(db, zhang.telegram_user_id)
    assert actor is not None
    draft = await start_draft(db, actor, assignment, NOW)
    return zhang.id, draft.id


def pdf(number: int) -> Incoming:
    content = PDF + f"% file {number}\n".encode()
    return Incoming(content, f"f{number}", f"u{number}", f"part-{number}.pdf", "application/pdf")


async def add(db: Database, tmp_path: Path, person_id: int, number: int, now: datetime) -> None:
    await add_file(
        db,
        tmp_path / "data",
        person_id,
        pdf(number),
        default_extension="bin",
        media_group_id=None,
        now=now,
    )


async def test_a_draft_takes_at_most_its_files_then_refuses(db: Database, tmp_path: Path) -> None:
    person, _ = await zhang_with_a_draft(db)
    for number in range(MAX_FILES_PER_DRAFT):
        await add(db, tmp_path, person, number, NOW)
    with pytest.raises(QuotaReached) as caught:
        await add(db, tmp_path, person, 99, NOW)
    assert caught.value.cap is Cap.DRAFT_FILES
    async with db.read() as session:
        count = await session.scalar(select(func.count()).select_from(StoredFile))
    assert count == MAX_FILES_PER_DRAFT


async def test_a_person_sends_at_most_the_daily_files_and_bytes(
    db: Database, tmp_path: Path
) -> None:
    person, _ = await zhang_with_a_draft(db)
    async with db.transaction() as session:
        session.add_all(
            StoredFile(
                person_id=person,
                telegram_file_id=f"old{i}",
                telegram_file_unique_id=f"old{i}",
                size=10,
                sha256="0" * 64,
                archive_path=f"archive/old{i}",
                created_at=NOW - timedelta(hours=23),
            )
            for i in range(MAX_FILES_PER_DAY)
        )
    with pytest.raises(QuotaReached) as caught:
        await add(db, tmp_path, person, 1, NOW)
    assert caught.value.cap is Cap.DAY_FILES
    await add(db, tmp_path, person, 1, NOW + timedelta(hours=1, seconds=1))  # a day later
    async with db.transaction() as session:
        session.add(
            StoredFile(
                person_id=person,
                telegram_file_id="big",
                telegram_file_unique_id="big",
                size=MAX_BYTES_PER_DAY - 10,
                sha256="1" * 64,
                archive_path="archive/big",
                created_at=NOW + timedelta(hours=2),
            )
        )
    with pytest.raises(QuotaReached) as caught:
        await add(db, tmp_path, person, 2, NOW + timedelta(hours=3))
    assert caught.value.cap is Cap.DAY_BYTES


async def test_a_full_draft_refuses_the_next_file_before_downloading_it(harness: Harness) -> None:
    h = harness
    await start(h)
    async with h.db.read() as session:
        zhang = await session.scalar(select(Person.id).where(Person.name == "张伟"))
    assert zhang is not None
    for number in range(MAX_FILES_PER_DRAFT):
        await add(h.db, h.settings.data_dir.parent, zhang, number, h.clock.now())
    h.request.clear()
    await h.send(document(h, ZHANG, "extra", "extra.pdf", PDF + b"% extra"))
    assert h.last_text(ZHANG) == ZH(
        "This draft already holds {count} files, the most one submission can take. "
        "Submit it, or send /cancel and start again."
    ).format(count=MAX_FILES_PER_DRAFT)
    assert [c.method for c in h.request.calls if c.method == "getFile"] == []


class Fetches:
    """Records what the handler asked the downloader for."""

    def __init__(self) -> None:
        self.locations: list[str] = []

    async def fetch(self, location: str, limit: int) -> bytes:
        self.locations.append(location)
        raise AssertionError("nothing should be downloaded")


async def test_a_file_of_unknown_size_is_checked_with_getfile_before_download(
    harness: Harness,
) -> None:
    h = harness
    await start(h)
    fetches = Fetches()
    h.app.bot_data.downloader = fetches
    h.request.file_sizes["huge"] = MAX_DOWNLOAD_BYTES + 1
    await h.send(
        h.updates.document(
            ZHANG, file_id="huge", file_name="huge.pdf", mime_type="application/pdf", size=None
        )
    )
    assert h.last_text(ZHANG) == too_large_text(ZH)
    assert [c.method for c in h.request.calls].count("getFile") == 1
    assert fetches.locations == []


async def test_a_file_no_one_gave_a_size_for_is_cut_off_at_the_limit(harness: Harness) -> None:
    h = harness
    await start(h)
    h.request.files["files/silent"] = b"%PDF-1.4\n" + b"0" * MAX_DOWNLOAD_BYTES
    h.request.file_sizes["silent"] = None
    await h.send(
        h.updates.document(
            ZHANG, file_id="silent", file_name="silent.pdf", mime_type="application/pdf", size=None
        )
    )
    assert h.last_text(ZHANG) == too_large_text(ZH)
    async with h.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(StoredFile)) == 0


def streaming(handler: httpx.MockTransport) -> StreamingDownloader:
    return StreamingDownloader(transport=handler)


class Endless(httpx.AsyncByteStream):
    """A body that never ends and says nothing of its length; counts what was read."""

    def __init__(self) -> None:
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            self.sent += CHUNK
            yield b"0" * CHUNK


async def test_the_streaming_download_stops_as_soon_as_it_passes_the_limit() -> None:
    body = Endless()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=body))
    with pytest.raises(FileTooLarge):
        await streaming(transport).fetch("https://files.example/bot123:SECRET/f", 5 * CHUNK)
    assert body.sent <= 6 * CHUNK


async def test_the_streaming_download_trusts_a_declared_length_over_the_limit() -> None:
    body = Endless()
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, headers={"content-length": "999999"}, stream=body)
    )
    with pytest.raises(FileTooLarge):
        await streaming(transport).fetch("https://files.example/f", 1000)
    assert body.sent == 0


async def test_the_streaming_download_returns_a_small_file_and_hides_the_url_on_errors(
    tmp_path: Path,
) -> None:
    ok = httpx.MockTransport(lambda request: httpx.Response(200, content=b"hello"))
    assert await streaming(ok).fetch("https://files.example/f", 10) == b"hello"
    missing = httpx.MockTransport(lambda request: httpx.Response(404))
    with pytest.raises(NetworkError) as caught:
        await streaming(missing).fetch("https://files.example/bot123:SECRET/f", 10)
    assert "SECRET" not in str(caught.value) and "404" in str(caught.value)
    local = tmp_path / "local.bin"
    local.write_bytes(b"x" * 11)
    with pytest.raises(FileTooLarge):
        await streaming(ok).fetch(str(local), 10)
    assert await streaming(ok).fetch(str(local), 11) == b"x" * 11
