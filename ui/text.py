"""Texts safe for Telegram's HTML mode: escaping, and splitting under the 4,096 limit.

Telegram refuses a message longer than 4,096 characters (400 "message is too long").
``split_html`` cuts a longer text into parts that each fit, for handler replies and the
outbox sender alike:

- never inside a tag (``<a href="…">``) or an entity (``&amp;``);
- tags open at a cut are closed at the end of the part and opened again, with their
  attributes, at the start of the next, so each part is valid HTML on its own;
- preferably after a line break, else after a space, else between two characters;
- every character of the text is kept, in order (a line break at a cut ends its part).

Lengths are counted in UTF-16 code units of the HTML source, as Telegram counts them
(an emoji is two), and the source is never shorter than the text shown, so a part that
fits here fits there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto
from html import escape

from telegram.constants import MessageLimit

LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)

__all__ = ["LIMIT", "escape", "split_html", "units"]

_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(?:\s[^<>]*)?>|&#?[a-zA-Z0-9]{1,32};")


class _Kind(Enum):
    TEXT = auto()
    OPEN = auto()
    CLOSE = auto()


@dataclass(frozen=True)
class _Token:
    raw: str
    kind: _Kind
    name: str = ""

    @property
    def size(self) -> int:
        return units(self.raw)

    @property
    def closer(self) -> str:
        return f"</{self.name}>"


def units(text: str) -> int:
    """The length Telegram counts: UTF-16 code units (characters beyond U+FFFF count twice)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _tokens(text: str) -> list[_Token]:
    """Tags and entities as whole tokens; every other character a token of its own."""
    found: list[_Token] = []
    position = 0
    for match in _TOKEN.finditer(text):
        found.extend(_Token(ch, _Kind.TEXT) for ch in text[position : match.start()])
        raw = match.group(0)
        if raw.startswith("&"):
            found.append(_Token(raw, _Kind.TEXT))
        else:
            kind = _Kind.CLOSE if match.group(1) else _Kind.OPEN
            found.append(_Token(raw, kind, match.group(2).lower()))
        position = match.end()
    found.extend(_Token(ch, _Kind.TEXT) for ch in text[position:])
    return found


def _after(stack: tuple[_Token, ...], token: _Token) -> tuple[_Token, ...]:
    """The open tags after ``token``: an opening tag pushed, a closing one popped."""
    if token.kind is _Kind.OPEN:
        return (*stack, token)
    if token.kind is _Kind.CLOSE:
        for index in range(len(stack) - 1, -1, -1):
            if stack[index].name == token.name:
                return stack[:index] + stack[index + 1 :]
    return stack


def _closers(stack: tuple[_Token, ...]) -> str:
    return "".join(tag.closer for tag in reversed(stack))


@dataclass(frozen=True)
class _Cut:
    end: int  # index of the first token of the next part
    stack: tuple[_Token, ...]  # tags open at that point


def _choose(start: int, fits: _Cut, line: _Cut | None, space: _Cut | None) -> _Cut:
    """The best place to cut: a line break or a space in the part's second half, else any."""
    half = start + (fits.end - start) // 2
    for candidate in (line, space):
        if candidate is not None and candidate.end > half:
            return candidate
    return line or space or fits


def split_html(text: str, limit: int = LIMIT) -> list[str]:
    """Splits a Telegram HTML text into parts of at most ``limit`` units; see the module."""
    if units(text) <= limit:
        return [text]
    tokens = _tokens(text)
    parts: list[str] = []
    start = 0
    stack: tuple[_Token, ...] = ()
    while start < len(tokens):
        used = sum(tag.size for tag in stack)
        current: tuple[_Token, ...] = stack
        line: _Cut | None = None
        space: _Cut | None = None
        end = start
        while end < len(tokens):
            token = tokens[end]
            following = _after(current, token)
            if used + token.size + units(_closers(following)) > limit:
                break
            used += token.size
            current, end = following, end + 1
            if token.raw == "\n":
                line = _Cut(end, current)
            elif token.raw == " ":
                space = _Cut(end, current)
        if end == len(tokens):
            parts.append(_join(stack, tokens[start:end], current))
            break
        if end == start:
            # Not even one more token fits beside the tags to re-open: drop the formatting
            # carried over (a pathologically deep nesting), or a tag too long for any part.
            if stack:
                stack = ()
            else:
                start += 1
            continue
        cut = _choose(start, _Cut(end, current), line, space)
        cut = _before_opening_tags(tokens, start, cut)
        parts.append(_join(stack, tokens[start : cut.end], cut.stack))
        start, stack = cut.end, cut.stack
    return [part for part in parts if _visible(part).strip()] or [text[:0]]


def _before_opening_tags(tokens: list[_Token], start: int, cut: _Cut) -> _Cut:
    """Moves a cut back over opening tags just before it, so no part ends in ``<b></b>``."""
    end, stack = cut.end, cut.stack
    while end - 1 > start and tokens[end - 1].kind is _Kind.OPEN and stack:
        end, stack = end - 1, stack[:-1]
    return _Cut(end, stack)


def _join(opened: tuple[_Token, ...], body: list[_Token], still_open: tuple[_Token, ...]) -> str:
    return "".join(tag.raw for tag in opened) + "".join(t.raw for t in body) + _closers(still_open)


def _visible(part: str) -> str:
    return _TOKEN.sub(lambda m: "x" if m.group(0).startswith("&") else "", part)
