"""Reading a test result as typed or imported: a score in the test's range, or a level."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from liaison.services.programmes.settings import SelectionSettings, TestSettings
from liaison.services.selection.errors import ScoreOutOfRange, UnknownLevel, UnknownTest


@dataclass(frozen=True)
class Reading:
    """A value as stored: its text (a score, or a level's key) and what ranks it."""

    value: str
    rank_value: float


def _clean(text: str) -> str:
    # Full-width digits and letters (８６．５, ＢＦＴ) read as their ASCII forms.
    return unicodedata.normalize("NFKC", text).strip()


def find_test(selection: SelectionSettings, key: str) -> TestSettings:
    test = selection.test(_clean(key).lower())
    if test is None:
        raise UnknownTest(key, [t.key for t in selection.tests])
    return test


def read_value(test: TestSettings, text: str) -> Reading:
    """The stored form of a value for this test; raises a domain error naming what it takes."""
    cleaned = _clean(text)
    if test.is_levelled:
        wanted = cleaned.casefold()
        for position, level in enumerate(test.levels, start=1):
            if wanted in {level.key.casefold(), level.zh.casefold(), level.en.casefold()}:
                return Reading(level.key, float(position))
        raise UnknownLevel(
            text, test.title_zh, test.title_en, [(level.zh, level.en) for level in test.levels]
        )
    assert test.low is not None and test.high is not None
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or not test.low <= number <= test.high:
        raise ScoreOutOfRange(text, test.title_zh, test.title_en, test.low, test.high)
    shown = format(number.normalize(), "f")
    return Reading(shown, float(number))


def shown_value(test: TestSettings | None, value: str) -> tuple[str, str]:
    """A stored value as people read it, in Chinese and English (a level's names)."""
    if test is not None:
        for level in test.levels:
            if level.key == value:
                return level.zh, level.en
    return value, value
