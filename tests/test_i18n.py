"""Catalogs are complete, placeholders match, and times read right in both languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from liaison.ui.i18n import LOCALES_DIR, choose_locale, translator

PLACEHOLDER = re.compile(r"\{[^{}]*\}")
TAG = re.compile(r"</?[a-z]+>")
ROOT = Path(__file__).parent.parent
KEYWORDS = {"t": None, "N_": None, "plural": (1, 2)}


def catalog(locale: str) -> object:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def source_messages() -> set[str]:
    found: set[str] = set()
    for package in ("bot", "handlers", "services"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, keywords=KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_catalog_has_every_source_text_translated(locale: str) -> None:
    cat = catalog(locale)
    entries = {m.id if isinstance(m.id, str) else m.id[0]: m for m in cat if m.id}  # type: ignore[attr-defined]
    missing = sorted(source_messages() - set(entries))
    assert missing == [], "run scripts/catalogs.sh and translate"
    for msgid, entry in entries.items():
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        assert not entry.fuzzy, f"fuzzy: {msgid!r}"
        assert all(strings), f"untranslated: {msgid!r}"
        for string in strings:
            assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(string)), msgid
            assert sorted(TAG.findall(msgid)) == sorted(TAG.findall(string)), msgid


def test_chinese_catalog_is_really_chinese() -> None:
    zh = translator("zh_CN")
    assert zh("Beijing") == "北京"
    assert re.search(r"[\u4e00-\u9fff]", zh("Change your time zone"))


@pytest.mark.parametrize(
    ("person", "telegram", "programme", "expected"),
    [
        ("en", "zh-hans", "zh_CN", "en"),
        (None, "en-US", "zh_CN", "en"),
        (None, "zh-hant", "en", "zh_CN"),
        (None, "fr", "en", "en"),
        (None, None, None, "zh_CN"),
    ],
)
def test_locale_is_profile_then_telegram_then_programme(
    person: str | None, telegram: str | None, programme: str | None, expected: str
) -> None:
    assert choose_locale(person, telegram, programme) == expected


def test_time_abroad_shows_beijing_time_beside_it_in_chinese() -> None:
    zh = translator("zh_CN")
    instant = datetime(2026, 9, 1, 13, 0, tzinfo=UTC)  # Tue 09:00 in New York
    assert (
        zh.with_other_zone(instant, "America/New_York", "Asia/Shanghai")
        == "周二 09:00（北京时间 21:00）"
    )


def test_time_abroad_in_english_names_the_other_day_when_it_differs() -> None:
    en = translator("en")
    instant = datetime(2026, 11, 3, 0, 30, tzinfo=UTC)  # Mon 19:30 in New York
    assert en.with_other_zone(instant, "America/New_York", "Asia/Shanghai") == en(
        "{local} ({city} time {other})"
    ).format(local="Mon 19:30", city="Beijing", other="Tue 08:30")


def test_same_zone_shows_no_second_time() -> None:
    zh = translator("zh_CN")
    instant = datetime(2026, 9, 1, 13, 0, tzinfo=UTC)
    assert zh.with_other_zone(instant, "Asia/Shanghai", "Asia/Shanghai") == "周二 21:00"
