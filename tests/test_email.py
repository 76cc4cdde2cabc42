"""E-mail through a real SMTP server on 127.0.0.1 (aiosmtpd): digests, exports, refusals."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from liaison.sender.email_sender import EmailSender, Security, SmtpConfig
from liaison.services.clock import FakeClock
from liaison.services.digest import build_digest
from liaison.services.exports.desk import ExportDesk
from liaison.services.exports.kinds import ExportKind
from liaison.services.mail.requests import request_export_email
from liaison.services.people import Actor, actor_by_id
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, OutboxState, PersonStatus, Role
from liaison.storage.models import AuditEvent, OutboxMessage, Person
from liaison.ui.digest import mail_delayed_text, render_digest
from liaison.ui.email import Chart, Mail, compose, plain
from liaison.ui.i18n import Translator, translator
from liaison.ui.outbox import RENDERERS
from tests.conftest import PROGRAMME_ID
from tests.history import build_history

ZH = translator("zh_CN")
EN = translator("en")
# The test programme's digest is at 08:00 in Beijing: 00:00 UTC.
BEFORE_DIGEST = datetime(2026, 11, 19, 23, 0, tzinfo=UTC)
SENDER = "Liaison <liaison@jinjiang.gov.cn>"
ZH_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass
class Sink:
    """An SMTP handler that keeps what it receives and refuses addresses it is told to."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.received if address in rcpt]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def mailer(db: Database, clock: FakeClock, port: int, data_dir: Path) -> EmailSender:
    config = SmtpConfig("127.0.0.1", port, Security.NONE, SENDER, timeout=5)
    return EmailSender(db, clock, config, data_dir, ExportDesk())


async def outbox(db: Database, kind: OutboxKind) -> list[OutboxMessage]:
    async with db.read() as session:
        return list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
            )
        )


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def assert_inline_chart(message: EmailMessage, t: Translator) -> None:
    """The digest's chart travels as an image/png part related to the HTML, which shows it."""
    assert digest_has_chart_part(message)
    related = message.get_body(("related",))
    assert related is not None and related.get_content_type() == "multipart/related"
    images = [p for p in related.iter_parts() if p.get_content_type() == "image/png"]
    assert len(images) == 1
    (image,) = images
    png = image.get_content()
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert image.get_content_disposition() == "inline"
    cid = str(image["Content-ID"])
    html = body(message, "html")
    assert f'<img src="cid:{cid[1:-1]}" alt="{t("Check-ins, last 14 days")}">' in html
    # The plain-text alternative stays, without the image.
    alternative = message.get_body(("plain",))
    assert alternative is not None and "cid:" not in str(alternative.get_content())


def digest_has_chart_part(message: EmailMessage) -> bool:
    return any(part.get_content_type() == "image/png" for part in message.walk())


async def test_digest_day_passes_and_each_reader_gets_it_by_email_in_their_language(
    db: Database, tmp_path: Path, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    await build_history(db, tmp_path)
    clock = FakeClock(BEFORE_DIGEST)
    sender = mailer(db, clock, port, tmp_path)
    assert (await sender.tick()).sent == 0
    clock.advance(timedelta(hours=1, minutes=1))
    report = await sender.tick()
    assert report.sent == 2
    assert await sender.tick() == type(report)()  # planned once, sent once
    until = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    digest = await build_digest(db, PROGRAMME_ID, until)
    async with db.read() as session:
        people = {p.name: p for p in await session.scalars(select(Person))}
    for name, t in (("陈组织", ZH), ("Organizer Liu", EN)):
        person = people[name]
        assert person.email is not None
        (message,) = sink.to(person.email)
        reader = await actor_by_id(db, person.id)
        assert reader is not None
        title = t.pick("测试培训项目", "Test Programme")
        assert message["Subject"] == t("Daily digest: {programme}, {day}").format(
            programme=title, day=t.long_date(until.astimezone(ZH_ZONE).date())
        )
        assert message["From"] == SENDER
        assert person.email in message["To"]
        expected = render_digest(digest, reader, t)
        text = body(message, "plain")
        assert plain(expected) in text
        assert t("Sent by Liaison. Reply to the organizers, not to this address.") in text
        html = body(message, "html")
        for line in expected.split("\n"):
            assert line in html
        assert_inline_chart(message, t)
    for row in await outbox(db, OutboxKind.EMAIL_DIGEST):
        assert row.state is OutboxState.SENT


async def test_mail_server_down_delays_mail_and_the_next_digest_says_so(
    db: Database, tmp_path: Path, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    await build_history(db, tmp_path)
    clock = FakeClock(BEFORE_DIGEST + timedelta(hours=1, minutes=1))
    down = mailer(db, clock, free_port(), tmp_path)  # nothing listens there
    report = await down.tick()
    assert report.delayed == 2 and report.sent == 0
    rows = await outbox(db, OutboxKind.EMAIL_DIGEST)
    assert {(r.state, r.attempts) for r in rows} == {(OutboxState.PENDING, 1)}
    assert all(r.last_error and r.due_at > clock.now() for r in rows)
    # The Telegram digest tells the organizers that mail is delayed.
    digest = await build_digest(db, PROGRAMME_ID, clock.now())
    assert digest.mail_delayed == 2
    async with db.read() as session:
        chen = await session.scalar(select(Person).where(Person.name == "陈组织"))
    assert chen is not None
    reader = await actor_by_id(db, chen.id)
    assert reader is not None
    assert mail_delayed_text(2, ZH) in render_digest(digest, reader, ZH)
    # The server is back: after the backoff, the mail goes out.
    up = mailer(db, clock, port, tmp_path)
    assert (await up.run_once()).sent == 0
    clock.advance(timedelta(minutes=2))
    assert (await up.run_once()).sent == 2
    assert len(sink.received) == 2


async def test_refused_address_fails_for_good_and_the_organizers_are_told(
    db: Database, tmp_path: Path, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    await build_history(db, tmp_path)
    sink.refuse.add("liu@jinjiang.gov.cn")
    clock = FakeClock(BEFORE_DIGEST + timedelta(hours=1, minutes=1))
    sender = mailer(db, clock, port, tmp_path)
    report = await sender.tick()
    assert (report.sent, report.refused) == (1, 1)
    failed = [r for r in await outbox(db, OutboxKind.EMAIL_DIGEST) if r.state is OutboxState.FAILED]
    assert len(failed) == 1 and "550" in str(failed[0].last_error)
    told = await outbox(db, OutboxKind.EMAIL_REFUSED_REPORT)
    assert len(told) == 2  # both organizers, in Telegram
    assert told[0].payload["address"] == "liu@jinjiang.gov.cn"
    clock.advance(timedelta(hours=2))
    assert (await sender.tick()).refused == 0  # never retried
    async with db.read() as session:
        assert await session.scalar(select(AuditEvent).where(AuditEvent.action == "email.refused"))
    assert RENDERERS[OutboxKind.EMAIL_REFUSED_REPORT] is not None


async def test_export_requested_by_email_arrives_as_an_attachment(
    db: Database, tmp_path: Path, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    await build_history(db, tmp_path)
    clock = FakeClock(datetime(2026, 11, 20, 6, 0, tzinfo=UTC))
    async with db.read() as session:
        chen = await session.scalar(select(Person).where(Person.name == "陈组织"))
    assert chen is not None
    actor = await actor_by_id(db, chen.id)
    assert actor is not None
    address = await request_export_email(
        db, actor, ExportKind.WORKBOOK, clock.now(), mail_enabled=True
    )
    assert address == "chen@jinjiang.gov.cn"
    sender = mailer(db, clock, port, tmp_path)
    assert (await sender.run_once()).sent == 1
    (message,) = sink.to(address)
    (attachment,) = list(message.iter_attachments())
    filename = attachment.get_filename()
    assert filename is not None and filename.endswith(".xlsx")
    data = attachment.get_content()
    assert isinstance(data, bytes)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames[0] == ZH("People")
    assert message["Subject"] == ZH("{programme}: {export}").format(
        programme="测试培训项目", export=ZH("Excel workbook")
    )


async def test_results_report_requested_by_email_arrives_as_a_word_attachment(
    db: Database, tmp_path: Path, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    await build_history(db, tmp_path)
    clock = FakeClock(datetime(2026, 11, 20, 6, 0, tzinfo=UTC))
    async with db.read() as session:
        liu = await session.scalar(select(Person).where(Person.name == "Organizer Liu"))
    assert liu is not None
    actor = await actor_by_id(db, liu.id)
    assert actor is not None
    address = await request_export_email(
        db, actor, ExportKind.REPORT, clock.now(), mail_enabled=True
    )
    sender = mailer(db, clock, port, tmp_path)
    assert (await sender.run_once()).sent == 1
    (message,) = sink.to(address)
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    filename = attachment.get_filename()
    assert filename is not None and filename.endswith(".docx")
    data = attachment.get_content()
    assert isinstance(data, bytes)
    headings = [p.text for p in Document(io.BytesIO(data)).paragraphs]
    # In Liu's language, English.
    assert EN("Programme summary") in headings
    assert EN("Evaluation: {name}").format(name="张伟") in headings
    assert message["Subject"] == EN("{programme}: {export}").format(
        programme="Test Programme", export=EN("results report")
    )


def test_compose_puts_a_chart_inline_in_the_html_part() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    cid = make_msgid(domain="liaison")
    reader = Actor(
        1,
        PROGRAMME_ID,
        "陈组织",
        Role.ORGANIZER,
        "zh_CN",
        "Asia/Shanghai",
        "Asia/Shanghai",
        "America/New_York",
        "zh_CN",
        "+8613900002001",
        PersonStatus.ACTIVE,
    )
    mail = Mail("主题", "正文\n", f'<p><img src="cid:{cid[1:-1]}"></p>', [Chart(cid, png, "图")])
    message = compose(mail, SENDER, reader, "chen@jinjiang.gov.cn", BEFORE_DIGEST)
    parsed = message_from_bytes(message.as_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    html_part = parsed.get_body(("related",))
    assert html_part is not None
    images = [p for p in html_part.iter_parts() if p.get_content_type() == "image/png"]
    assert [(p["Content-ID"], p.get_content()) for p in images] == [(cid, png)]
    assert f"cid:{cid[1:-1]}" in body(parsed, "html")
    assert body(parsed, "plain") == "正文\n"
    assert parsed["To"].addresses[0].display_name == "陈组织"
