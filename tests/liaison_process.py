"""`liaison run` as a real process against the local fake Bot API, with JSON logs to read."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liaison.bot.sandbox.fake_bot_api import FakeBotApi
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN

START_SECONDS = 30.0


_GIVEN: set[int] = set()


def free_port() -> int:
    """A port free now, and never one handed out before in this test process."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port


@dataclass
class LiaisonProcess:
    """One `liaison run`; its stderr (JSON lines) goes to ``log_path``."""

    name: str
    url: str
    api: FakeBotApi
    folder: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    health_port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def log_path(self) -> Path:
        return self.folder / f"{self.name}.log"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIAISON_")}
        env.update(
            LIAISON_BOT_TOKEN=FAKE_TOKEN,
            LIAISON_API_BASE_URL=self.api.base_url,
            LIAISON_API_FILE_BASE_URL=self.api.file_base_url,
            LIAISON_DATABASE_URL=self.url,
            LIAISON_DATA_DIR=str(self.folder / "data"),
            LIAISON_SENDING__GLOBAL_RATE="1000",
            LIAISON_SENDING__PER_CHAT_INTERVAL="0",
            LIAISON_THROTTLE__BURST="100000",
            LIAISON_LOG_LEVEL="INFO",
            LIAISON_LOG_FORMAT="json",
            LIAISON_HEALTH__PORT=str(self.health_port),
        )
        env.update(self.extra_env)
        return env

    async def start(self, *args: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "liaison.bot.cli",
                "run",
                *args,
                env=self.env(),
                cwd=self.folder,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )

    def lines(self) -> list[dict[str, Any]]:
        """The JSON log lines so far (a line that is not JSON fails the test: it must be)."""
        if not self.log_path.exists():
            return []
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def said(self, fragment: str) -> bool:
        return any(fragment in line.get("message", "") for line in self.lines())

    async def wait_until_said(self, fragment: str, seconds: float = START_SECONDS) -> None:
        for _ in range(int(seconds / 0.05)):
            if self.said(fragment):
                return
            if self.process is not None and self.process.returncode is not None:
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.name} never said {fragment!r}: {self.tail()}")

    def tail(self) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> int:
        """SIGTERM, then the exit code (it must stop by itself within 30 s)."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 30)

    async def ensure_gone(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
