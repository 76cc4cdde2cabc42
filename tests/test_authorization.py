"""Authorization, proven by a matrix generated from the handlers the Application registers.

Every command, message handler and callback action runs as a stranger, a cadre, an
observer, an organizer and an organizer of another programme, on programme A's data and
on programme B's, and is checked against the table below: allowed, or refused with the
translated refusal and nothing written (every table compared before and after). A
handler registered without an entry in the table fails the first test, so nothing new
can be added uncovered. The services are checked on their own too: a use case called
directly with the wrong actor refuses, whatever the handler did.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from liaison.bot.sandbox.fake_updates import FakeUser, UpdateFactory
from liaison.services.broadcasts import compose
from liaison.services.checkins.absences import record_absence
from liaison.services.checkins.conversation import NotYourRun
from liaison.services.checkins.notes import add_note, expect_note
from liaison.services.checkins.planning import plan_checkins
from liaison.services.clock import FakeClock
from liaison.services.errors import AccessEnded, DomainError, NotAllowed, PersonNotFound
from liaison.services.files.archive import Incoming
from liaison.services.people import Actor, load_actor
from liaison.services.programmes.loading import load_programme
from liaison.services.roster import import_roster
from liaison.services.submissions.drafts import add_text, start_draft
from liaison.services.submissions.extensions import grant_extension
from liaison.services.submissions.intake import add_file
from liaison.services.submissions.versions import submit
from liaison.storage.base import Base
from liaison.storage.database import Database
from liaison.storage.enums import PersonStatus
from liaison.storage.models import (
    Assignment,
    AuditEvent,
    Person,
    StoredFile,
    Submission,
    SurveyRun,
)
from liaison.ui.callbacks import CODECS
from liaison.ui.i18n import translator
from tests.conftest import (
    ORGANIZER_CHEN,
    PHONES,
    PROGRAMME_FILE,
    PROGRAMME_ID,
    STRANGER,
    ZHANG,
    Harness,
    _harness,
    seed,
)
from tests.test_submissions import PDF

OTHER_ID = "other-prog"
FRIDAY_SLOT = datetime(2026, 10, 31, 0, 0, tzinfo=UTC)  # Fri 30 Oct 20:00 in New York
NOW = FRIDAY_SLOT + timedelta(hours=1)
OBSERVER = FakeUser(701, "赵", "zh-hans")
CADRE_B = FakeUser(801, "Bob", "en")
ORGANIZER_B = FakeUser(802, "Olga", "en")
ENROLLED = {
    ZHANG.id: PHONES[ZHANG.id],
    502: PHONES[502],
    OBSERVER.id: "8613900003001",
    ORGANIZER_CHEN.id: PHONES[ORGANIZER_CHEN.id],
    CADRE_B.id: "+19195550101",
    ORGANIZER_B.id: "+19195550102",
}
ROSTER_B = """name,phone,role,locale,timezone,status
Bob Brown,+1 919 555 0101,cadre,en,America/New_York,active
Olga Org,+1 919 555 0102,organizer,en,Asia/Shanghai,active
"""
NAMES = {"A": "张伟", "B": "Bob Brown"}

# Roles, and who plays each (with the language their refusals come in).
ROLES: dict[str, tuple[FakeUser, str]] = {
    "stranger": (STRANGER, "en"),
    "cadre": (ZHANG, "zh_CN"),
    "observer": (OBSERVER, "zh_CN"),
    "organizer": (ORGANIZER_CHEN, "zh_CN"),
    "other_organizer": (ORGANIZER_B, "en"),
}
TARGETS = ("A", "B")  # programme A (the cadre's, the observer's, the organizer's) and B

STRANGER_TEXT = (
    "Sorry, this bot serves the participants of a training programme, and your account "
    "is not linked yet. Send /start to link it with your phone number or your code."
)
ONLY_ORGANIZERS = "Only organizers can do this."
ONLY_STAFF = "Only organizers and observers can see this."
NO_SUCH_RUN = "There is no such check-in in your programme."
NOT_VALID = "This button is no longer valid."
NOBODY = "Nobody called {name} is on the roster."
NO_TESTS = "This programme declares no tests (the programme file's selection.tests)."
NO_CANDIDATES = "There is nobody to select: no candidates are on the roster."
BROADCAST_GONE = "This broadcast was already sent or cancelled."
# The cadres' person ids in the world (build_world checks them): a dossier asked for by
# another programme's id answers that nobody with that "name" (the id) is on the roster.
PERSON_IDS = {"A": "1", "B": "7"}
REPORTS_FOR_CADRES = "Reports and papers are submitted by participants."
CHECKINS_FOR_CADRES = "Check-ins are answered by participants."
NO_DRAFT = "This draft has already been submitted or cancelled."
NOTHING_TO_CANCEL = "Nothing to cancel."
NOT_ON_ROSTER = (
    "Sorry, this phone number is not on the programme's roster. If you are a "
    "participant, ask the organizers for a one-time code and send /start CODE."
)
# Answers that mean "not you, not here": none may come to an allowed case.
REFUSALS = (
    STRANGER_TEXT,
    ONLY_ORGANIZERS,
    ONLY_STAFF,
    NO_SUCH_RUN,
    NOT_VALID,
    REPORTS_FOR_CADRES,
)


@dataclass(frozen=True)
class Allowed:
    """Let through; ``writes`` says whether it must (True), must not (False), or may (None)."""

    writes: bool | None = None


@dataclass(frozen=True)
class Refused:
    """Answered with this text (translated, formatted with ``args``) and nothing written."""

    text: str
    args: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Ignored:
    """No answer at all, nothing written (e.g. a stranger's edited message)."""


Outcome = Allowed | Refused | Ignored
Expect = dict[str, Outcome | dict[str, Outcome]]


@dataclass(frozen=True)
class Refs:
    """Row ids of programme A's data (the cadre's) and programme B's."""

    run: dict[str, int]
    draft: dict[str, int]
    file: dict[str, int]
    assignment: dict[str, int]
    person: dict[str, int]  # the cadre's
    submission: dict[str, int]  # the cadre's submitted version
    broadcast: dict[str, int]  # the organizer's unsent draft


Build = Callable[[UpdateFactory, FakeUser, Refs, str], Update]


@dataclass(frozen=True)
class Entry:
    build: Build
    expect: Expect
    data: bool = False  # runs on A's and on B's data; otherwise once
    organizer_door: bool = False  # the handler must wear @organizer_only


def everyone(outcome: Outcome) -> Expect:
    return {role: outcome for role in ROLES}


def enrolled(outcome: Outcome) -> Expect:
    """The same outcome for everyone enrolled; strangers are stopped at the guard."""
    expect: Expect = {role: outcome for role in ROLES}
    expect["stranger"] = Refused(STRANGER_TEXT)
    return expect


def cadres_only(outcome: Outcome, refusal: str) -> Expect:
    return enrolled(Refused(refusal)) | {"cadre": outcome}


def organizers_of_the_programme(
    allowed: Outcome, foreign: Outcome, *, others: Outcome = Refused(ONLY_ORGANIZERS)
) -> Expect:
    """Organizers act on their own programme's data only; nobody else acts at all."""
    return {
        "stranger": Refused(STRANGER_TEXT),
        "cadre": others,
        "observer": others,
        "organizer": {"A": allowed, "B": foreign},
        "other_organizer": {"A": foreign, "B": allowed},
    }


def staff_of_the_programme(allowed: Outcome, foreign: Outcome) -> Expect:
    """Organizers and observers read their own programme's records; cadres read none."""
    return {
        "stranger": Refused(STRANGER_TEXT),
        "cadre": Refused(ONLY_STAFF),
        "observer": {"A": allowed, "B": foreign},
        "organizer": {"A": allowed, "B": foreign},
        "other_organizer": {"A": foreign, "B": allowed},
    }


def dossier_by_id() -> Expect:
    """A dossier asked for by another programme's person id: nobody by that id here."""

    def nobody(target: str) -> Outcome:
        return Refused(NOBODY, {"name": PERSON_IDS[target]})

    allowed = Allowed(writes=False)
    return {
        "observer": {"A": allowed, "B": nobody("B")},
        "organizer": {"A": allowed, "B": nobody("B")},
        "other_organizer": {"A": nobody("A"), "B": allowed},
    }


def staff(outcome: Outcome) -> Expect:
    """Organizers and observers, each of their own programme; cadres are refused."""
    return enrolled(outcome) | {"cadre": Refused(ONLY_STAFF)}


def organizers(outcome: Outcome) -> Expect:
    """Organizers, each of their own programme; everyone else is refused."""
    return enrolled(Refused(ONLY_ORGANIZERS)) | {
        "organizer": outcome,
        "other_organizer": outcome,
    }


def owner_only(allowed: Outcome, refusal: Outcome) -> Expect:
    """Only the cadre whose data it is (programme A's cadre, on A's data) may act."""
    return enrolled(refusal) | {"cadre": {"A": allowed, "B": refusal}}


def schedule_data(view: str) -> Callable[[Refs, str], str]:
    return lambda refs, target: f"sc1:{view}:2026-11-02"


def checkin_button(name: str) -> Callable[[Refs, str], str]:
    return lambda refs, target: checkin_data(refs.run[target], name)


def refs_data(head: str, kind: str, tail: str = "") -> Callable[[Refs, str], str]:
    """``head:ID tail``, ID being the target's row of that kind (a field of Refs)."""
    return lambda refs, target: f"{head}:{getattr(refs, kind)[target]}{tail}"


def fixed_data(data: str) -> Callable[[Refs, str], str]:
    return lambda refs, target: data


def command(text: str) -> Build:
    return lambda updates, user, refs, target: updates.command(user, text)


def button(make: Callable[[Refs, str], str]) -> Build:
    return lambda updates, user, refs, target: updates.callback(user, make(refs, target))


_raw_ids = iter(range(900_000, 10_000_000))


def raw(user: FakeUser, updates: UpdateFactory, **payload: Any) -> Update:
    message = {
        "message_id": next(_raw_ids),
        "date": 1_700_000_000,
        "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
        "from": user.as_dict(),
    }
    kind, fields = next(iter(payload.items()))
    found = Update.de_json({"update_id": next(_raw_ids), kind: {**message, **fields}}, updates.bot)
    assert found is not None
    return found


def contact(updates: UpdateFactory, user: FakeUser, refs: Refs, target: str) -> Update:
    phone = ENROLLED.get(user.id, "+8613712345678")
    return updates.contact(user, phone, contact_user_id=user.id)


def checkin_data(run_id: int, action: str) -> str:
    """sv1 data for each action on the target's run, for its current question (0)."""
    return f"sv1:{run_id}:0:{action}:{'4' if action == 'a' else ''}"


ENTRIES: dict[str, Entry] = {
    # Enrolment and help are open to strangers: they reveal nothing.
    "/start": Entry(command("/start"), {role: Allowed(writes=False) for role in ROLES}),
    "message:liaison.handlers.enrolment.on_contact": Entry(
        contact,
        everyone(Allowed(writes=False)) | {"stranger": Refused(NOT_ON_ROSTER)},
    ),
    "/help": Entry(command("/help"), {role: Allowed(writes=False) for role in ROLES}),
    # Reading the schedule and choosing one's own preferences: anyone enrolled.
    "/schedule": Entry(command("/schedule week"), enrolled(Allowed(writes=False))),
    "/next": Entry(command("/next"), enrolled(Allowed(writes=False))),
    "/language": Entry(command("/language"), enrolled(Allowed(writes=False))),
    "/timezone": Entry(command("/timezone"), enrolled(Allowed(writes=False))),
    "lg1": Entry(button(lambda refs, target: "lg1:en"), enrolled(Allowed(writes=True))),
    "tz1": Entry(
        button(lambda refs, target: "tz1:America/Chicago"), enrolled(Allowed(writes=True))
    ),
    **{
        f"sc1:{view}": Entry(
            button(schedule_data(view)),
            enrolled(Allowed(writes=False)),
        )
        for view in ("today", "week", "next", "day")
    },
    # Submitting work: cadres only, and only to their own programme and drafts.
    **{
        f"/{name}": Entry(
            command(f"/{name}"), cadres_only(Allowed(writes=False), REPORTS_FOR_CADRES)
        )
        for name in ("report", "paper", "research")
    },
    "/submissions": Entry(command("/submissions"), enrolled(Allowed(writes=False))),
    "sb1:p": Entry(
        button(lambda refs, target: f"sb1:p:{refs.assignment[target]}"),
        owner_only(Allowed(), Refused(NOT_VALID)),
        data=True,
    ),
    "sb1:s": Entry(
        button(lambda refs, target: f"sb1:s:{refs.draft[target]}"),
        owner_only(Allowed(writes=True), Refused(NO_DRAFT)),
        data=True,
    ),
    "sb1:m": Entry(
        button(lambda refs, target: f"sb1:m:{refs.draft[target]}"),
        enrolled(Allowed(writes=False)),
        data=True,
    ),
    "sb1:c": Entry(
        button(lambda refs, target: f"sb1:c:{refs.draft[target]}"),
        owner_only(Allowed(writes=True), Refused(NOTHING_TO_CANCEL)),
        data=True,
    ),
    "sb1:f": Entry(
        button(lambda refs, target: f"sb1:f:{refs.file[target]}"),
        owner_only(Allowed(writes=False), Refused(NOT_VALID)),
        data=True,
    ),
    # Check-ins: the cadre's own runs only.
    "/checkin": Entry(command("/checkin"), cadres_only(Allowed(), CHECKINS_FOR_CADRES)),
    **{
        f"sv1:{name}": Entry(
            button(checkin_button(name)),
            owner_only(Allowed(), Refused(NOT_VALID)),
            data=True,
        )
        for name in ("g", "a", "s", "b", "c", "m", "e")
    },
    "message:liaison.handlers.checkin.on_edited": Entry(
        lambda updates, user, refs, target: updates.edited(user, "改正后的回答", message_id=4242),
        enrolled(Allowed(writes=False)) | {"stranger": Ignored()},
    ),
    # The organizers' tracking work: organizers of the programme concerned only.
    "/note": Entry(
        lambda updates, user, refs, target: updates.command(
            user, f"/note {refs.run[target]} 已电话联系"
        ),
        organizers_of_the_programme(Allowed(writes=True), Refused(NO_SUCH_RUN)),
        data=True,
        organizer_door=True,
    ),
    "message:liaison.handlers.organizer.on_note_link": Entry(
        lambda updates, user, refs, target: updates.command(user, f"/note_{refs.run[target]}"),
        organizers_of_the_programme(Allowed(writes=True), Refused(NO_SUCH_RUN)),
        data=True,
        organizer_door=True,
    ),
    "/absent": Entry(
        lambda updates, user, refs, target: updates.command(
            user, f"/absent {NAMES[target]} 2026-11-10 2026-11-11 考察"
        ),
        {
            **organizers_of_the_programme(Allowed(writes=True), Refused(NOBODY)),
        },
        data=True,
        organizer_door=True,
    ),
    "/extend": Entry(
        lambda updates, user, refs, target: updates.command(
            user, f"/extend {NAMES[target]} stage-1 2026-11-20"
        ),
        organizers_of_the_programme(Allowed(writes=True), Refused(NOBODY)),
        data=True,
        organizer_door=True,
    ),
    # Free input, /cancel and the fallbacks: anyone enrolled, each to their own things.
    "/cancel": Entry(command("/cancel"), enrolled(Allowed())),
    "message:liaison.handlers.free_input.on_message": Entry(
        lambda updates, user, refs, target: updates.text(user, "你好"), enrolled(Allowed())
    ),
    "message:liaison.handlers.fallback.on_edited": Entry(
        lambda updates, user, refs, target: raw(
            user,
            updates,
            edited_message={
                "edit_date": 1_700_000_060,
                "photo": [{"file_id": "p", "file_unique_id": "up", "width": 9, "height": 9}],
            },
        ),
        enrolled(Allowed(writes=False)) | {"stranger": Ignored()},
    ),
    "message:liaison.handlers.fallback.on_unknown_command": Entry(
        command("/frobnicate"), enrolled(Allowed(writes=False))
    ),
    "message:liaison.handlers.fallback.on_other_message": Entry(
        lambda updates, user, refs, target: raw(
            user, updates, message={"location": {"latitude": 35.9, "longitude": -79.0}}
        ),
        enrolled(Allowed(writes=False)),
    ),
    # Selection: organizers record results and select; staff read the candidates.
    "/result": Entry(
        lambda updates, user, refs, target: updates.command(
            user, f"/result {NAMES[target]} bft 高级"
        ),
        # Neither programme declares tests: that comes before looking for the name.
        organizers_of_the_programme(Allowed(), Refused(NO_TESTS)),
        data=True,
        organizer_door=True,
    ),
    "/candidates": Entry(command("/candidates"), staff(Allowed(writes=False))),
    "/select": Entry(command("/select"), organizers(Allowed()), organizer_door=True),
    **{
        f"sl1:{name}": Entry(
            button(refs_data("sl1:" + name, "person")),
            # Someone of another programme is no candidate of this walk: named to no one.
            organizers_of_the_programme(Allowed(), Refused(NOT_VALID)),
            data=True,
            organizer_door=True,
        )
        for name in ("y", "n")
    },
    "sl1:v": Entry(
        button(lambda refs, target: f"sl1:v:{refs.person[target]}"),
        organizers_of_the_programme(Allowed(), Refused(NO_CANDIDATES)),
        data=True,
        organizer_door=True,
    ),
    **{
        f"sl1:{name}": Entry(
            button(fixed_data(f"sl1:{name}:0")),
            organizers(Allowed()),
            organizer_door=True,
        )
        for name in ("s", "c", "x")
    },
    # The organizers' workspace: staff read their own programme; organizers act on it.
    "/digest": Entry(command("/digest"), staff(Allowed())),
    "/cohort": Entry(command("/cohort"), staff(Allowed(writes=False))),
    "co1": Entry(button(lambda refs, target: "co1:0"), staff(Allowed(writes=False))),
    "/person": Entry(
        lambda updates, user, refs, target: updates.command(user, f"/person {NAMES[target]}"),
        staff_of_the_programme(Allowed(writes=False), Refused(NOBODY)),
        data=True,
    ),
    "message:liaison.handlers.people.on_person_link": Entry(
        lambda updates, user, refs, target: updates.command(user, f"/p_{refs.person[target]}"),
        staff_of_the_programme(Allowed(writes=False), Refused(NOBODY)) | dossier_by_id(),
        data=True,
    ),
    "pe1": Entry(
        button(lambda refs, target: f"pe1:{refs.person[target]}"),
        staff_of_the_programme(Allowed(writes=False), Refused(NOBODY)) | dossier_by_id(),
        data=True,
    ),
    "/review": Entry(command("/review"), organizers(Allowed()), organizer_door=True),
    **{
        f"rv1:{name}": Entry(
            button(refs_data("rv1:" + name, "submission", ":1:1")),
            organizers_of_the_programme(Allowed(), Refused(NOT_VALID)),
            data=True,
            organizer_door=True,
        )
        for name in "oskardx"
    },
    "rv1:f": Entry(
        button(lambda refs, target: f"rv1:f:{refs.assignment[target]}:0:0"),
        # Another programme's assignment filters the organizer's own queue to nothing.
        organizers_of_the_programme(Allowed(writes=False), Allowed(writes=False)),
        data=True,
        organizer_door=True,
    ),
    "/broadcast": Entry(
        command("/broadcast"), organizers(Allowed(writes=True)), organizer_door=True
    ),
    "/broadcasts": Entry(
        command("/broadcasts"), organizers(Allowed(writes=False)), organizer_door=True
    ),
    **{
        f"bc1:{name}": Entry(
            button(refs_data("bc1:" + name, "broadcast", ":" + value)),
            organizers_of_the_programme(Allowed(), Refused(BROADCAST_GONE)),
            data=True,
            organizer_door=True,
        )
        for name, value in (("a", "c"), ("p", "1"), ("z", "0"), ("k", ""), ("y", ""), ("x", ""))
    },
    "ba1": Entry(
        button(lambda refs, target: f"ba1:{refs.broadcast[target]}"),
        enrolled(Refused(NOT_VALID)),
        data=True,
    ),
    # Paperwork: exports for organizers; a calendar for anyone enrolled.
    "/export": Entry(command("/export"), organizers(Allowed(writes=False)), organizer_door=True),
    **{
        f"ex1:{name}": Entry(
            button(fixed_data(f"ex1:{name}:workbook")),
            organizers(Allowed()),
            organizer_door=True,
        )
        for name in ("b", "m")
    },
    "/calendar": Entry(command("/calendar"), enrolled(Allowed(writes=False))),
    "callback:*": Entry(button(lambda refs, target: "zz9:forged"), enrolled(Refused(NOT_VALID))),
}


def registered(app: Any) -> dict[str, Any]:
    """Every command, message handler and callback action the Application handles."""
    found: dict[str, Any] = {}
    codecs = {codec.PREFIX: codec for codec in CODECS}
    for handler in app.handlers[0]:
        if isinstance(handler, CommandHandler):
            for name in handler.commands:
                found[f"/{name}"] = handler.callback
        elif isinstance(handler, CallbackQueryHandler):
            if handler.pattern is None:
                found["callback:*"] = handler.callback
                continue
            prefix = str(getattr(handler.pattern, "pattern", handler.pattern)).strip("^:")
            actions = codecs[prefix].ACTIONS
            for name in sorted(actions) or [""]:
                found[f"{prefix}:{name}" if name else prefix] = handler.callback
        elif isinstance(handler, MessageHandler):
            callback = handler.callback
            found[f"message:{callback.__module__}.{callback.__qualname__}"] = callback
        else:
            raise AssertionError(f"a handler of an unknown kind: {handler!r}")
    return found


# The template database: both programmes, everyone enrolled, runs, drafts and files.


async def friday_run(session: AsyncSession, person_id: int) -> int:
    """The person's open run of Friday's slot (the planner also records earlier ones missed)."""
    found = await session.scalars(
        select(SurveyRun.id).where(
            SurveyRun.person_id == person_id, SurveyRun.slot_at == FRIDAY_SLOT
        )
    )
    return found.one()


async def build_world(db: Database, data_dir: Path, tmp: Path) -> Refs:
    await seed(db)
    other_file = tmp / "other-programme.yaml"
    other_file.write_text(
        PROGRAMME_FILE.read_text(encoding="utf-8").replace(
            f"id: {PROGRAMME_ID}", f"id: {OTHER_ID}", 1
        ),
        encoding="utf-8",
    )
    await load_programme(db, other_file)
    roster = tmp / "other-roster.csv"
    roster.write_text(ROSTER_B, encoding="utf-8")
    await import_roster(db, OTHER_ID, roster)
    async with db.transaction() as session:
        for user_id, phone in ENROLLED.items():
            person = await session.scalar(select(Person).where(Person.phone.endswith(phone[-8:])))
            assert person is not None, phone
            person.telegram_user_id = person.telegram_chat_id = user_id
            person.enrolled_at = datetime(2026, 10, 1, tzinfo=UTC)
    await plan_checkins(db, FRIDAY_SLOT)
    refs = Refs({}, {}, {}, {}, {}, {}, {})
    for target, user in (("A", ZHANG), ("B", CADRE_B)):
        actor = await load_actor(db, user.id)
        assert actor is not None
        async with db.read() as session:
            refs.run[target] = await friday_run(session, actor.person_id)
            refs.assignment[target] = (
                await session.scalars(
                    select(Assignment.id).where(
                        Assignment.programme_id == actor.programme_id, Assignment.key == "stage-1"
                    )
                )
            ).one()
        await start_draft(db, actor, refs.assignment[target], NOW)
        incoming = Incoming(PDF, f"tg-{target}", f"tgu-{target}", "report.pdf", "application/pdf")
        await add_file(
            db,
            data_dir,
            actor.person_id,
            incoming,
            default_extension="bin",
            media_group_id=None,
            now=NOW,
        )
        draft = await start_draft(db, actor, refs.assignment[target], NOW)
        await submit(db, data_dir, actor.person_id, draft.id, NOW)
        async with db.read() as session:
            refs.file[target] = (
                await session.scalars(
                    select(StoredFile.id).where(StoredFile.person_id == actor.person_id)
                )
            ).one()
        draft = await start_draft(db, actor, refs.assignment[target], NOW)
        await add_text(db, actor.person_id, "第二版草稿", NOW)
        refs.draft[target] = draft.id
        refs.person[target] = actor.person_id
        assert str(actor.person_id) == PERSON_IDS[target], (target, actor.person_id)
        async with db.read() as session:
            refs.submission[target] = (
                await session.scalars(
                    select(Submission.id).where(Submission.person_id == actor.person_id)
                )
            ).one()
    for target, user in (("A", ORGANIZER_CHEN), ("B", ORGANIZER_B)):
        organizer = await load_actor(db, user.id)
        assert organizer is not None
        refs.broadcast[target] = (await compose.start(db, organizer, NOW)).id
    return refs


@dataclass
class World:
    template: Path
    data_dir: Path
    refs: Refs
    snapshot: Snapshot


_world: dict[str, World] = {}


async def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Built once per test session (and xdist worker), copied for every case that writes."""
    if "world" not in _world:
        folder = tmp_path_factory.mktemp("authorization")
        template = folder / "template.db"
        db = Database.from_url(f"sqlite+aiosqlite:///{template}")
        async with db.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        refs = await build_world(db, folder / "data", folder)
        await db.dispose()
        plain = sqlite3.connect(template)
        try:
            rows = snapshot(plain)
        finally:
            plain.close()
        _world["world"] = World(template, folder / "data", refs, rows)
    return _world["world"]


Snapshot = dict[str, list[tuple[Any, ...]]]
# Tables that record an update was seen, or count refusals: not the cohort's records.
UNCOUNTED = {"processed_updates", "enrolment_refusals"}


def snapshot(connection: sqlite3.Connection) -> Snapshot:
    """Every row of every table of the cohort's records, as the database file holds them.

    Read with the standard library's sqlite3 beside the application's own connections
    (WAL lets it see every commit): cheap enough to run around each of several hundred
    cases.
    """
    found: Snapshot = {}
    for table in Base.metadata.sorted_tables:
        if table.name in UNCOUNTED or "inbox" in table.name:
            continue
        rows = [tuple(row) for row in connection.execute(f"SELECT * FROM {table.name}")]  # noqa: S608
        if table.name == "audit_events":
            # A refused enrolment is audited: that is its record, not a write. Ids are
            # left out, as refusals merged into one event may have come and gone.
            rows = [row[1:] for row in rows if "enrolment.refused" not in row]
        found[table.name] = sorted(rows, key=repr)
    return found


class Cases:
    """Runs cases against copies of the template, recopying only after a case wrote.

    SQLite's ``data_version`` changes whenever another connection commits: when it has
    not moved, nothing was written and the tables need not be read again.
    """

    def __init__(self, harness: Harness, world: World, folder: Path) -> None:
        self.h, self.world, self.folder = harness, world, folder
        self.db: Database | None = None
        self.watch: sqlite3.Connection | None = None
        self.copies = 0
        self.last: Snapshot | None = None  # the copy as the last case left it

    async def fresh(self) -> Database:
        if self.db is None:
            self.copies += 1
            path = self.folder / f"case-{self.copies}.db"
            shutil.copyfile(self.world.template, path)
            self.db = Database.from_url(f"sqlite+aiosqlite:///{path}")
            self.watch = sqlite3.connect(path)
            self.last = self.world.snapshot
            shutil.copytree(self.world.data_dir, self.h.settings.data_dir, dirs_exist_ok=True)
        return self.db

    def version(self) -> int:
        assert self.watch is not None
        return int(self.watch.execute("PRAGMA data_version").fetchone()[0])

    async def run(self, key: str, entry: Entry, role: str, target: str) -> None:
        user, locale = ROLES[role]
        expected = entry.expect[role]
        if isinstance(expected, Mapping):
            expected = expected[target]
        db = await self.fresh()
        self.h.app.bot_data.db = db
        self.h.app.bot_data.throttle.reset()
        before, version = self.last, self.version()
        assert before is not None
        self.h.request.clear()
        sent = entry.build(self.h.updates, user, self.world.refs, target)
        await self.h.send(sent)  # raises on any error in a handler
        # Background builds (ex1:b) finish inside the case: their writes are counted too.
        await self.h.app.bot_data.exports.drain()
        assert self.watch is not None
        after = self.last = before if self.version() == version else snapshot(self.watch)
        answers = [str(call.params.get("text", "")) for call in self.h.request.calls]
        where = f"{key} as {role} on {target}'s data: answers {answers}"
        t = translator(locale)
        if isinstance(expected, Ignored):
            assert [a for a in answers if a] == [], where
            assert after == before, f"{where}: wrote {diff(before, after)}"
            return
        if isinstance(expected, Refused):
            text = t(expected.text).format(**{"name": NAMES[target], **expected.args})
            assert text in answers, where
            assert after == before, f"{where}: wrote {diff(before, after)}"
            return
        assert not [a for a in answers if a in {t(r) for r in REFUSALS}], where
        wrote = after != before
        if expected.writes is not None:
            assert wrote is expected.writes, f"{where}: wrote {diff(before, after)}"
        if wrote:
            await self.discard()

    async def discard(self) -> None:
        self.last = None
        if self.watch is not None:
            self.watch.close()
            self.watch = None
        if self.db is not None:
            await self.db.dispose()
            self.db = None

    async def close(self) -> None:
        await self.discard()


def diff(before: Snapshot, after: Snapshot) -> list[str]:
    return [name for name in after if before.get(name) != after[name]]


@pytest.fixture
async def cases(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cases]:
    built = await world(tmp_path_factory)
    copy = tmp_path / "harness.db"
    shutil.copyfile(built.template, copy)
    db = Database.from_url(f"sqlite+aiosqlite:///{copy}")
    clock = FakeClock(NOW)
    async for harness in _harness(db, clock, tmp_path):
        runner = Cases(harness, built, tmp_path)
        try:
            yield runner
        finally:
            await runner.close()
    await db.dispose()


async def test_every_registered_handler_has_an_entry_in_the_matrix(cases: Cases) -> None:
    found = registered(cases.h.app)
    assert sorted(set(found) - set(ENTRIES)) == [], "registered but not in the matrix"
    assert sorted(set(ENTRIES) - set(found)) == [], "in the matrix but not registered"


async def test_organizer_commands_wear_the_organizer_door(cases: Cases) -> None:
    found = registered(cases.h.app)
    for key, entry in ENTRIES.items():
        door = getattr(found[key], "organizer_only", False)
        assert door is entry.organizer_door, key


@pytest.mark.parametrize("key", sorted(ENTRIES))
async def test_every_role_on_own_and_others_data_gets_what_the_matrix_says(
    cases: Cases, key: str
) -> None:
    entry = ENTRIES[key]
    for role in ROLES:
        for target in TARGETS if entry.data else ("A",):
            await cases.run(key, entry, role, target)


# The services on their own: the wrong actor is refused whatever the handler did.


async def actors(db: Database) -> dict[str, Actor]:
    found = {}
    for role, (user, _) in ROLES.items():
        if role != "stranger":
            actor = await load_actor(db, user.id)
            assert actor is not None
            found[role] = actor
    return found


async def run_a(db: Database) -> int:
    async with db.read() as session:
        zhang = await session.scalar(select(Person.id).where(Person.name == "张伟"))
        assert zhang is not None
        return await friday_run(session, zhang)


USE_CASES: dict[str, Callable[[Database, Actor, int], Any]] = {
    "add_note": lambda db, actor, run: add_note(db, actor, run, "notes", NOW),
    "expect_note": lambda db, actor, run: expect_note(db, actor, run),
    "record_absence": lambda db, actor, run: record_absence(
        db, actor, "张伟", date(2026, 11, 10), date(2026, 11, 11), None, NOW
    ),
    "grant_extension": lambda db, actor, run: grant_extension(
        db, actor, "张伟", "stage-1", date(2026, 11, 20), None, NOW
    ),
}


@pytest.mark.parametrize("use_case", sorted(USE_CASES))
async def test_organizer_use_cases_refuse_every_other_role_programme_and_withdrawal(
    db: Database, tmp_path: Path, use_case: str
) -> None:
    await build_world(db, tmp_path / "data", tmp_path)
    people, run = await actors(db), await run_a(db)
    call = USE_CASES[use_case]
    for role in ("cadre", "observer"):
        with pytest.raises(NotAllowed):
            await call(db, people[role], run)
    with pytest.raises((NotYourRun, PersonNotFound)):
        await call(db, people["other_organizer"], run)
    async with db.transaction() as session:
        await session.execute(
            update(Person)
            .where(Person.id == people["organizer"].person_id)
            .values(status=PersonStatus.WITHDRAWN)
        )
    withdrawn = await load_actor(db, ORGANIZER_CHEN.id)
    assert withdrawn is not None
    with pytest.raises(AccessEnded):
        await call(db, withdrawn, run)
    async with db.read() as session:
        written = list(
            await session.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.action.in_(
                        ["checkin.note", "absence.recorded", "submission.extension"]
                    )
                )
            )
        )
    assert written == []
    assert isinstance(NotAllowed(), DomainError)


async def test_a_submission_at_exactly_the_due_time_is_on_time_and_a_second_later_is_late(
    db: Database, tmp_path: Path
) -> None:
    await build_world(db, tmp_path / "data", tmp_path)
    zhang = await load_actor(db, ZHANG.id)
    assert zhang is not None
    async with db.read() as session:
        assignment = await session.get_one(
            Assignment,
            (
                await session.scalars(
                    select(Assignment.id).where(
                        Assignment.programme_id == PROGRAMME_ID, Assignment.key == "stage-1"
                    )
                )
            ).one(),
        )
    due = assignment.due_at
    draft = await start_draft(db, zhang, assignment.id, due)
    on_time = await submit(db, tmp_path / "data", zhang.person_id, draft.id, due)
    assert on_time.is_late is False
    await start_draft(db, zhang, assignment.id, due)
    draft = await add_text(db, zhang.person_id, "再补充一点", due)
    late = await submit(
        db, tmp_path / "data", zhang.person_id, draft.id, due + timedelta(seconds=1)
    )
    assert late.is_late is True
