"""Submitting reports and papers through the bot: drafts, files, versions, the archive."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from telegram import Update

from liaison.bot.sandbox.fake_updates import FakeUser
from liaison.services.clock import FakeClock
from liaison.storage.enums import ReviewStatus
from liaison.storage.models import (
    Assignment,
    AuditEvent,
    Programme,
    StoredFile,
    Submission,
    SubmissionDraft,
)
from liaison.ui.callbacks import SubmissionButton
from liaison.ui.i18n import translator
from tests.conftest import ORGANIZER_CHEN, ORGANIZER_LIU, WANG, ZHANG, Harness, _harness

ZH = translator("zh_CN")
EN = translator("en")
PDF = b"%PDF-1.4\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 20 + b"%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 200
DUE = datetime(2026, 11, 7, 3, 0, tzinfo=UTC)  # 6 Nov 22:00 EST


async def assignment_id(h: Harness, key: str) -> int:
    async with h.db.read() as session:
        found = await session.scalar(select(Assignment.id).where(Assignment.key == key))
    assert found is not None
    return found


async def submissions(h: Harness) -> list[Submission]:
    async with h.db.read() as session:
        return list(await session.scalars(select(Submission).order_by(Submission.id)))


def document(
    h: Harness, user: FakeUser, file_id: str, name: str, data: bytes, *, caption: str | None = None
) -> Update:
    h.request.files[f"files/{file_id}"] = data
    return h.updates.document(
        user,
        file_id=file_id,
        file_name=name,
        mime_type="application/octet-stream",
        size=len(data),
        caption=caption,
    )


async def start(h: Harness, user: object = ZHANG, key: str = "stage-1") -> None:
    await h.enrol(user)  # type: ignore[arg-type]
    pick = SubmissionButton("p", await assignment_id(h, key)).encode()
    await h.send(h.updates.callback(user, pick))  # type: ignore[arg-type]


async def draft_id(h: Harness) -> int:
    async with h.db.read() as session:
        found = await session.scalar(select(SubmissionDraft.id))
    assert found is not None
    return found


async def test_report_lists_open_assignments_with_both_times(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.send(harness.updates.command(ZHANG, "/report"))
    call = harness.request.sent()[-1]
    assert "第一阶段报告" in call["text"]
    assert (
        ZH("due {when}").format(
            when=ZH.with_other_zone(DUE, "America/New_York", "Asia/Shanghai", full=True)
        )
        in call["text"]
    )
    buttons = call["reply_markup"]["inline_keyboard"]
    assert buttons[0][0]["callback_data"] == f"sb1:p:{await assignment_id(harness, 'stage-1')}"


async def test_closed_assignment_is_not_listed_and_a_forged_pick_is_refused(
    harness: Harness,
) -> None:
    await harness.enrol(ZHANG)
    await harness.send(harness.updates.command(ZHANG, "/research"))
    assert harness.last_text(ZHANG) == ZH("No pre-departure research is open for you right now.")
    closed = SubmissionButton("p", await assignment_id(harness, "pre-research")).encode()
    await harness.send(harness.updates.callback(ZHANG, closed))
    assert harness.request.sent("answerCallbackQuery")[-1]["text"] == ZH(
        "This assignment is closed; nothing more can be submitted to it."
    )
    await harness.send(harness.updates.callback(ZHANG, "sb1:p:99999"))
    assert harness.request.sent("answerCallbackQuery")[-1]["text"] == ZH(
        "This button is no longer valid."
    )


async def test_text_and_pdf_become_version_one_in_the_archive(harness: Harness) -> None:
    h = harness
    await start(h)
    await h.send(h.updates.text(ZHANG, "本阶段学习了现代服务业。"))
    await h.send(document(h, ZHANG, "doc-1", "阶段报告.pdf", PDF))
    preview = h.last_text(ZHANG)
    assert (
        ZH("Draft: {files}, {characters}.").format(
            files=ZH.plural("{count} file", "{count} files", 1).format(count=1),
            characters=ZH.plural("{count} character", "{count} characters", 12).format(count="12"),
        )
        in preview
    )
    keyboard = h.request.sent()[-1]["reply_markup"]["inline_keyboard"][0]
    submit = keyboard[0]["callback_data"]
    await h.send(h.updates.callback(ZHANG, submit))
    assert ZH("Submitted: {title}, version {version}.").format(
        title="第一阶段报告", version=1
    ) in h.last_text(ZHANG)
    (version,) = await submissions(h)
    assert version.version == 1 and not version.is_late
    assert version.text == "本阶段学习了现代服务业。"
    async with h.db.read() as session:
        (stored,) = await session.scalars(select(StoredFile))
        actions = set(await session.scalars(select(AuditEvent.action)))
    path = h.settings.data_dir / stored.archive_path
    assert stored.archive_path.startswith(
        f"archive/test-prog/person-{version.person_id}/stage-1/v1/"
    )
    assert path.read_bytes() == PDF
    assert stored.sha256 == hashlib.sha256(PDF).hexdigest() and stored.size == len(PDF)
    assert stored.original_name == "阶段报告.pdf"
    assert "阶段报告" not in path.name  # the user's file name never reaches the file system
    assert {"submission.draft_started", "submission.submitted"} <= actions


async def test_double_tap_on_submit_makes_one_version(harness: Harness) -> None:
    h = harness
    await start(h)
    await h.send(h.updates.text(ZHANG, "内容"))
    submit = SubmissionButton("s", await draft_id(h)).encode()
    await h.send(h.updates.callback(ZHANG, submit))
    await h.send(h.updates.callback(ZHANG, submit))
    assert len(await submissions(h)) == 1
    assert h.request.sent("answerCallbackQuery")[-1]["text"] == ZH(
        "This draft has already been submitted or cancelled."
    )


async def test_resubmitting_keeps_the_old_version(harness: Harness) -> None:
    h = harness
    for text in ("第一稿", "第二稿"):
        await start(h)
        await h.send(h.updates.text(ZHANG, text))
        await h.send(h.updates.callback(ZHANG, SubmissionButton("s", await draft_id(h)).encode()))
    first, second = await submissions(h)
    assert (first.version, first.text) == (1, "第一稿")
    assert (second.version, second.text) == (2, "第二稿")


async def test_late_submission_is_flagged_unless_extended(harness: Harness) -> None:
    h = harness
    await h.enrol(ORGANIZER_CHEN)
    h.clock.set(DUE + timedelta(hours=1))
    await start(h)
    await h.send(h.updates.text(ZHANG, "迟交"))
    await h.send(h.updates.callback(ZHANG, SubmissionButton("s", await draft_id(h)).encode()))
    assert ZH("It was submitted after the due time and is marked late.") in h.last_text(ZHANG)
    await h.send(h.updates.command(ORGANIZER_CHEN, "/extend 张伟 stage-1 2026-11-10"))
    assert "张伟" in h.last_text(ORGANIZER_CHEN)
    await start(h)
    await h.send(h.updates.text(ZHANG, "延期后再交"))
    await h.send(h.updates.callback(ZHANG, SubmissionButton("s", await draft_id(h)).encode()))
    late, on_time = await submissions(h)
    assert late.is_late and not on_time.is_late


async def test_wrong_type_empty_and_disguised_files_are_refused(harness: Harness) -> None:
    h = harness
    await start(h)
    await h.send(document(h, ZHANG, "exe", "tool.exe", b"MZ\x90\x00" * 50))
    formats = "pdf, docx, txt, jpg, png"
    assert h.last_text(ZHANG) == ZH(
        "This file type is not accepted here. Accepted formats: {formats}."
    ).format(formats=formats)
    await h.send(document(h, ZHANG, "fake", "report.pdf", PNG))
    assert h.last_text(ZHANG) == ZH(
        "This file's content does not match its name, so it was not accepted. "
        "Accepted formats: {formats}."
    ).format(formats=formats)
    await h.send(document(h, ZHANG, "empty", "empty.pdf", b""))
    assert h.last_text(ZHANG) == ZH("This file is empty. Please send it again.")
    async with h.db.read() as session:
        assert list(await session.scalars(select(StoredFile))) == []
        refused = list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "submission.file_refused")
            )
        )
    assert len(refused) == 3


async def test_oversized_file_is_explained_without_downloading(harness: Harness) -> None:
    h = harness
    await start(h)
    big = h.updates.document(
        ZHANG,
        file_id="big",
        file_name="big.pdf",
        mime_type="application/pdf",
        size=25 * 1024 * 1024,
    )
    await h.send(big)
    assert "20 MB" in h.last_text(ZHANG)
    assert h.request.sent("getFile") == []


async def test_same_file_twice_is_recognised(harness: Harness) -> None:
    h = harness
    await start(h)
    await h.send(document(h, ZHANG, "a", "a.pdf", PDF))
    await h.send(document(h, ZHANG, "b", "copy.pdf", PDF))
    assert h.last_text(ZHANG) == ZH("This file is already in your draft.")
    await h.send(h.updates.callback(ZHANG, SubmissionButton("s", await draft_id(h)).encode()))
    await start(h)
    await h.send(document(h, ZHANG, "c", "again.pdf", PDF))
    assert ZH("This is the same file as in your version {version}.").format(version=1) in h.texts(
        ZHANG
    )


async def test_album_updates_one_preview(harness: Harness) -> None:
    h = harness
    await start(h)
    for index in range(3):
        h.request.files[f"files/photo-{index}"] = b"\xff\xd8\xff\xe0" + bytes(200 + index)
        await h.send(h.updates.photo(ZHANG, file_id=f"photo-{index}", size=204, group="album-1"))
    previews = [t for t in h.texts(ZHANG) if "📝" in t]
    assert ZH.plural("{count} file", "{count} files", 3).format(count=3) in previews[-1]
    assert len(previews) == 3  # one sent, then edited by the 2nd and 3rd photo
    assert len(h.request.sent("editMessageText")) == 2


async def test_paper_asks_for_title_and_abstract(harness: Harness) -> None:
    h = harness
    h.clock.set(datetime(2027, 3, 1, 15, 0, tzinfo=UTC))
    await start(h, key="paper")
    assert h.last_text(ZHANG) == ZH("Please send the title of your paper.")
    await h.send(h.updates.text(ZHANG, "现代服务业与区域经济：北卡经验"))
    assert h.last_text(ZHANG) == ZH("Now send a short abstract (a few sentences).")
    await h.send(h.updates.text(ZHANG, "本文比较了两地服务业发展。"))
    await h.send(document(h, ZHANG, "paper", "paper.md", "# 调研报告\n正文".encode()))
    await h.send(h.updates.callback(ZHANG, SubmissionButton("s", await draft_id(h)).encode()))
    (paper,) = await submissions(h)
    assert paper.title == "现代服务业与区域经济：北卡经验"
    assert paper.abstract == "本文比较了两地服务业发展。"


async def test_restart_in_the_middle_of_a_draft_resumes_it(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    await start(h)
    await h.send(h.updates.text(ZHANG, "第一部分"))
    await h.app.shutdown()
    async for second in _harness(h.db, FakeClock(h.clock.now()), tmp_path):
        second.updates._update_ids = iter(range(70_000, 80_000))  # type: ignore[assignment]
        await second.send(second.updates.text(ZHANG, "第二部分"))
        await second.send(
            second.updates.callback(ZHANG, SubmissionButton("s", await draft_id(second)).encode())
        )
    await h.app.initialize()
    (version,) = await submissions(h)
    assert version.text == "第一部分\n\n第二部分"


async def test_cancel_drops_the_draft_and_its_files(harness: Harness) -> None:
    h = harness
    await start(h)
    await h.send(document(h, ZHANG, "a", "a.pdf", PDF))
    async with h.db.read() as session:
        (stored,) = await session.scalars(select(StoredFile))
    staged = h.settings.data_dir / stored.archive_path
    assert staged.exists()
    await h.send(h.updates.command(ZHANG, "/cancel"))
    assert h.last_text(ZHANG) == ZH("Draft discarded.")
    assert not staged.exists()
    async with h.db.read() as session:
        assert list(await session.scalars(select(SubmissionDraft))) == []


async def test_long_text_is_stored_whole(harness: Harness) -> None:
    h = harness
    await start(h)
    await h.send(h.updates.text(ZHANG, "字" * 4000))
    await h.send(h.updates.text(ZHANG, "续" * 3000))
    assert ZH.plural("{count} character", "{count} characters", 7002).format(
        count=ZH.number(7002)
    ) in h.last_text(ZHANG)
    await h.send(h.updates.callback(ZHANG, SubmissionButton("s", await draft_id(h)).encode()))
    (version,) = await submissions(h)
    assert version.text == "字" * 4000 + "\n\n" + "续" * 3000


async def test_forwarded_document_is_accepted_with_its_origin(harness: Harness) -> None:
    h = harness
    await start(h)
    h.request.files["files/fw"] = PDF
    update = h.updates.document(
        ZHANG, file_id="fw", file_name="fw.pdf", mime_type="application/pdf", size=len(PDF)
    )
    data = update.to_dict()
    data["message"]["forward_origin"] = {
        "type": "hidden_user",
        "sender_user_name": "同事",
        "date": 1_700_000_000,
    }
    data["update_id"] = 99_999
    await h.send(Update.de_json(data, h.app.bot))
    async with h.db.read() as session:
        (stored,) = await session.scalars(select(StoredFile))
    assert stored.origin is not None and stored.origin["sender_user_name"] == "同事"


async def test_submissions_lists_versions_and_returns_own_files_only(harness: Harness) -> None:
    h = harness
    await start(h)
    await h.send(document(h, ZHANG, "mine", "mine.pdf", PDF))
    await h.send(h.updates.callback(ZHANG, SubmissionButton("s", await draft_id(h)).encode()))
    async with h.db.transaction() as session:
        (version,) = await session.scalars(select(Submission))
        version.feedback, version.review_status = "结构清晰，请补充数据。", ReviewStatus.REVIEWED
        (stored,) = await session.scalars(select(StoredFile))
    await h.send(h.updates.command(ZHANG, "/submissions"))
    text = h.last_text(ZHANG)
    assert "第一阶段报告" in text and ZH("version {version}").format(version=1) in text
    assert "结构清晰，请补充数据。" in text and ZH("accepted") in text
    await h.send(h.updates.callback(ZHANG, SubmissionButton("f", stored.id).encode()))
    assert h.request.sent("sendDocument")[-1]["document"] == "mine"
    await h.enrol(WANG)
    await h.send(h.updates.callback(WANG, SubmissionButton("f", stored.id).encode()))
    assert len(h.request.sent("sendDocument")) == 1


async def test_edit_during_a_draft_gets_the_policy(harness: Harness) -> None:
    h = harness
    await start(h)
    typed = h.updates.text(ZHANG, "初稿")
    await h.send(typed)
    assert typed.message is not None
    await h.send(h.updates.edited(ZHANG, "改稿", message_id=typed.message.message_id))
    assert h.last_text(ZHANG) == ZH(
        "Edits are not applied to a draft. Send the correction as a new message, "
        "or /cancel and start again."
    )


async def test_organizers_hear_at_once_when_the_programme_says_so(harness: Harness) -> None:
    h = harness
    await h.enrol(ORGANIZER_CHEN)
    await h.enrol(ORGANIZER_LIU)
    async with h.db.transaction() as session:
        programme = await session.get_one(Programme, "test-prog")
        programme.settings = {
            **programme.settings,
            "digest": {**programme.settings["digest"], "submissions": "immediate"},
        }
    await start(h)
    await h.send(h.updates.text(ZHANG, "报告"))
    await h.send(h.updates.callback(ZHANG, SubmissionButton("s", await draft_id(h)).encode()))
    await h.dispatch()
    assert ZH("{name} submitted {title}, version {version}.").format(
        name="张伟", title="第一阶段报告", version=1
    ) in h.last_text(ORGANIZER_CHEN)
    assert EN("{name} submitted {title}, version {version}.").format(
        name="张伟", title="First stage report", version=1
    ) in h.last_text(ORGANIZER_LIU)


async def test_extend_with_an_unknown_assignment_lists_the_keys(harness: Harness) -> None:
    await harness.enrol(ORGANIZER_CHEN)
    await harness.send(harness.updates.command(ORGANIZER_CHEN, "/extend 张伟 stage-9 2026-11-10"))
    assert harness.last_text(ORGANIZER_CHEN) == ZH(
        "There is no assignment {key}. The assignments are: {keys}."
    ).format(key="stage-9", keys="pre-research, stage-1, paper")
