"""Where a long export stands: written by the worker thread, read by whoever shows it."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Snapshot:
    stage: str
    done: int
    total: int
    detail: str


class Progress:
    """A thread-safe note of the current stage and count; readers poll it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = Snapshot("start", 0, 0, "")

    def set(self, stage: str, done: int = 0, total: int = 0, detail: str = "") -> None:
        with self._lock:
            self._now = Snapshot(stage, done, total, detail)

    def advance(self, detail: str = "") -> None:
        with self._lock:
            now = self._now
            self._now = Snapshot(now.stage, now.done + 1, now.total, detail or now.detail)

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._now
