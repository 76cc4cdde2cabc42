"""Texts safe for Telegram's HTML mode: escaping, and splitting under the 4,096 limit."""

from __future__ import annotations

from html import escape

from telegram.constants import MessageLimit

LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)

__all__ = ["LIMIT", "escape", "split_text"]


def split_text(text: str, limit: int = LIMIT) -> list[str]:
    """Splits at line breaks (or spaces) so no chunk passes the limit or cuts an entity.

    Texts here are built from escaped fragments joined by newlines, so a break between
    lines never falls inside an HTML tag or entity.
    """
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            amp = line.rfind("&", 0, cut)
            if amp != -1 and ";" not in line[amp:cut]:
                cut = amp
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:cut])
            line = line[cut:].lstrip(" ")
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks
