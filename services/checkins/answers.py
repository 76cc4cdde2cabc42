"""Reading one answer against its question: buttons, typed words in two languages, digits."""

from __future__ import annotations

import unicodedata

from liaison.services.checkins.views import Question
from liaison.services.errors import DomainError
from liaison.storage.enums import QuestionKind

YES_WORDS = {"yes", "y", "是", "是的", "对", "有", "需要", "好"}
NO_WORDS = {"no", "n", "否", "不", "不是", "没有", "不需要", "无"}


class InvalidAnswer(DomainError):
    """The answer does not fit the question; ``code`` says how (empty, scale, yes_no, ...)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


def parse_answer(question: Question, raw: str | None, *, has_file: bool = False) -> str | None:
    """Checks one answer against its question; returns the value to store."""
    if question.kind in (QuestionKind.TEXT, QuestionKind.VOICE_OR_TEXT):
        if has_file:
            return raw
        if raw is None or not raw.strip():
            raise InvalidAnswer("empty")
        return raw
    if raw is None:
        raise InvalidAnswer("use_buttons")
    text = _normalise(raw)
    if question.kind is QuestionKind.SCALE:
        if text in {"1", "2", "3", "4", "5"}:
            return text
        raise InvalidAnswer("scale")
    if question.kind is QuestionKind.YES_NO:
        if text in YES_WORDS:
            return "yes"
        if text in NO_WORDS:
            return "no"
        raise InvalidAnswer("yes_no")
    for index, option in enumerate(question.options):
        names = {
            str(index),
            option["key"].lower(),
            _normalise(option["zh"]),
            _normalise(option["en"]),
        }
        if text in names:
            return option["key"]
    raise InvalidAnswer("use_buttons")
