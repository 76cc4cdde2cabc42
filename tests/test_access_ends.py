"""Access ends: withdrawn people, people dropped from the roster, unlinking and erasing."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update

from liaison.bot.cli import main
from liaison.services.access import erase_person, unlink_person
from liaison.services.checkins.absences import record_absence
from liaison.services.errors import AccessEnded
from liaison.services.people import load_actor
from liaison.services.roster import import_roster
from liaison.storage.base import Base
from liaison.storage.database import Database
from liaison.storage.enums import PersonStatus
from liaison.storage.models import AuditEvent, Person, StoredFile, Submission, SurveyAnswer
from liaison.ui.callbacks import ScheduleButton
from liaison.ui.i18n import translator
from tests.conftest import (
    LI,
    ORGANIZER_CHEN,
    ORGANIZER_LIU,
    PHONES,
    PROGRAMME_FILE,
    PROGRAMME_ID,
    ROSTER_FILE,
    ZHANG,
    Harness,
    seed,
)
from tests.test_checkins import button, prompted
from tests.test_submissions import PDF, document, draft_id, start

ZH = translator("zh_CN")
EN = translator("en")
ENDED = (
    "Your access to this programme has ended, so this bot can no longer help you. If you "
    "think this is a mistake, please contact the organizers."
)
STRANGER_REFUSAL = (
    "Sorry, this bot serves the participants of a training programme, and your account "
    "is not linked yet. Send /start to link it with your phone number or your code."
)
NOW = datetime(2026, 10, 30, 12, 0, tzinfo=UTC)


async def set_status(db: Database, name: str, status: PersonStatus) -> None:
    async with db.transaction() as session:
        await session.execute(update(Person).where(Person.name == name).values(status=status))


def roster_without(tmp_path: Path, *names: str, replace: dict[str, str] | None = None) -> Path:
    """The test roster minus some people, with some text replaced (e.g. a new phone)."""
    lines = ROSTER_FILE.read_text(encoding="utf-8-sig").splitlines()
    kept = [line for line in lines if not any(line.startswith(f"{n},") for n in names)]
    content = "\n".join(kept) + "\n"
    for old, new in (replace or {}).items():
        content = content.replace(old, new)
    path = tmp_path / "roster-new.csv"
    path.write_text(content, encoding="utf-8")
    return path


async def test_withdrawn_cadre_is_told_access_ended_for_every_update(harness: Harness) -> None:
    h = harness
    await h.enrol(ZHANG)
    await set_status(h.db, "张伟", PersonStatus.WITHDRAWN)
    h.request.clear()
    for sent in (
        h.updates.command(ZHANG, "/schedule"),
        h.updates.command(ZHANG, "/start"),
        h.updates.command(ZHANG, "/help"),
        h.updates.text(ZHANG, "hello"),
    ):
        await h.send(sent)
        assert h.last_text(ZHANG) == ZH(ENDED)
    await h.send(h.updates.callback(ZHANG, ScheduleButton("week", date(2026, 11, 2)).encode()))
    assert h.request.sent("answerCallbackQuery")[-1]["text"] == ZH(ENDED)
    assert h.request.sent("editMessageText") == []


async def test_withdrawn_organizer_can_no_longer_record_absences(harness: Harness) -> None:
    h = harness
    await h.enrol(ZHANG)
    await h.enrol(ORGANIZER_CHEN)
    actor = await load_actor(h.db, ORGANIZER_CHEN.id)
    await set_status(h.db, "陈组织", PersonStatus.WITHDRAWN)
    withdrawn = await load_actor(h.db, ORGANIZER_CHEN.id)
    assert actor is not None and withdrawn is not None and not withdrawn.has_access
    with pytest.raises(AccessEnded):
        await record_absence(
            h.db, withdrawn, "张伟", date(2026, 11, 2), date(2026, 11, 3), None, NOW
        )
    await h.send(h.updates.command(ORGANIZER_CHEN, "/absent 张伟 2026-11-02 2026-11-03"))
    assert h.last_text(ORGANIZER_CHEN) == ZH(ENDED)


async def test_withdrawn_people_are_sent_nothing_and_get_no_digest(harness: Harness) -> None:
    h = harness
    for user in (ZHANG, ORGANIZER_CHEN, ORGANIZER_LIU):
        await h.enrol(user)
    await set_status(h.db, "陈组织", PersonStatus.WITHDRAWN)
    h.clock.set(datetime(2026, 10, 31, 0, 30, tzinfo=UTC))  # digest time in Beijing
    await h.tick()
    await h.dispatch()
    assert any(t.startswith("📊") for t in h.texts(ORGANIZER_LIU))
    assert not any(t.startswith("📊") for t in h.texts(ORGANIZER_CHEN))


async def test_a_withdrawn_entry_cannot_be_enrolled(harness: Harness) -> None:
    await set_status(harness.db, "张伟", PersonStatus.WITHDRAWN)
    await harness.enrol(ZHANG)
    assert harness.last_text(ZHANG) == ZH(ENDED)
    assert await load_actor(harness.db, ZHANG.id) is None


async def test_a_reimported_roster_withdraws_and_unlinks_who_is_missing(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    for user in (ZHANG, LI, ORGANIZER_CHEN):
        await h.enrol(user)
    # Li left the programme; Zhang's phone changed on the roster.
    roster = roster_without(tmp_path, "李娜", replace={"138 0000 1001": "138 0000 1099"})
    result = await import_roster(h.db, PROGRAMME_ID, roster)
    assert sorted(result.withdrawn) == ["张伟", "李娜"]
    assert result.created == 1
    async with h.db.read() as session:
        people = list(
            await session.scalars(select(Person).where(Person.name.in_(["张伟", "李娜"])))
        )
    old = [p for p in people if p.status is PersonStatus.WITHDRAWN]
    assert len(old) == 2 and all(p.telegram_user_id is None for p in old)
    # Li is now a stranger; Zhang can enrol again with the new number's entry.
    await h.send(h.updates.command(LI, "/schedule"))
    assert h.last_text(LI) == ZH(STRANGER_REFUSAL)
    await h.send(h.updates.contact(ZHANG, "+8613800001099", contact_user_id=ZHANG.id))
    actor = await load_actor(h.db, ZHANG.id)
    assert actor is not None and actor.phone == "+8613800001099" and actor.has_access
    again = await import_roster(h.db, PROGRAMME_ID, roster)
    assert again.withdrawn == []


async def test_unlink_lets_the_person_enrol_again(harness: Harness) -> None:
    h = harness
    await h.enrol(ZHANG)
    done = await unlink_person(h.db, PROGRAMME_ID, "张伟", NOW)
    assert done.was_linked and done.name == "张伟"
    await h.send(h.updates.command(ZHANG, "/schedule"))
    assert h.last_text(ZHANG) == ZH(STRANGER_REFUSAL)
    await h.enrol(ZHANG)
    assert await load_actor(h.db, ZHANG.id) is not None


async def everything(db: Database) -> str:
    """Every value in every table, as one text, to search for what must be gone."""
    found: list[str] = []
    async with db.read() as session:
        for table in Base.metadata.sorted_tables:
            for row in await session.execute(select(table)):
                found.extend(str(value) for value in row)
    return "\n".join(found)


async def test_erase_removes_personal_data_and_files_and_keeps_the_counts(
    harness: Harness,
) -> None:
    h = harness
    run = await prompted(h)
    await h.send(h.updates.callback(ZHANG, button(run, 0, "g")))
    await h.send(h.updates.callback(ZHANG, button(run, 0, "a", "4")))
    await h.send(h.updates.text(ZHANG, "在州政府实习，认识了秘密线人王先生"))
    await h.send(h.updates.command(ORGANIZER_CHEN, "/absent 张伟 2026-11-10 2026-11-11 家中急事"))
    await h.send(h.updates.command(ORGANIZER_CHEN, f"/note {run.id} 通话记录：张伟身体不适"))
    await start(h)
    await h.send(document(h, ZHANG, "f1", "我的报告.pdf", PDF))
    await h.send(h.updates.text(ZHANG, "报告正文：张伟的心得"))
    await h.send(h.updates.callback(ZHANG, f"sb1:s:{await draft_id(h)}"))
    archive = h.settings.data_dir / "archive"
    assert any(p.is_file() for p in archive.rglob("*"))
    async with h.db.read() as session:
        zhang = await session.scalar(select(Person).where(Person.name == "张伟"))
    assert zhang is not None

    erased = await erase_person(h.db, h.settings.data_dir, PROGRAMME_ID, "张伟", NOW)

    assert erased.files == 1 and erased.submissions == 1 and erased.answers == 2
    left = await everything(h.db)
    for personal in ("张伟", PHONES[ZHANG.id][-8:], "锦江区商务局", "秘密线人", "家中急事", "心得"):
        assert personal not in left, personal
    assert not [p for p in archive.rglob("*") if p.is_file()]
    assert not (archive / PROGRAMME_ID / f"person-{zhang.id}").exists()
    async with h.db.read() as session:
        person = await session.get_one(Person, zhang.id)
        (submission,) = await session.scalars(select(Submission))
        answered = list(await session.scalars(select(SurveyAnswer)))
        files = list(await session.scalars(select(StoredFile)))
        audit = await session.scalar(select(AuditEvent).where(AuditEvent.action == "person.erased"))
    assert person.name == erased.placeholder and person.status is PersonStatus.WITHDRAWN
    assert person.telegram_user_id is None and person.unit is None
    assert (submission.version, submission.text, submission.title) == (1, None, None)
    assert len(answered) == 2 and all(a.value is None for a in answered)
    assert files == []
    assert audit is not None and audit.details["person_id"] == zhang.id
    # Zhang's Telegram account is a stranger now.
    await h.send(h.updates.command(ZHANG, "/schedule"))
    assert h.last_text(ZHANG) == ZH(STRANGER_REFUSAL)


async def test_archive_folders_are_0700_and_files_0600_all_the_way_down(harness: Harness) -> None:
    h = harness
    previous = os.umask(0o022)  # the usual umask: folders made by default would be 0755
    try:
        await start(h)
        await h.send(document(h, ZHANG, "f1", "report.pdf", PDF))
    finally:
        os.umask(previous)
    archive = h.settings.data_dir / "archive"
    folders = [archive, *[p for p in archive.rglob("*") if p.is_dir()]]
    files = [p for p in archive.rglob("*") if p.is_file()]
    assert len(folders) >= 4 and files
    assert {oct(p.stat().st_mode & 0o777) for p in folders} == {oct(0o700)}
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {oct(0o600)}


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    return {
        "LIAISON_DATA_DIR": str(tmp_path / "data"),
        "LIAISON_DATABASE_URL": "",
        "LIAISON_BOT_TOKEN": "",
    }


def invoke(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env=env, input=stdin)


def test_roster_import_lists_who_will_be_withdrawn_and_asks_first(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    assert invoke(cli_env, "programme", "load", str(PROGRAMME_FILE)).exit_code == 0
    first = invoke(cli_env, "roster", "import", "--programme", PROGRAMME_ID, str(ROSTER_FILE))
    assert first.exit_code == 0, first.output
    smaller = roster_without(tmp_path, "李娜")
    args = ("roster", "import", "--programme", PROGRAMME_ID, str(smaller))
    declined = invoke(cli_env, *args, stdin="n\n")
    assert declined.exit_code != 0 and "李娜" in declined.output
    accepted = invoke(cli_env, *args, stdin="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "withdrawn" in accepted.output and "李娜" in accepted.output.splitlines()[-1]
    quiet = invoke(cli_env, *args, "--yes")
    assert quiet.exit_code == 0 and "withdrawn" not in quiet.output


def test_person_commands_unlink_and_erase_with_confirmation(cli_env: dict[str, str]) -> None:
    assert invoke(cli_env, "programme", "load", str(PROGRAMME_FILE)).exit_code == 0
    assert (
        invoke(cli_env, "roster", "import", "--programme", PROGRAMME_ID, str(ROSTER_FILE)).exit_code
        == 0
    )
    unlinked = invoke(cli_env, "person", "unlink", "张伟", "--programme", PROGRAMME_ID)
    assert unlinked.exit_code == 0 and "not linked" in unlinked.output
    unknown = invoke(cli_env, "person", "erase", "Nobody", "--programme", PROGRAMME_ID)
    assert unknown.exit_code != 0 and "nobody called Nobody" in unknown.output
    prefix = invoke(cli_env, "person", "erase", "张", "--programme", PROGRAMME_ID, "--yes")
    assert prefix.exit_code != 0  # erasing takes the full name only
    declined = invoke(cli_env, "person", "erase", "张伟", "--programme", PROGRAMME_ID, stdin="n\n")
    assert declined.exit_code != 0 and "张伟" in declined.output
    erased = invoke(cli_env, "person", "erase", "张伟", "--programme", PROGRAMME_ID, stdin="y\n")
    assert erased.exit_code == 0 and "erased" in erased.output, erased.output
    again = invoke(cli_env, "person", "erase", "张伟", "--programme", PROGRAMME_ID, "--yes")
    assert again.exit_code != 0


async def test_roster_tables_hold_no_name_after_erasing_on_both_databases(db: Database) -> None:
    await seed(db)
    await erase_person(db, Path("/nonexistent-data-dir"), PROGRAMME_ID, "李娜", NOW)
    async with db.read() as session:
        names = list(await session.scalars(select(Person.name)))
        raw = await session.execute(text("select phone from people where phone like 'erased-%'"))
    assert "李娜" not in names and len(list(raw)) == 1
