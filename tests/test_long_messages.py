"""No message too long: texts over 4,096 characters go out in safe, valid parts, in order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN, RecordingRequest
from liaison.sender.parts import send_in_parts
from liaison.services.digest import build_digest, plan_digests
from liaison.services.people import actor_by_id
from liaison.storage.enums import Role
from liaison.storage.models import Person
from liaison.ui.digest import render_digest
from liaison.ui.i18n import translator
from liaison.ui.text import LIMIT, split_html, units
from tests.conftest import ORGANIZER_CHEN, PROGRAMME_ID, Harness

ZH = translator("zh_CN")
# Telegram's HTML mode: the tags it parses (span only as a spoiler).
TELEGRAM_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "code",
    "pre",
    "a",
    "tg-spoiler",
    "span",
    "blockquote",
}


class _Checker(HTMLParser):
    """Parses one part as Telegram would: known tags only, balanced and nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in TELEGRAM_TAGS, tag
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, (self.open, tag)
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def visible(html: str) -> str:
    """The text a reader sees; fails unless ``html`` is valid, balanced Telegram HTML."""
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert checker.open == [], f"unclosed tags {checker.open}"
    assert "<" not in "".join(checker.text) or "&lt;" in html
    return "".join(checker.text)


def assert_safe_parts(text: str, parts: list[str], *, several: bool = True) -> None:
    assert len(parts) > 1 or not several
    for part in parts:
        assert len(part) <= LIMIT and units(part) <= LIMIT
    assert "".join(visible(part) for part in parts) == visible(text)


def test_a_long_text_is_cut_at_lines_with_tags_closed_and_reopened() -> None:
    line = '• <b>张伟 &amp; Co</b> — <a href="https://example.org/x?a=1&amp;b=2">链接 😀</a>'
    text = "<blockquote>" + "\n".join(f"{i} {line}" for i in range(400)) + "</blockquote>"
    parts = split_html(text)
    assert_safe_parts(text, parts)
    for part in parts:
        assert part.startswith("<blockquote>") and part.endswith("</blockquote>")
    # Every cut fell after a whole line: each part but the last ends its last line.
    assert all(part.endswith("\n</blockquote>") for part in parts[:-1])


def test_a_long_line_without_breaks_is_cut_between_characters_never_in_an_entity() -> None:
    text = "<i>" + "字&lt;&amp;" * 3000 + "</i>"
    parts = split_html(text)
    assert_safe_parts(text, parts)
    for part in parts:
        body = part.removeprefix("<i>").removesuffix("</i>")
        assert "<" not in body and body.count("&") == body.count(";")


def test_emoji_count_twice_as_telegram_counts_them() -> None:
    text = "😀" * 3000
    parts = split_html(text)
    assert [units(part) for part in parts] == [4096, 1904]


def test_a_text_under_the_limit_is_one_part_unchanged() -> None:
    assert split_html("<b>x</b> &amp;") == ["<b>x</b> &amp;"]


async def test_the_keyboard_goes_under_the_last_part_only() -> None:
    request = RecordingRequest()
    bot = Bot(FAKE_TOKEN, request=request, get_updates_request=request)
    await bot.initialize()

    class NoPace:
        async def wait(self, chat_id: int) -> None:
            return None

    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="x")]])
    text = "\n".join(f"line {i} " + "x" * 60 for i in range(200))
    await send_in_parts(bot, NoPace(), 42, text, keyboard)
    sent = request.sent()
    assert len(sent) == len(split_html(text)) > 1
    assert [("reply_markup" in params) for params in sent] == [False] * (len(sent) - 1) + [True]
    assert "".join(str(params["text"]) for params in sent) == text


DIGEST_AT = datetime(2026, 11, 8, 0, 0, tzinfo=UTC)  # 08:00 in Beijing, both tasks overdue


async def test_a_200_cadre_digest_arrives_whole_in_valid_parts(harness: Harness) -> None:
    h = harness
    await h.enrol(ORGANIZER_CHEN)
    async with h.db.transaction() as session:
        session.add_all(
            Person(
                programme_id=PROGRAMME_ID,
                # Names with markup characters: escaped, they become entities to keep whole.
                name=f"学员{i:03d}" if i % 10 else f"R&D <{i}> Lee",
                phone=f"+1919555{i:04d}",
                role=Role.CADRE,
                telegram_user_id=30_000 + i,
                telegram_chat_id=30_000 + i,
                enrolled_at=DIGEST_AT - timedelta(days=30),
                extra={},
            )
            for i in range(200)
        )
    h.clock.set(DIGEST_AT)
    assert await plan_digests(h.db, DIGEST_AT) == 1
    h.request.clear()
    assert (await h.dispatch()).sent == 1
    parts = h.texts(ORGANIZER_CHEN)
    async with h.db.read() as session:
        organizer = await session.scalar(
            select(Person.id).where(Person.telegram_user_id == ORGANIZER_CHEN.id)
        )
    assert organizer is not None
    reader = await actor_by_id(h.db, organizer)
    assert reader is not None
    digest = await build_digest(h.db, PROGRAMME_ID, DIGEST_AT)
    # The digest groups overdue work by assignment: every cadre missing, on one line each.
    missing = [name for group in digest.overdue for name in group.missing]
    assert len(missing) >= 200 and len(set(missing)) == 200
    text = render_digest(digest, reader, ZH)
    start = next(i for i, part in enumerate(parts) if part.startswith("📊"))
    parts = parts[start : start + len(split_html(text))]
    # Grouped by assignment, 200 cadres may fit one message; whatever the length, the
    # text arrives whole, in valid parts.
    assert_safe_parts(text, parts, several=False)
    assert "".join(parts).count("R&amp;D &lt;") == text.count("R&amp;D &lt;") >= 20


@pytest.mark.parametrize("limit", [50, 64, 100])
def test_small_limits_still_give_valid_parts(limit: int) -> None:
    text = json.dumps({"k": "v"}) + " <b>bold <i>both &amp; more</i> end</b> " * 20
    text = text.replace("{", "").replace("}", "")
    parts = split_html(text, limit)
    assert all(units(part) <= limit for part in parts)
    assert "".join(visible(part) for part in parts) == visible(text)
