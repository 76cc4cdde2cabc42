"""Reviewing and scoring: the queue, the claim, rubric buttons, feedback, the decision that
reaches the cadre, and a revision request that reopens the assignment and its reminders."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from liaison.bot.sandbox.fake_updates import FakeUser
from liaison.storage.enums import OutboxKind, ReviewDecision, ReviewStatus
from liaison.storage.models import Extension, OutboxMessage, Review, StoredFile, Submission
from liaison.ui.callbacks import ReviewButton
from liaison.ui.i18n import translator
from liaison.ui.labels import score_text
from tests.conftest import ORGANIZER_CHEN, ORGANIZER_LIU, ZHANG, Harness
from tests.organizers import (
    OBSERVER_ZHAO,
    OTHER_ORGANIZER,
    enrol_observer,
    other_programme_organizer,
    person_id,
    submit_report,
)

ZH = translator("zh_CN")
EN = translator("en")


async def submitted(h: Harness) -> int:
    for user in (ZHANG, ORGANIZER_CHEN, ORGANIZER_LIU):
        await h.enrol(user)
    await submit_report(h, ZHANG, "第一阶段学习体会……")
    async with h.db.read() as session:
        found = await session.scalar(select(Submission.id).order_by(Submission.id.desc()))
    assert found is not None
    return found


async def tap(h: Harness, user: FakeUser, action: str, sid: int, a: int = 0, b: int = 0) -> None:
    await h.send(h.updates.callback(user, ReviewButton(action, sid, a, b).encode()))


async def review_of(h: Harness, sid: int) -> Review | None:
    async with h.db.read() as session:
        found: Review | None = await session.scalar(
            select(Review).where(Review.submission_id == sid)
        )
        return found


async def test_review_round_trip_scores_accepts_and_tells_the_cadre(harness: Harness) -> None:
    h = harness
    sid = await submitted(h)
    await h.send(h.updates.command(ORGANIZER_CHEN, "/review"))
    queue = h.last_text(ORGANIZER_CHEN)
    assert ZH("Awaiting review, oldest first: {count}").format(count=1) in queue
    assert "张伟" in queue and "第一阶段报告 v1" in queue

    await tap(h, ORGANIZER_CHEN, "o", sid)
    texts = h.texts(ORGANIZER_CHEN)
    assert "第一阶段学习体会……" in texts[-2]
    assert ZH("Points for {name}:").format(name="内容") in texts[-1]
    await tap(h, ORGANIZER_CHEN, "s", sid, 0, 4)
    await tap(h, ORGANIZER_CHEN, "s", sid, 1, 3)
    card = h.request.sent("editMessageText")[-1]["text"]
    assert ZH("Score: {score}").format(score=score_text(78.8, ZH)) in card
    await h.send(h.updates.text(ORGANIZER_CHEN, "结构清晰，建议补充数据。"))
    assert ZH("Feedback saved.") in h.texts(ORGANIZER_CHEN)[-2]
    await tap(h, ORGANIZER_CHEN, "a", sid)
    assert ZH("They have been told.") in h.request.sent("editMessageText")[-1]["text"]

    await h.dispatch()
    told = h.last_text(ZHANG)
    assert (
        ZH("Your {title} (version {version}) has been reviewed and accepted.").format(
            title="第一阶段报告", version=1
        )
        in told
    )
    assert "内容: 4/5" in told and "文字: 3/4" in told
    assert ZH("Feedback: {text}").format(text="结构清晰，建议补充数据。") in told
    async with h.db.read() as session:
        submission = await session.get_one(Submission, sid)
    assert submission.review_status is ReviewStatus.REVIEWED and submission.score == 78.8
    assert submission.reviewed_by_id == await person_id(h, "陈组织")
    await h.send(h.updates.command(ZHANG, "/submissions"))
    listing = h.last_text(ZHANG)
    assert ZH("accepted") in listing and score_text(78.8, ZH) in listing


async def test_revision_request_with_voice_feedback_reopens_the_work_and_its_reminders(
    harness: Harness,
) -> None:
    h = harness
    sid = await submitted(h)
    await tap(h, ORGANIZER_LIU, "o", sid)
    h.request.files["files/fb-voice"] = b"OggS" + b"\x00" * 2000
    await h.send(h.updates.voice(ORGANIZER_LIU, file_id="fb-voice", duration=20, size=2004))
    assert EN("Feedback saved.") in "\n".join(h.texts(ORGANIZER_LIU))
    await tap(h, ORGANIZER_LIU, "r", sid)
    await tap(h, ORGANIZER_LIU, "d", sid, 7)
    async with h.db.read() as session:
        submission = await session.get_one(Submission, sid)
        extension = await session.scalar(select(Extension))
        review = await session.scalar(select(Review))
        voice = await session.get_one(StoredFile, review.feedback_file_id)  # type: ignore[union-attr]
    assert submission.review_status is ReviewStatus.RETURNED
    assert review is not None and review.decision is ReviewDecision.REVISION
    assert extension is not None and extension.due_at == review.revision_due_at
    assert voice.archive_path.endswith(".ogg")

    h.request.clear()
    await h.dispatch()
    methods = [c.method for c in h.request.calls if c.params.get("chat_id") == ZHANG.id]
    assert methods == ["sendVoice", "sendMessage"]
    notice = h.last_text(ZHANG)
    revision = ZH(
        "Your {title} (version {version}) needs a revision. Please send a new version with "
        "{command} by {when}."
    )
    when = ZH.with_other_zone(extension.due_at, "America/New_York", "Asia/Shanghai", full=True)
    assert notice.splitlines()[0] == "↩ " + revision.format(
        title="第一阶段报告", version=1, command="/report", when=when
    )
    assert ZH("The organizers' voice feedback is above.") in notice

    # Reopened: listed again, and reminded 24 hours before the new due time.
    await h.send(h.updates.command(ZHANG, "/report"))
    assert "第一阶段报告" in h.last_text(ZHANG)
    h.clock.set(extension.due_at - timedelta(hours=23))
    await h.tick()
    async with h.db.read() as session:
        kinds = list(
            await session.scalars(
                select(OutboxMessage.kind).where(
                    OutboxMessage.person_id == await person_id(h, "张伟")
                )
            )
        )
    assert OutboxKind.DEADLINE_REMINDER in kinds
    assert h.last_text(ZHANG).startswith("⏰ ")

    # A second version goes back into the queue.
    await submit_report(h, ZHANG, "修改稿")
    await h.send(h.updates.command(ORGANIZER_CHEN, "/review stage-1"))
    assert "第一阶段报告 v2" in h.last_text(ORGANIZER_CHEN)


async def test_second_organizer_cannot_take_a_claimed_review_and_nothing_is_written(
    harness: Harness,
) -> None:
    h = harness
    sid = await submitted(h)
    await tap(h, ORGANIZER_CHEN, "o", sid)
    for action, a, b in (("o", 0, 0), ("s", 0, 5), ("a", 0, 0)):
        await tap(h, ORGANIZER_LIU, action, sid, a, b)
        answer = h.request.sent("answerCallbackQuery")[-1]
        assert answer["text"] == EN(
            "{name} is reviewing this submission right now; choose another one."
        ).format(name="陈组织")
    review = await review_of(h, sid)
    assert review is not None and review.reviewer_id == await person_id(h, "陈组织")
    assert review.scores == {} and review.decided_at is None
    await h.send(h.updates.command(ORGANIZER_LIU, "/review"))
    assert EN("being reviewed by {name}").format(name="陈组织") in h.last_text(ORGANIZER_LIU)


async def test_forged_score_out_of_range_and_incomplete_rubric_are_refused(
    harness: Harness,
) -> None:
    h = harness
    sid = await submitted(h)
    await tap(h, ORGANIZER_CHEN, "o", sid)
    for criterion, points in ((0, 9), (1, 0), (7, 1)):
        await tap(h, ORGANIZER_CHEN, "s", sid, criterion, points)
        answer = h.request.sent("answerCallbackQuery")[-1]["text"]
        assert answer == ZH("That score is not on this criterion's scale.")
    await tap(h, ORGANIZER_CHEN, "a", sid)
    assert h.request.sent("answerCallbackQuery")[-1]["text"] == ZH(
        "Score every criterion before accepting."
    )
    review = await review_of(h, sid)
    assert review is not None and review.scores == {} and review.decided_at is None


async def test_cadres_observers_and_other_programmes_cannot_review(harness: Harness) -> None:
    h = harness
    sid = await submitted(h)
    await enrol_observer(h)
    await other_programme_organizer(h)
    for user in (ZHANG, OBSERVER_ZHAO):
        await h.send(h.updates.command(user, "/review"))
        assert h.last_text(user) == ZH("Only organizers can do this.")
        await tap(h, user, "o", sid)
        assert h.request.sent("answerCallbackQuery")[-1]["text"] == ZH(
            "Only organizers can do this."
        )
    await tap(h, OTHER_ORGANIZER, "o", sid)
    assert h.request.sent("answerCallbackQuery")[-1]["text"] == EN(
        "This button is no longer valid."
    )
    await h.send(h.updates.command(OTHER_ORGANIZER, "/review"))
    assert "张伟" not in h.last_text(OTHER_ORGANIZER)
    assert await review_of(h, sid) is None
