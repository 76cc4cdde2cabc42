"""The offline demo: talk to the bot as any person of the sample programme, no token needed.

The real Application runs over the recording transport; a fake clock starts inside the
sample programme's practicum, after five weeks of history played through the real
services (bot/sandbox/history.py), so schedules, check-ins, deadlines, the digest, the
cohort, dossiers and reviews all have something to show; or, with the selection scene, on
the morning of the final selection, the 23 candidates shortlisted and their results
recorded. Lines typed are sent as that person's messages; `:` lines steer the demo.
"""

from __future__ import annotations

import asyncio
import html
import math
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from liaison.bot.application import LiaisonApplication, build_application
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN, Call, RecordingRequest
from liaison.bot.sandbox.fake_updates import FakeUser, UpdateFactory
from liaison.bot.sandbox.history import ENROLLED_AT, build_history, fingerprint
from liaison.bot.settings import Settings
from liaison.services.clock import FakeClock
from liaison.services.planning import plan_all
from liaison.services.programmes.loading import load_programme
from liaison.services.roster import import_roster
from liaison.storage.base import Base
from liaison.storage.database import Database
from liaison.storage.enums import PersonStatus, Role
from liaison.storage.models import Person

EXAMPLES = Path(str(files("liaison.examples")))
PROGRAMME_FILE = EXAMPLES / "jinjiang-2014.yaml"
ROSTER_FILE = EXAMPLES / "jinjiang-2014-roster.csv"
PROGRAMME_ID = "jinjiang-2014"
# Tuesday 28 October 2014, 19:55 in North Carolina: five minutes before a check-in.
DEMO_START = datetime(2014, 10, 28, 23, 55, tzinfo=UTC)
# Tuesday 29 July 2014, 09:00 in Chengdu: the final selection meeting is at 15:00.
SELECTION_START = datetime(2014, 7, 29, 1, 0, tzinfo=UTC)
SCENES = {"practicum": DEMO_START, "selection": SELECTION_START}
HELP = """Demo commands:
  :who              list the people you can be
  :as NAME          talk as that person (e.g. :as 王思远, :as 何嘉文)
  :tap N            press button N of the last message you got
  :wait 10m|2h|1d   let time pass; scheduled messages are planned and sent
  :file PATH        send a file from disk as a document
  :time             show the demo's clock
  :quit             leave
Anything else is sent to the bot as a message, e.g. /schedule week or /checkin."""
_TAGS = re.compile(r"<[^>]+>")
_DURATION = re.compile(r"^(\d+)\s*([mhd])$")


def plain(text: str) -> str:
    return html.unescape(_TAGS.sub("", text))


@dataclass
class Persona:
    person_id: int
    name: str
    role: str
    user: FakeUser


@dataclass
class Demo:
    app: LiaisonApplication
    request: RecordingRequest
    db: Database
    clock: FakeClock
    settings: Settings
    people: dict[str, Persona]
    out: Callable[[str], None]
    current: Persona | None = None
    buttons: dict[int, list[str]] = field(default_factory=dict)
    updates: UpdateFactory | None = None
    _last_message: dict[int, int] = field(default_factory=dict)

    def show(self, call: Call) -> None:
        """Prints what the bot sent, with its buttons numbered."""
        if call.fault is not None:
            return
        params = call.params
        chat = int(params.get("chat_id", 0) or 0)
        who = next((p.name for p in self.people.values() if p.user.id == chat), str(chat))
        if call.method in ("sendMessage", "editMessageText"):
            marker = "✎" if call.method == "editMessageText" else "→"
            self.out(f"\n{marker} [{who}]\n{plain(str(params.get('text', '')))}")
            markup = params.get("reply_markup") or {}
            rows = markup.get("inline_keyboard") or []
            data = [button.get("callback_data", "") for row in rows for button in row]
            labels = [button.get("text", "") for row in rows for button in row]
            if data:
                self.buttons[chat] = data
                self.out("  " + "  ".join(f"[{i + 1}] {label}" for i, label in enumerate(labels)))
            for row in markup.get("keyboard") or []:
                for button in row:
                    self.out(f"  (keyboard) {button.get('text', '')}")
        elif call.method == "answerCallbackQuery" and params.get("text"):
            self.out(f"\n! [{who}] {params['text']}")
        elif call.method == "sendDocument":
            self.out(f"\n→ [{who}] (document {params.get('filename') or params.get('document')})")
        elif call.method == "sendPhoto":
            self.out(f"\n→ [{who}] (photo: a chart or picture; open it in Telegram)")
        elif call.method == "sendVoice":
            self.out(f"\n→ [{who}] (voice message)")

    async def handle(self, line: str) -> bool:
        """Runs one line; False when the demo should end."""
        line = line.strip()
        if not line:
            return True
        if line in (":quit", ":q", ":exit"):
            return False
        if line in (":help", "?"):
            self.out(HELP)
        elif line == ":who":
            for persona in self.people.values():
                mark = "*" if persona is self.current else " "
                self.out(f" {mark} {persona.name} ({persona.role})")
        elif line.startswith(":as "):
            name = line[4:].strip()
            found = self.people.get(name) or next(
                (p for n, p in self.people.items() if n.lower().startswith(name.lower())), None
            )
            if found is None:
                self.out(f"nobody called {name}; try :who")
            else:
                self.current = found
                self.out(f"you are now {found.name} ({found.role})")
        elif line == ":time":
            self.out(f"demo time: {self.clock.now():%Y-%m-%d %H:%M} UTC")
        elif line.startswith(":wait"):
            await self._wait(line[5:].strip())
        elif line.startswith(":tap"):
            await self._tap(line[4:].strip())
        elif line.startswith(":file "):
            await self._file(Path(line[6:].strip()))
        elif line.startswith(":"):
            self.out("unknown demo command; :help lists them")
        else:
            await self._say(line)
        return True

    def _me(self) -> Persona:
        if self.current is None:
            raise RuntimeError("no persona")
        return self.current

    async def _send(self, update: Any) -> None:
        """Through the inbox, as `liaison run` handles every update."""
        assert self.updates is not None
        await self.app.bot_data.inbox.accept([update.to_dict()])
        await self.app.bot_data.inbox.drain()

    async def _say(self, text: str) -> None:
        assert self.updates is not None
        me = self._me()
        update = (
            self.updates.command(me.user, text)
            if text.startswith("/")
            else self.updates.text(me.user, text)
        )
        await self._send(update)

    async def _tap(self, number: str) -> None:
        assert self.updates is not None
        me = self._me()
        options = self.buttons.get(me.user.id, [])
        if not number.isdigit() or not 1 <= int(number) <= len(options):
            self.out("no such button; the last message's buttons are numbered [1], [2], ...")
            return
        await self._send(self.updates.callback(me.user, options[int(number) - 1]))

    async def _file(self, path: Path) -> None:
        assert self.updates is not None
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError:
            self.out(f"no file at {path}")
            return
        file_id = f"demo-{len(self.request.files)}"
        self.request.files[f"files/{file_id}"] = data
        await self._send(
            self.updates.document(
                self._me().user,
                file_id=file_id,
                file_name=path.name,
                mime_type="application/octet-stream",
                size=len(data),
            )
        )

    async def _wait(self, text: str) -> None:
        match = _DURATION.match(text or "10m")
        if not match:
            self.out("say how long: :wait 10m, :wait 2h or :wait 1d")
            return
        amount, unit = int(match.group(1)), match.group(2)
        total = timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
        step = timedelta(minutes=10)
        end = self.clock.now() + total
        while self.clock.now() < end:
            self.clock.set(min(self.clock.now() + step, end))
            await self.tick()
        self.out(f"(demo time is now {self.clock.now():%Y-%m-%d %H:%M} UTC)")

    async def tick(self) -> None:
        await plan_all(self.db, self.clock.now(), Path(self.settings.data_dir))
        for _ in range(20):
            report = await self.app.bot_data.sender.run_once()
            if not (report.sent or report.expired or report.skipped):
                break


class _InstantPacer:
    async def wait(self, chat_id: int) -> None:
        return None


def _rewind_to_selection(person: Person) -> None:
    """The sample roster as it stood before the final selection: every cadre shortlisted
    (results already recorded), still at home."""
    if person.role is Role.CADRE:
        person.status = PersonStatus.SHORTLISTED
        person.timezone = "Asia/Shanghai"


def _past_copy(data_dir: Path) -> Path:
    """Where a played past is kept between runs, named for the code that played it."""
    return data_dir / "demo-cache" / f"past-{fingerprint()}.db"


async def _keep_past(db: Database, database: Path, copy: Path) -> None:
    """Saves the played past, so the next start copies it instead of playing it again."""
    async with db.engine.connect() as connection:
        await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    copy.parent.mkdir(parents=True, exist_ok=True)
    for old in copy.parent.glob("past-*.db"):
        old.unlink(missing_ok=True)
    partial = copy.with_suffix(".part")
    await asyncio.to_thread(shutil.copyfile, database, partial)
    partial.replace(copy)


async def _fresh(db: Database) -> None:
    """The sample programme and roster, everyone enrolled."""
    async with db.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    await load_programme(db, PROGRAMME_FILE)
    await import_roster(db, PROGRAMME_ID, ROSTER_FILE)
    async with db.transaction() as session:
        rows = await session.scalars(select(Person).order_by(Person.id))
        for index, person in enumerate(rows):
            person.telegram_user_id = person.telegram_chat_id = 100_000 + index
            person.enrolled_at = ENROLLED_AT


async def build_demo(
    data_dir: Path,
    out: Callable[[str], None],
    *,
    scene: str = "practicum",
    past: bool = True,
) -> Demo:
    """A fresh demo database with the sample programme, everyone enrolled, and (unless
    ``past`` is False) the weeks before the demo's clock played through the services.

    A played past is kept under ``<data dir>/demo-cache`` and copied on the next start
    while the code that plays it is unchanged: only the first start takes a while. The
    selection scene has no past: it starts months before the practicum."""
    start = SCENES[scene]
    past = past and scene == "practicum"
    demo_dir = data_dir / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)
    demo_dir.mkdir(parents=True)
    database = demo_dir / "demo.db"
    copy = _past_copy(data_dir) if past else None
    replayed = copy is not None and copy.exists()
    if copy is not None and replayed:
        await asyncio.to_thread(shutil.copyfile, copy, database)
    db = Database.from_url(f"sqlite+aiosqlite:///{database}")
    if not replayed:
        await _fresh(db)
    if scene == "selection":
        async with db.transaction() as session:
            for person in await session.scalars(select(Person)):
                person.enrolled_at = start - timedelta(days=60)
                _rewind_to_selection(person)
    clock = FakeClock(start)
    people: dict[str, Persona] = {}
    async with db.read() as session:
        for person in await session.scalars(select(Person).order_by(Person.id)):
            user_id = int(person.telegram_user_id or 0)
            language = "en" if person.locale == "en" else "zh-hans"
            people[person.name] = Persona(
                person.id, person.name, person.role, FakeUser(user_id, person.name, language)
            )
    settings = Settings(
        bot_token=SecretStr(FAKE_TOKEN),
        data_dir=demo_dir,
        database_url=f"sqlite+aiosqlite:///{demo_dir / 'demo.db'}",
    )
    request = RecordingRequest()
    app = build_application(settings, db=db, clock=clock, request=request, rate_limit=False)
    app.bot_data.sender.pacer = _InstantPacer()  # type: ignore[assignment]
    # The demo's clock stands still between ":wait"s: one person typing is no flood.
    app.bot_data.throttle.burst = math.inf
    demo = Demo(app, request, db, clock, settings, people, out)
    await app.initialize()
    if copy is not None and not replayed:
        await build_history(db, clock, app.bot_data.sender, demo_dir, DEMO_START)
        await _keep_past(db, database, copy)
    request.clear()
    request.on_call = demo.show
    demo.updates = UpdateFactory(app.bot)
    demo.current = next(p for p in people.values() if p.role == "cadre")
    return demo


async def run_demo(
    data_dir: Path,
    lines: Iterable[str] | None,
    out: Callable[[str], None],
    read: Callable[[str], str] | None = None,
    *,
    scene: str = "practicum",
    past: bool = True,
) -> None:
    """Runs the demo over the given lines, or interactively with ``read`` as the prompt."""
    past = past and scene == "practicum"
    if past and not _past_copy(data_dir).exists():
        out("(playing the weeks before the demo's clock once; later starts reuse them)")
    demo = await build_demo(data_dir, out, scene=scene, past=past)
    out(HELP)
    assert demo.current is not None
    out(
        f"\nyou are {demo.current.name} ({demo.current.role}); "
        f"demo time {demo.clock.now():%Y-%m-%d %H:%M} UTC"
    )
    try:
        if lines is not None:
            for line in lines:
                out(f"\n> {line.rstrip()}")
                if not await demo.handle(line):
                    break
        else:
            assert read is not None
            while True:
                try:
                    line = read(f"\n[{demo._me().name}] > ")
                except EOFError:
                    break
                if not await demo.handle(line):
                    break
    finally:
        await demo.app.shutdown()
        await demo.db.dispose()
