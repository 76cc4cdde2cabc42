"""/select through the bot: 13 of the sample's 23 candidates chosen, everyone told in their
own language, every decision audited, a decision changed later, and who may not select."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from liaison.bot.sandbox.fake_updates import FakeUser
from liaison.services.clock import FakeClock
from liaison.services.people import actor_from
from liaison.services.selection.decisions import Card, confirm, mark
from liaison.services.selection.errors import NothingToConfirm
from liaison.services.selection.outcome import outcome_view
from liaison.services.selection.ranking import ranked
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, PersonStatus
from liaison.storage.models import OutboxMessage, Person, Programme, SelectionMark
from liaison.ui.callbacks import SelectionButton
from liaison.ui.i18n import translator
from liaison.ui.selection import render_outcome
from tests.conftest import Harness
from tests.selection_support import (
    OBSERVER,
    ORGANIZER,
    SAMPLE_ID,
    audit,
    count,
    enrol,
    fake_user,
    load_sample,
    sample_harness,
    shortlist_everyone,
)

# Tuesday 29 July 2014, 09:00 in Chengdu: the morning of the final selection.
MORNING = datetime(2014, 7, 29, 1, 0, tzinfo=UTC)
# Two of the fifteen with a BFT advanced certificate were not chosen (the original account:
# "综合政治素养、工作能力和岗位需求").
PASSED_OVER = {"罗雅琴", "唐建国"}
ZH = translator("zh_CN")
EN = translator("en")


@dataclass
class Sample(Harness):
    """The harness on the sample programme, with its people by name."""

    people: dict[str, Person] = field(default_factory=dict)


@pytest.fixture
async def bot(sqlite_db: Database, tmp_path: Path) -> AsyncIterator[Sample]:
    async with sample_harness(sqlite_db, FakeClock(MORNING), tmp_path) as harness:
        await shortlist_everyone(harness.db)
        people = await enrol(harness.db)
        yield Sample(**{f.name: getattr(harness, f.name) for f in fields(Harness)}, people=people)


def person(h: Sample, name: str) -> Person:
    return h.people[name]


def user(h: Sample, name: str) -> FakeUser:
    return fake_user(person(h, name))


async def ranking_order(db: Database) -> list[Person]:
    async with db.read() as session:
        order = [c.person_id for c in (await ranked(session, SAMPLE_ID)).candidates]
        people = {p.id: p for p in await session.scalars(select(Person))}
    return [people[pid] for pid in order]


async def tap(h: Sample, who: FakeUser, action: str, person_id: int = 0) -> None:
    await h.send(h.updates.callback(who, SelectionButton(action, person_id).encode()))


def last_edit(h: Sample) -> str:
    return str(h.request.sent("editMessageText")[-1]["text"])


def alerts(h: Sample) -> list[str]:
    return [str(c.get("text", "")) for c in h.request.sent("answerCallbackQuery")]


async def choose(h: Sample, chosen: set[str]) -> None:
    """Walks every candidate from /select: Select for the chosen, Not select for the rest."""
    organizer = user(h, ORGANIZER)
    await h.send(h.updates.command(organizer, "/select"))
    for candidate in await ranking_order(h.db):
        await tap(h, organizer, "y" if candidate.name in chosen else "n", candidate.id)


async def statuses(db: Database) -> dict[str, PersonStatus]:
    async with db.read() as session:
        return {p.name: p.status for p in await session.scalars(select(Person))}


async def expected_outcome(h: Sample, name: str) -> str:
    view = await outcome_view(h.db, person(h, name).id, h.clock.now())
    return render_outcome(view, EN if person(h, name).locale == "en" else ZH)


async def test_selection_round_trip_13_of_23_everyone_told_in_their_language(
    bot: Sample,
) -> None:
    h = bot
    order = await ranking_order(h.db)
    assert len(order) == 23
    chosen = {p.name for p in order[:15]} - PASSED_OVER
    assert len(chosen) == 13
    organizer = user(h, ORGANIZER)
    await h.send(h.updates.command(organizer, "/select"))
    first = h.last_text(organizer)
    assert ZH("Selection {position} of {total}").format(position=1, total=23) in first
    assert order[0].name in first
    for candidate in order:
        await tap(h, organizer, "y" if candidate.name in chosen else "n", candidate.id)
    summary = last_edit(h)
    assert ZH("Selection summary") in summary
    assert ZH("Selected: {count} (places: {places})").format(count=13, places=13) in summary
    assert ZH("Not selected: {count}").format(count=10) in summary
    assert await count(h.db, SelectionMark) == 23  # nothing applied before Confirm
    assert set((await statuses(h.db)).values()) >= {PersonStatus.SHORTLISTED}

    await tap(h, organizer, "c")
    confirmed = last_edit(h)
    assert ZH("{count} of them are being told in their own language.").format(count=23) in (
        confirmed
    )
    now = await statuses(h.db)
    cadres = {p.name for p in order}
    assert {n for n in cadres if now[n] is PersonStatus.SELECTED} == chosen
    assert {n for n in cadres if now[n] is PersonStatus.NOT_SELECTED} == cadres - chosen
    assert await count(h.db, SelectionMark) == 0

    decided = await audit(h.db, "selection.decided")
    assert len(decided) == 23
    assert {e.actor_person_id for e in decided} == {person(h, ORGANIZER).id}
    assert {e.at for e in decided} == {MORNING}
    assert {(e.details["name"], e.details["from"], e.details["to"]) for e in decided} == {
        (n, "shortlisted", "selected" if n in chosen else "not_selected") for n in cadres
    }
    assert len(await audit(h.db, "selection.confirmed")) == 1

    await h.dispatch()
    for name in cadres:
        assert h.texts(user(h, name)) == [await expected_outcome(h, name)], name
    # One English reader chosen and one passed over got the English texts.
    assert h.texts(user(h, "刘婧"))[0].startswith("🎉 Dear 刘婧")
    assert h.texts(user(h, "曾丽"))[0].startswith("Dear 曾丽, thank you")

    # A second tap on Confirm changes nothing and says so.
    await tap(h, organizer, "c")
    assert alerts(h)[-1] == ZH(
        "There is nothing to confirm: the selection on record is already as marked."
    )
    assert len(await audit(h.db, "selection.decided")) == 23


async def test_selection_changed_later_is_applied_told_and_audited(bot: Sample) -> None:
    h = bot
    order = await ranking_order(h.db)
    chosen = {p.name for p in order[:15]} - PASSED_OVER
    await choose(h, chosen)
    organizer = user(h, ORGANIZER)
    await tap(h, organizer, "c")
    await h.dispatch()
    h.clock.set(datetime(2014, 8, 1, 2, 0, tzinfo=UTC))
    h.request.clear()

    # 罗雅琴 in, 马骁 out: the walk opens at the named person.
    await h.send(h.updates.command(organizer, "/select 罗雅琴"))
    card = h.last_text(organizer)
    assert "罗雅琴" in card
    assert ZH("Decision: {decision}").format(decision=ZH("Not selected")) in card
    await tap(h, organizer, "y", person(h, "罗雅琴").id)
    await h.send(h.updates.command(organizer, "/select 马骁"))
    await tap(h, organizer, "n", person(h, "马骁").id)
    await tap(h, organizer, "s")
    summary = last_edit(h)
    assert (
        ZH(
            "Changes to confirm: {count}. On Confirm the statuses change and each person "
            "concerned is told in their own language."
        ).format(count=2)
        in summary
    )
    await tap(h, organizer, "c")
    now = await statuses(h.db)
    assert (now["罗雅琴"], now["马骁"]) == (PersonStatus.SELECTED, PersonStatus.NOT_SELECTED)
    changes = (await audit(h.db, "selection.decided"))[23:]
    assert [(e.details["name"], e.details["from"], e.details["to"]) for e in changes] == [
        ("罗雅琴", "not_selected", "selected"),
        ("马骁", "selected", "not_selected"),
    ]
    assert {e.at for e in changes} == {h.clock.now()}
    await h.dispatch()
    assert h.texts(user(h, "罗雅琴")) == [await expected_outcome(h, "罗雅琴")]
    assert h.texts(user(h, "马骁")) == [await expected_outcome(h, "马骁")]
    assert h.texts(user(h, "刘婧")) == []  # unchanged decisions are not told again


async def test_selecting_more_than_the_places_warns_and_confirms_anyway(bot: Sample) -> None:
    h = bot
    order = await ranking_order(h.db)
    chosen = {p.name for p in order[:14]}
    await choose(h, chosen)
    summary = last_edit(h)
    warning = ZH(
        "{count} selected, more than the programme's {places} places. You can still confirm."
    ).format(count=14, places=13)
    assert warning in summary
    buttons = h.request.sent("editMessageText")[-1]["reply_markup"]["inline_keyboard"]
    assert buttons[0][0]["text"] == "✅ " + ZH("Confirm anyway")
    await tap(h, user(h, ORGANIZER), "c")
    assert sum(s is PersonStatus.SELECTED for s in (await statuses(h.db)).values()) == 14
    confirmed = await audit(h.db, "selection.confirmed")
    assert confirmed[0].details["selected_total"] == 14
    assert confirmed[0].details["places"] == 13


async def test_a_decision_reversed_before_it_went_out_is_never_announced(bot: Sample) -> None:
    h = bot
    organizer, target = user(h, ORGANIZER), person(h, "王思远")
    await h.send(h.updates.command(organizer, "/select 王思远"))
    await tap(h, organizer, "y", target.id)
    await tap(h, organizer, "c")
    await h.send(h.updates.command(organizer, "/select 王思远"))
    await tap(h, organizer, "n", target.id)
    await tap(h, organizer, "c")
    await h.dispatch()
    assert (await statuses(h.db))["王思远"] is PersonStatus.NOT_SELECTED
    assert h.texts(user(h, "王思远")) == [await expected_outcome(h, "王思远")]
    async with h.db.read() as session:
        kinds = list(
            await session.scalars(
                select(OutboxMessage.state).where(
                    OutboxMessage.kind == OutboxKind.SELECTION_OUTCOME,
                    OutboxMessage.person_id == target.id,
                )
            )
        )
    assert sorted(kinds) == ["sent", "skipped"]


async def test_candidates_not_in_the_bot_are_named_for_the_organizer_to_tell(
    bot: Sample,
) -> None:
    h = bot
    async with h.db.transaction() as session:
        absent = await session.get_one(Person, person(h, "胡斌").id)
        absent.telegram_chat_id = absent.telegram_user_id = None
    organizer = user(h, ORGANIZER)
    await h.send(h.updates.command(organizer, "/select 胡斌"))
    await tap(h, organizer, "n", person(h, "胡斌").id)
    await tap(h, organizer, "c")
    assert ZH("Not reachable through the bot; please tell them yourself: {names}").format(
        names="胡斌"
    ) in last_edit(h)
    assert await count(h.db, OutboxMessage) == 0
    assert (await statuses(h.db))["胡斌"] is PersonStatus.NOT_SELECTED


async def test_observer_reads_the_ranking_but_cannot_select(bot: Sample) -> None:
    h = bot
    observer = user(h, OBSERVER)
    await h.send(h.updates.command(observer, "/candidates"))
    ranking = h.last_text(observer)
    assert ZH("Candidates, best first") in ranking
    assert all(p.name in ranking for p in await ranking_order(h.db))
    await h.send(h.updates.command(observer, "/select"))
    assert h.last_text(observer) == ZH("Only organizers can do this.")
    await tap(h, observer, "y", person(h, "王思远").id)
    await tap(h, observer, "c")
    assert alerts(h)[-2:] == [ZH("Only organizers can do this.")] * 2
    assert await count(h.db, SelectionMark) == 0
    assert (await statuses(h.db))["王思远"] is PersonStatus.SHORTLISTED


async def test_a_cadre_can_neither_select_nor_read_the_ranking(bot: Sample) -> None:
    h = bot
    cadre = user(h, "刘婧")  # reads English
    await h.send(h.updates.command(cadre, "/select"))
    assert h.last_text(cadre) == EN("Only organizers can do this.")
    await h.send(h.updates.command(cadre, "/candidates"))
    assert h.last_text(cadre) == EN("Only organizers and observers can see this.")
    await tap(h, cadre, "y", person(h, "刘婧").id)
    assert await count(h.db, SelectionMark) == 0
    assert await audit(h.db, "selection.decided") == []


async def test_walk_marks_survive_between_taps_and_cancel_drops_them(bot: Sample) -> None:
    h = bot
    organizer = user(h, ORGANIZER)
    first, second = (await ranking_order(h.db))[:2]
    await h.send(h.updates.command(organizer, "/select"))
    await tap(h, organizer, "y", first.id)
    await tap(h, organizer, "y", first.id)  # a double tap
    assert await count(h.db, SelectionMark) == 1
    assert second.name in last_edit(h)
    await tap(h, organizer, "v", first.id)  # back to the first: the mark shows
    assert ZH("Decision: {decision}").format(
        decision=ZH("{decision} (to confirm)").format(decision=ZH("Selected"))
    ) in last_edit(h)
    await tap(h, organizer, "x")
    assert ZH("Selection closed; nothing changed. Unconfirmed marks dropped: {count}.").format(
        count=1
    ) in last_edit(h)
    assert await count(h.db, SelectionMark) == 0
    assert (await statuses(h.db))[first.name] is PersonStatus.SHORTLISTED


async def test_marks_and_confirm_run_on_both_databases(db: Database) -> None:
    await load_sample(db)
    await shortlist_everyone(db)
    people = await enrol(db)
    async with db.read() as session:
        organizer = actor_from(people[ORGANIZER], await session.get_one(Programme, SAMPLE_ID))
    first, second = (await ranking_order(db))[:2]
    await mark(db, organizer, first.id, PersonStatus.NOT_SELECTED, MORNING)
    await mark(db, organizer, first.id, PersonStatus.SELECTED, MORNING)  # changed its mind
    shown = await mark(db, organizer, second.id, PersonStatus.NOT_SELECTED, MORNING)
    assert isinstance(shown, Card) and shown.position == 3 and shown.selected == 1
    assert await count(db, SelectionMark) == 2
    confirmed = await confirm(db, organizer, MORNING)
    assert (confirmed.selected, confirmed.not_selected) == ([first.name], [second.name])
    assert await count(db, SelectionMark) == 0
    assert await count(db, OutboxMessage) == 2
    assert len(await audit(db, "selection.decided")) == 2
    with pytest.raises(NothingToConfirm):
        await confirm(db, organizer, MORNING)
