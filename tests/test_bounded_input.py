"""Bounded input: forged buttons, impossible dates, NUL characters, alias bombs, dead codes,
guessed codes; each refused with a reason in the reader's language, nothing raised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from liaison.bot.cli import main
from liaison.services.audit import record
from liaison.services.clock import FakeClock
from liaison.services.enrolment import issue_codes
from liaison.services.errors import DateProblem, InvalidDate
from liaison.services.people import load_actor
from liaison.services.programmes.document import DocumentError
from liaison.services.programmes.loading import plan_programme
from liaison.services.refusals import LOCK_OUT, MAX_CODE_REFUSALS
from liaison.services.submissions.drafts import add_text, current_draft, start_draft
from liaison.storage.database import Database
from liaison.storage.models import Assignment, AuditEvent, Person
from liaison.ui.callbacks import BadCallback, CheckinButton, ScheduleButton, SubmissionButton
from liaison.ui.errors import error_text
from liaison.ui.i18n import translator
from tests.conftest import (
    ORGANIZER_CHEN,
    PROGRAMME_FILE,
    PROGRAMME_ID,
    STRANGER,
    WANG,
    ZHANG,
    Harness,
    seed,
)
from tests.test_checkin_plan import enrol_cadres

ZH = translator("zh_CN")
EN = translator("en")
NO_LONGER_VALID = "This button is no longer valid."
NOW = datetime(2026, 10, 30, 12, 0, tzinfo=UTC)


# Forged buttons ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "sv1:99999999999999999999999999:0:g:",
        "sv1:1:99999999999:a:1",
        "sv1:-1:0:g:",
        "sv1:²:0:g:",
        "sv1:123456:0:m:",  # a run that does not exist: once NoResultFound
        "sb1:p:99999999999999999999999999",
        "sb1:f:424242",
        "sb1:s:1_000",
        "sc1:week:9999-12-31",
        "sc1:day:0001-01-01",
        "sc1:day:2101-01-01",
        "sc1:week:2026-10-26:extra",
    ],
)
async def test_a_forged_button_is_answered_no_longer_valid_without_an_error(
    harness: Harness, data: str
) -> None:
    await harness.enrol(WANG)
    await harness.send(harness.updates.callback(WANG, data))  # raises on any handler error
    assert harness.request.sent("answerCallbackQuery")[-1]["text"] == EN(NO_LONGER_VALID)


def test_decoders_bound_every_number_and_date() -> None:
    for data in ("sv1:1:1000:a:", "sv1:0:0:g:", "sb1:c:0", "sc1:today:1969-12-31"):
        with pytest.raises(BadCallback):
            (
                CheckinButton
                if data.startswith("sv1")
                else SubmissionButton
                if data.startswith("sb1")
                else ScheduleButton
            ).decode(data)
    assert CheckinButton.decode("sv1:7:3:a:2") == CheckinButton(7, 3, "a", "2")


# Dates with a reason ------------------------------------------------------------------------


async def test_absent_with_the_end_before_the_start_says_so(harness: Harness) -> None:
    await harness.enrol(ORGANIZER_CHEN)
    await harness.send(
        harness.updates.command(ORGANIZER_CHEN, "/absent 张伟 2026-11-05 2026-11-02")
    )
    reason = ZH("The last day ({text}) comes before the first day ({other}).").format(
        text="2026-11-02", other="2026-11-05"
    )
    usage = ZH("Usage: /absent NAME YYYY-MM-DD YYYY-MM-DD [reason]")
    assert harness.last_text(ORGANIZER_CHEN) == f"{reason}\n{usage}"


async def test_extend_to_a_day_the_month_does_not_have_says_so(harness: Harness) -> None:
    await harness.enrol(ORGANIZER_CHEN)
    await harness.send(harness.updates.command(ORGANIZER_CHEN, "/extend 张伟 stage-1 2026-02-30"))
    reason = ZH("{text} is not a real date: that month has no such day.").format(text="2026-02-30")
    usage = ZH("Usage: /extend NAME ASSIGNMENT YYYY-MM-DD [HH:MM]")
    assert harness.last_text(ORGANIZER_CHEN) == f"{reason}\n{usage}"


async def test_extend_to_a_time_skipped_by_daylight_saving_says_so(harness: Harness) -> None:
    await harness.enrol(ORGANIZER_CHEN)
    await harness.send(
        harness.updates.command(ORGANIZER_CHEN, "/extend 张伟 paper 2027-03-14 02:30")
    )
    assert harness.last_text(ORGANIZER_CHEN).startswith(
        ZH(
            "{text} does not exist in that time zone: the clocks jump forward over it. "
            "Please choose another time."
        ).format(text="2027-03-14 02:30")
    )


async def test_schedule_for_the_year_9999_is_refused_with_a_reason(harness: Harness) -> None:
    await harness.enrol(WANG)
    await harness.send(harness.updates.command(WANG, "/schedule 9999-12-31"))
    assert harness.last_text(WANG) == EN("{text} is too far in the past or the future.").format(
        text="9999-12-31"
    )


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (InvalidDate("tomorrow"), DateProblem.UNREADABLE),
        (InvalidDate("25:00", DateProblem.NO_SUCH_TIME), DateProblem.NO_SUCH_TIME),
    ],
)
def test_every_date_problem_has_its_own_words(error: InvalidDate, problem: DateProblem) -> None:
    assert error.problem is problem
    texts = {error_text(InvalidDate("x", p), EN) for p in DateProblem}
    assert len(texts) == len(DateProblem)


# Notes of a call -------------------------------------------------------------------------


async def test_note_link_for_a_missing_checkin_answers_at_once_and_does_not_wait(
    harness: Harness,
) -> None:
    h = harness
    await h.enrol(ORGANIZER_CHEN)
    await h.send(h.updates.command(ORGANIZER_CHEN, "/note_987654"))
    assert h.last_text(ORGANIZER_CHEN) == ZH("There is no such check-in in your programme.")
    async with h.db.read() as session:
        organizer = await session.scalar(
            select(Person).where(Person.telegram_user_id == ORGANIZER_CHEN.id)
        )
    assert organizer is not None and organizer.awaiting is None
    await h.send(h.updates.command(ORGANIZER_CHEN, "/note_99999999999999999999999999"))
    assert h.last_text(ORGANIZER_CHEN) == ZH("There is no such check-in in your programme.")
    await h.send(h.updates.command(ORGANIZER_CHEN, "/note 99999999999999999999999 text"))
    assert h.last_text(ORGANIZER_CHEN) == ZH("Usage: /note RUN_NUMBER your notes of the call")


# NUL characters -----------------------------------------------------------------------------


async def test_nul_characters_are_stripped_before_the_database(db: Database) -> None:
    await seed(db)
    await enrol_cadres(db)
    async with db.read() as session:
        zhang = await session.scalar(select(Person).where(Person.name == "张伟"))
        assignment = await session.scalar(select(Assignment.id).where(Assignment.key == "stage-1"))
    assert zhang is not None and zhang.telegram_user_id is not None and assignment is not None
    actor = await load_actor(db, zhang.telegram_user_id)
    assert actor is not None
    await start_draft(db, actor, assignment, NOW)
    await add_text(db, zhang.id, "第一段\x00第二段", NOW)
    draft = await current_draft(db, zhang.id)
    assert draft is not None and draft.text == "第一段第二段"
    async with db.transaction() as session:
        await record(session, "test.nul", details={"text": "a\x00b", "k\x00": ["c\x00"]})
    async with db.read() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "test.nul"))
    assert event is not None and event.details == {"text": "ab", "k": ["c"]}


# Programme files ----------------------------------------------------------------------------


def test_yaml_anchors_and_aliases_are_refused_with_their_lines(tmp_path: Path) -> None:
    text = PROGRAMME_FILE.read_text(encoding="utf-8")
    text = text.replace("programme:\n", "programme: &main\n", 1)
    text += "\nextra: *main\n"
    path = tmp_path / "aliases.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DocumentError) as caught:
        plan_programme(path)
    messages = [str(problem) for problem in caught.value.problems]
    assert messages[0].startswith("aliases.yaml:3: YAML anchor &main is not allowed")
    assert "YAML alias *main is not allowed" in messages[1]


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        previous, name = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DocumentError) as caught:
        plan_programme(path)  # 9**10 strings if expanded; refused from the event stream
    assert len(caught.value.problems) == 10 + 9 * 9


# Enrolment codes -----------------------------------------------------------------------------


def test_codes_for_a_non_positive_number_of_days_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"LIAISON_DATA_DIR": str(tmp_path / "data"), "LIAISON_DATABASE_URL": ""}
    runner = CliRunner()
    assert runner.invoke(main, ["programme", "load", str(PROGRAMME_FILE)], env=env).exit_code == 0
    for days in ("-1", "0"):
        result = runner.invoke(
            main, ["codes", "--programme", PROGRAMME_ID, "--days", days], env=env
        )
        assert result.exit_code == 2 and "--days" in result.output
        assert "\t" not in result.output  # no code printed


async def test_issuing_codes_that_would_be_dead_is_refused(db: Database) -> None:
    await seed(db)
    with pytest.raises(ValueError, match="positive"):
        await issue_codes(db, FakeClock(NOW), PROGRAMME_ID, valid_for=timedelta(days=-1))


async def test_repeated_wrong_codes_lock_the_account_out_and_merge_in_the_audit(
    harness: Harness,
) -> None:
    h = harness
    (good,) = await issue_codes(h.db, h.clock, PROGRAMME_ID, names=["张伟"])
    for attempt in range(MAX_CODE_REFUSALS):
        await h.send(h.updates.command(STRANGER, f"/start WRONG{attempt}"))
    locked = EN.plural(
        "Too many wrong codes were sent from this account, so for your security no code is "
        "accepted from it for the next {minutes} minute. Please check the code with the "
        "organizers, or send /start and share your phone number instead.",
        "Too many wrong codes were sent from this account, so for your security no code is "
        "accepted from it for the next {minutes} minutes. Please check the code with the "
        "organizers, or send /start and share your phone number instead.",
        60,
    ).format(minutes=60)
    assert h.last_text(STRANGER) == locked
    # Even the right code is not tried while the lock lasts.
    await h.send(h.updates.command(STRANGER, f"/start {good.code}"))
    assert h.last_text(STRANGER) == locked
    assert await load_actor(h.db, STRANGER.id) is None
    async with h.db.read() as session:
        events = list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "enrolment.refused")
            )
        )
    assert len(events) == 1
    assert events[0].details["count"] == MAX_CODE_REFUSALS + 1
    assert events[0].details["reasons"] == {"code_invalid": MAX_CODE_REFUSALS, "locked": 1}
    h.clock.advance(LOCK_OUT)
    await h.send(h.updates.command(STRANGER, f"/start {good.code}"))
    actor = await load_actor(h.db, STRANGER.id)
    assert actor is not None and actor.name == "张伟"


async def test_many_refusals_in_one_window_are_one_audit_row(harness: Harness) -> None:
    h = harness
    for attempt in range(40):
        await h.send(h.updates.contact(STRANGER, f"+1919555{attempt:04d}", contact_user_id=999))
        h.clock.advance(timedelta(seconds=2))
    async with h.db.read() as session:
        rows = await session.scalar(
            select(func.count()).where(AuditEvent.action == "enrolment.refused")
        )
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "enrolment.refused")
        )
    assert rows == 1 and event is not None and event.details["count"] == 40
    assert ZHANG.id not in (event.telegram_user_id,)
