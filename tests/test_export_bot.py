"""/export and /calendar through the real Application and the recording transport."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from docx import Document
from icalendar import Calendar
from openpyxl import load_workbook
from sqlalchemy import select

from liaison.bot.sandbox.fake_updates import FakeUser
from liaison.handlers import exports as export_handlers
from liaison.services.clock import FakeClock
from liaison.services.exports.kinds import ExportKind
from liaison.services.exports.progress import Snapshot
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, Role
from liaison.storage.models import AuditEvent, OutboxMessage, Person, StoredFile
from liaison.ui.callbacks import ExportButton
from liaison.ui.export_screens import (
    BUTTONS,
    MENU_ORDER,
    done_text,
    mail_queued_text,
    progress_text,
    queued_text,
)
from liaison.ui.i18n import translator
from tests.conftest import ORGANIZER_CHEN, ORGANIZER_LIU, ZHANG, Harness, _harness
from tests.history import build_history

ZH = translator("zh_CN")
EN = translator("en")
# The harness runs the Application without starting it; background builds are awaited here.
pytestmark = pytest.mark.filterwarnings("ignore:Tasks created via:UserWarning")


@pytest.fixture
async def h(sqlite_db: Database, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Harness]:
    await build_history(sqlite_db, tmp_path / "data")
    async for harness in _harness(sqlite_db, clock, tmp_path):
        yield harness


async def press(h: Harness, user: FakeUser, action: str, kind: ExportKind) -> None:
    await h.send(h.updates.callback(user, ExportButton(action, kind).encode()))
    await h.app.bot_data.exports.drain()
    assert h.errors == []


def edits(h: Harness, chat_id: int) -> list[str]:
    return [
        str(c.params["text"])
        for c in h.request.calls
        if c.method == "editMessageText" and int(c.params["chat_id"]) == chat_id
    ]


async def test_export_by_a_cadre_is_refused_politely(h: Harness) -> None:
    await h.send(h.updates.command(ZHANG, "/export"))
    assert h.last_text(ZHANG) == ZH("Only organizers can do this.")
    await h.send(h.updates.callback(ZHANG, ExportButton("b", "workbook").encode()))
    assert h.request.sent("answerCallbackQuery")[-1]["text"] == ZH("Only organizers can do this.")
    assert h.request.documents() == []


async def test_export_menu_offers_each_export_as_a_button(h: Harness) -> None:
    await h.send(h.updates.command(ORGANIZER_CHEN, "/export"))
    keyboard = h.request.sent()[-1]["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == [ZH(BUTTONS[k]) for k in MENU_ORDER]
    assert [row[0]["callback_data"] for row in keyboard] == [
        ExportButton("b", k).encode() for k in MENU_ORDER
    ]


async def test_export_workbook_round_trip_with_progress_edits_and_the_document(
    h: Harness,
) -> None:
    chat = ORGANIZER_CHEN.id
    await press(h, ORGANIZER_CHEN, "b", ExportKind.WORKBOOK)
    first = h.request.texts(chat)[0]
    assert first == progress_text(ExportKind.WORKBOOK, Snapshot("start", 0, 0, ""), ZH)
    shown = edits(h, chat)
    assert shown[-2] == progress_text(ExportKind.WORKBOOK, Snapshot("send", 0, 0, ""), ZH)
    ((name, data),) = h.request.documents(chat)
    assert name.endswith(".xlsx")
    assert shown[-1] == done_text(ExportKind.WORKBOOK, 1, len(data), [], ZH)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames[0] == ZH("People")
    people = book[ZH("People")]
    async with h.db.read() as session:
        roster = {p.name: p for p in await session.scalars(select(Person))}
    rows = list(people.iter_rows(min_row=2, values_only=True))
    assert {row[0] for row in rows} == set(roster)
    header = [c.value for c in people[1]]
    for row in rows:
        assert row[header.index(ZH("Phone"))] == roster[str(row[0])].phone
    async with h.db.read() as session:
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "export.workbook")
        )
    assert event is not None and event.actor_person_id == roster["陈组织"].id
    assert event.details["sent"] is True
    assert not any((h.settings.data_dir / "exports").iterdir())


async def test_export_report_round_trip_in_the_organizers_language_and_zone(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Refresh the progress message at every pass of the loop, so its stages show.
    monkeypatch.setattr(export_handlers, "PROGRESS_EVERY", 0.01)
    chat = ORGANIZER_LIU.id
    await press(h, ORGANIZER_LIU, "b", ExportKind.REPORT)
    assert h.request.texts(chat)[0] == progress_text(
        ExportKind.REPORT, Snapshot("start", 0, 0, ""), EN
    )
    shown = edits(h, chat)
    assert shown[-2] == progress_text(ExportKind.REPORT, Snapshot("send", 0, 0, ""), EN)
    ((name, data),) = h.request.documents(chat)
    assert name.endswith(".docx") and name.startswith("test-prog-report-")
    assert shown[-1] == done_text(ExportKind.REPORT, 1, len(data), [], EN)
    document = Document(io.BytesIO(data))
    headings = [p.text for p in document.paragraphs if p.style and p.style.name == "Heading 1"]
    async with h.db.read() as session:
        cadres = list(
            await session.scalars(
                select(Person.name).where(Person.role == Role.CADRE).order_by(Person.id)
            )
        )
        liu = await session.scalar(select(Person).where(Person.name == "Organizer Liu"))
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "export.report"))
    # In Liu's language (English), one evaluation page per cadre of the cohort.
    assert headings[0] == EN("Programme summary")
    assert [h for h in headings if h.startswith("Evaluation")] == [
        EN("Evaluation: {name}").format(name=name) for name in cadres
    ]
    assert liu is not None and event is not None and event.actor_person_id == liu.id
    assert event.details["sent"] is True
    # The cover's time is in Liu's own zone.
    cover = "\n".join(p.text for p in document.paragraphs[:14])
    assert EN("Generated on {when} ({city} time)").split("{")[0] in cover
    assert f"({EN.city(liu.timezone or 'Asia/Shanghai')} " in cover


async def test_report_button_waits_its_turn_behind_another_export(h: Harness) -> None:
    desk = h.app.bot_data.exports
    async with desk.turn():
        await h.send(h.updates.callback(ORGANIZER_CHEN, ExportButton("b", "report").encode()))
        assert h.request.documents() == []
    await desk.drain()
    assert h.request.texts(ORGANIZER_CHEN.id)[0] == queued_text(ExportKind.REPORT, ZH)
    ((name, data),) = h.request.documents(ORGANIZER_CHEN.id)
    assert name.endswith(".docx")
    headings = [p.text for p in Document(io.BytesIO(data)).paragraphs]
    assert ZH("Programme summary") in headings


async def test_export_files_past_the_upload_limit_arrive_as_several_zips(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_handlers, "UPLOAD_LIMIT", 64 * 1024 + 3000)
    await press(h, ORGANIZER_LIU, "b", ExportKind.FILES)
    documents = h.request.documents(ORGANIZER_LIU.id)
    assert len(documents) > 1
    names: list[str] = []
    for _, data in documents:
        assert len(data) <= 64 * 1024 + 3000
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            manifest = archive.read("manifest.csv").decode("utf-8-sig").splitlines()[1:]
            names += [line.split(",")[0] for line in manifest]
    async with h.db.read() as session:
        stored = list(await session.scalars(select(StoredFile)))
    assert len(names) == len(stored)
    assert (
        EN("{count} file could not be found in the archive; the manifest lists it:")
        .replace("{count}", "1")
        .split(":")[0]
        in edits(h, ORGANIZER_LIU.id)[-1]
    )


async def test_export_too_large_for_telegram_is_offered_by_e_mail(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_handlers, "UPLOAD_LIMIT", 1024)
    h.app.bot_data.mail_enabled = True
    await press(h, ORGANIZER_CHEN, "b", ExportKind.WORKBOOK)
    assert h.request.documents() == []
    last = [c for c in h.request.calls if c.method == "editMessageText"][-1]
    button = last.params["reply_markup"]["inline_keyboard"][0][0]
    assert button["callback_data"] == ExportButton("m", ExportKind.WORKBOOK).encode()
    await press(h, ORGANIZER_CHEN, "m", ExportKind.WORKBOOK)
    assert h.last_text(ORGANIZER_CHEN) == mail_queued_text(
        "chen@jinjiang.gov.cn", ExportKind.WORKBOOK, ZH
    )
    async with h.db.read() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row is not None and row.kind is OutboxKind.EMAIL_EXPORT
    assert row.payload["export"] == "workbook"


async def test_export_by_e_mail_without_mail_set_up_is_refused(h: Harness) -> None:
    await h.send(h.updates.callback(ORGANIZER_CHEN, ExportButton("m", "workbook").encode()))
    assert h.request.sent("answerCallbackQuery")[-1]["text"] == ZH(
        "Sending by e-mail is not set up on this installation."
    )


async def test_export_second_request_waits_its_turn_and_is_told(h: Harness) -> None:
    desk = h.app.bot_data.exports
    async with desk.turn():
        await h.send(h.updates.callback(ORGANIZER_LIU, ExportButton("b", "calendar").encode()))
        assert h.request.documents() == []
    await desk.drain()
    assert h.request.texts(ORGANIZER_LIU.id)[0] == queued_text(ExportKind.CALENDAR, EN)
    assert edits(h, ORGANIZER_LIU.id)[-1].startswith("✅")
    ((name, data),) = h.request.documents(ORGANIZER_LIU.id)
    assert name.endswith(".ics") and Calendar.from_ical(data).walk("VEVENT")


async def test_calendar_command_sends_the_cadre_an_ics_with_their_deadlines(h: Harness) -> None:
    await h.send(h.updates.command(ZHANG, "/calendar"))
    ((name, data),) = h.request.documents(ZHANG.id)
    assert name == "test-prog.ics"
    uids = {str(e["uid"]) for e in Calendar.from_ical(data).walk("VEVENT")}
    async with h.db.read() as session:
        zhang = await session.scalar(select(Person).where(Person.name == "张伟"))
    assert zhang is not None
    assert f"deadline-test-prog-stage-1-p{zhang.id}@liaison" in uids
    assert not any(uid.startswith("extension-") for uid in uids)
