"""/cohort and the dossier: those needing attention first, paging, names to choose from,
and read-only access for observers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from liaison.storage.enums import Role
from liaison.storage.models import AuditEvent, Person
from liaison.ui.callbacks import CohortButton, PersonButton
from liaison.ui.i18n import translator
from tests.conftest import LI, ORGANIZER_CHEN, ORGANIZER_LIU, PROGRAMME_ID, ZHANG, Harness
from tests.organizers import (
    OBSERVER_ZHAO,
    OTHER_ORGANIZER,
    answer_checkin,
    enrol_observer,
    other_programme_organizer,
    person_id,
    submit_report,
)

ZH = translator("zh_CN")
EN = translator("en")
FRIDAY_SLOT = datetime(2026, 10, 31, 0, 0, tzinfo=UTC)


async def add_cadres(h: Harness, count: int) -> None:
    async with h.db.transaction() as session:
        for index in range(count):
            session.add(
                Person(
                    programme_id=PROGRAMME_ID,
                    name=f"学员{index:02d}",
                    phone=f"+861370000{index:04d}",
                    role=Role.CADRE,
                    timezone="America/New_York",
                )
            )


def buttons(h: Harness, user: object) -> list[str]:
    params = [
        p
        for p in h.request.sent("sendMessage") + h.request.sent("editMessageText")
        if p.get("chat_id") == user.id  # type: ignore[attr-defined]
    ]
    markup = params[-1].get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_cohort_shows_those_needing_attention_first_and_pages_past_20(
    harness: Harness,
) -> None:
    h = harness
    for user in (ZHANG, LI, ORGANIZER_CHEN):
        await h.enrol(user)
    await add_cadres(h, 20)
    async with h.db.transaction() as session:
        li = await session.get_one(Person, await person_id(h, "李娜"))
        li.unreachable_at = h.clock.now()
    await h.send(h.updates.command(ORGANIZER_CHEN, "/cohort"))
    text = h.last_text(ORGANIZER_CHEN)
    lines = text.splitlines()
    assert (
        ZH("Cohort: {count} cadres, {attention} needing attention").format(count=23, attention=1)
        in lines[0]
    )
    assert ZH("(page {page} of {pages})").format(page=1, pages=2) in lines[0]
    assert lines[1].startswith("📵 <b>李娜</b>")
    assert len([line for line in lines if "/p_" in line and line[0] != " "]) == 21
    assert buttons(h, ORGANIZER_CHEN) == [CohortButton(1).encode()]

    await h.send(h.updates.callback(ORGANIZER_CHEN, CohortButton(1).encode()))
    edited = h.request.sent("editMessageText")[-1]["text"]
    assert ZH("(page {page} of {pages})").format(page=2, pages=2) in edited
    assert "学员19" in edited and "张伟" not in edited
    assert buttons(h, ORGANIZER_CHEN) == [CohortButton(0).encode()]


async def test_cohort_line_has_local_time_phase_last_checkin_and_open_work(
    harness: Harness,
) -> None:
    h = harness
    for user in (ZHANG, ORGANIZER_LIU):
        await h.enrol(user)
    h.clock.set(FRIDAY_SLOT)
    await h.tick()
    await answer_checkin(h, ZHANG, "张伟", wellbeing=4)
    await h.send(h.updates.command(ORGANIZER_LIU, "/cohort"))
    line = next(line for line in h.last_text(ORGANIZER_LIU).splitlines() if "张伟" in line)
    assert EN.weekday_clock(h.clock.now(), "America/New_York") in line
    assert "Theory month abroad" in line
    assert (
        EN("last check-in {day}: {state}").format(
            day=EN.short_day(FRIDAY_SLOT.date() - timedelta(days=1)), state=EN("answered")
        )
        in line
    )
    assert EN("wellbeing {value}").format(value=4) in line
    assert EN("open work {count}").format(count=2) in line  # the report and the paper


async def test_dossier_shows_selection_checkins_work_notes_and_absences(
    harness: Harness,
) -> None:
    h = harness
    for user in (ZHANG, ORGANIZER_CHEN):
        await h.enrol(user)
    await submit_report(h, ZHANG)
    h.clock.set(FRIDAY_SLOT)
    await h.tick()
    run = await answer_checkin(h, ZHANG, "张伟", wellbeing=2, need_help="yes")
    await h.send(h.updates.command(ORGANIZER_CHEN, f"/note {run.id} 电话已沟通，安排了住宿调换"))
    await h.send(h.updates.command(ORGANIZER_CHEN, "/absent 张伟 2026-11-10 2026-11-12 参加会议"))
    await h.send(h.updates.command(ORGANIZER_CHEN, "/extend 张伟 paper 2027-03-27"))
    h.request.clear()
    await h.send(h.updates.command(ORGANIZER_CHEN, "/person 张伟"))
    text = "\n".join(h.texts(ORGANIZER_CHEN))
    assert text.startswith("👤 <b>张伟</b> · 锦江区商务局 科长")
    assert (
        ZH("Selection: {details}").format(
            details=" · ".join(
                [
                    ZH("test batch {batch}").format(batch=1),
                    ZH("English {score}").format(score="82.5"),
                    ZH("BFT {level}").format(level="高级"),
                ]
            )
        )
        in text
    )
    assert "您最近状态如何？ → 2" in text
    assert ZH("Recent check-ins") in text and ZH("Call notes") in text
    assert "电话已沟通，安排了住宿调换" in text
    assert "第一阶段报告" in text and ZH("awaiting review") in text
    assert ZH("(extended)") in text
    assert "参加会议" in text
    assert (
        ZH("Local time now: {time}").format(
            time=ZH.with_other_zone(h.clock.now(), "America/New_York", "Asia/Shanghai")
        )
        in text
    )


async def test_a_name_matching_several_people_offers_a_choice(harness: Harness) -> None:
    h = harness
    await h.enrol(ORGANIZER_LIU)
    async with h.db.transaction() as session:
        session.add(
            Person(
                programme_id=PROGRAMME_ID, name="张伟明", phone="+8613700001111", role=Role.CADRE
            )
        )
    await h.send(h.updates.command(ORGANIZER_LIU, "/person 张"))
    assert h.last_text(ORGANIZER_LIU) == EN("Several people match. Whose dossier?")
    choices = buttons(h, ORGANIZER_LIU)
    assert choices == [
        PersonButton(await person_id(h, "张伟")).encode(),
        PersonButton(await person_id(h, "张伟明")).encode(),
    ]
    await h.send(h.updates.callback(ORGANIZER_LIU, choices[1]))
    assert h.last_text(ORGANIZER_LIU).startswith("👤 <b>张伟明</b>")
    await h.send(h.updates.command(ORGANIZER_LIU, "/person 王五"))
    assert h.last_text(ORGANIZER_LIU) == EN("Nobody called {name} is on the roster.").format(
        name="王五"
    )


async def test_observer_reads_cohort_and_dossier_cadre_and_other_programme_cannot(
    harness: Harness,
) -> None:
    h = harness
    await h.enrol(ZHANG)
    await enrol_observer(h)
    await other_programme_organizer(h)
    zhang = await person_id(h, "张伟")
    async with h.db.read() as session:
        before = await session.scalar(select(func.count()).select_from(AuditEvent))
    await h.send(h.updates.command(OBSERVER_ZHAO, "/cohort"))
    assert "张伟" in h.last_text(OBSERVER_ZHAO)
    await h.send(h.updates.command(OBSERVER_ZHAO, f"/p_{zhang}"))
    assert h.last_text(OBSERVER_ZHAO).startswith("👤 <b>张伟</b>")
    for command in ("/cohort", "/person 李娜", f"/p_{zhang}"):
        await h.send(h.updates.command(ZHANG, command))
        assert h.last_text(ZHANG) == ZH("Only organizers and observers can see this.")
    await h.send(h.updates.command(OTHER_ORGANIZER, f"/p_{zhang}"))
    assert h.last_text(OTHER_ORGANIZER) == EN("Nobody called {name} is on the roster.").format(
        name=str(zhang)
    )
    await h.send(h.updates.callback(OTHER_ORGANIZER, PersonButton(zhang).encode()))
    await h.send(h.updates.command(OTHER_ORGANIZER, "/person 张伟"))
    assert "张伟" not in "\n".join(h.texts(OTHER_ORGANIZER)).replace(
        EN("Nobody called {name} is on the roster.").format(name="张伟"), ""
    )
    async with h.db.read() as session:
        after = await session.scalar(select(func.count()).select_from(AuditEvent))
    assert after == before
