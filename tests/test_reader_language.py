"""The reader's language in the apology, and the cadre's captions kept with their files."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from telegram import Update
from telegram.ext import CommandHandler

from liaison.bot.sandbox.fake_updates import FakeUser
from liaison.storage.models import StoredFile, SubmissionDraft
from liaison.ui.i18n import translator
from tests.conftest import LI, STRANGER, WANG, ZHANG, Harness
from tests.test_submissions import PDF, document, start

EN = translator("en")
ZH = translator("zh_CN")
APOLOGY = "Sorry, something went wrong on our side. Please try again in a minute."
# Wang's roster locale is English; here his Telegram app is set to Chinese.
WANG_ON_A_CHINESE_PHONE = FakeUser(WANG.id, WANG.first_name, "zh-hans")


async def explode(update: Any, context: Any) -> None:
    raise RuntimeError("boom")


async def test_error_apology_for_an_english_user_is_in_english(harness: Harness) -> None:
    await harness.enrol(WANG)
    harness.app.add_handler(CommandHandler("explode", explode), group=1)
    await harness.send(harness.updates.command(WANG, "/explode"), expect_error=True)
    assert harness.last_text(WANG) == EN(APOLOGY)


async def test_error_apology_follows_the_stored_locale_over_telegrams(harness: Harness) -> None:
    await harness.enrol(WANG)
    harness.app.add_handler(CommandHandler("explode", explode), group=1)
    await harness.send(
        harness.updates.command(WANG_ON_A_CHINESE_PHONE, "/explode"), expect_error=True
    )
    assert harness.last_text(WANG) == EN(APOLOGY)


async def test_error_apology_for_a_stranger_follows_telegrams_language(harness: Harness) -> None:
    # Before the throttle (group -2) and the guard (group -1): a stranger hits the error.
    harness.app.add_handler(CommandHandler("start", explode), group=-3)
    await harness.send(harness.updates.command(STRANGER, "/start"), expect_error=True)
    assert harness.texts(STRANGER).count(EN(APOLOGY)) == 1


async def test_error_apology_without_locale_or_language_uses_the_programmes(
    harness: Harness,
) -> None:
    silent = FakeUser(LI.id, LI.first_name, None)
    await harness.enrol(silent)
    harness.app.add_handler(CommandHandler("explode", explode), group=1)
    await harness.send(harness.updates.command(silent, "/explode"), expect_error=True)
    assert harness.last_text(silent) == ZH(APOLOGY)


async def _draft(h: Harness) -> SubmissionDraft:
    async with h.db.read() as session:
        found = await session.scalar(select(SubmissionDraft))
    assert found is not None
    return found


async def test_document_caption_is_kept_in_the_draft_and_counted(harness: Harness) -> None:
    h = harness
    await start(h)
    caption = "第一阶段小结，请审阅。"
    await h.send(document(h, ZHANG, "cap-doc", "report.pdf", PDF, caption=caption))
    assert (await _draft(h)).text == caption
    characters = ZH.plural("{count} character", "{count} characters", len(caption)).format(
        count=ZH.number(len(caption))
    )
    assert characters in h.last_text(ZHANG)


async def test_photo_caption_is_added_after_the_text_already_written(harness: Harness) -> None:
    h = harness
    await start(h)
    await h.send(h.updates.text(ZHANG, "正文"))
    h.request.files["files/cap-photo"] = b"\xff\xd8\xff\xe0" + bytes(300)
    photo = h.updates.photo(ZHANG, file_id="cap-photo", size=304)
    payload = photo.to_dict()
    payload["message"]["caption"] = "现场照片"
    captioned = Update.de_json(payload, h.app.bot)
    assert captioned is not None
    await h.send(captioned)
    assert (await _draft(h)).text == "正文\n\n现场照片"


async def test_message_with_empty_text_and_a_file_is_a_file(harness: Harness) -> None:
    h = harness
    await start(h)
    payload = document(h, ZHANG, "empty-text", "report.pdf", PDF).to_dict()
    payload["message"]["text"] = ""
    update = Update.de_json(payload, h.app.bot)
    assert update is not None
    await h.send(update)
    async with h.db.read() as session:
        files = list(await session.scalars(select(StoredFile.original_name)))
    assert files == ["report.pdf"]
    assert (await _draft(h)).text == ""
