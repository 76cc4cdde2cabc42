"""E-mails the bot sends on its own, rendered at send time in the reader's language.

One renderer per e-mail outbox kind (``EMAIL_RENDERERS``), as ``ui/outbox.py`` has for
Telegram. Every e-mail has a plain-text body and an HTML alternative. The digest reuses
the Telegram digest's lines (same catalog texts, so both say the same); a chart, when
the digest has one, is attached inline to the HTML part (``Chart``, ``cid:``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from liaison.services.digest import build_digest
from liaison.services.exports.kinds import ExportKind
from liaison.services.exports.records import programme_info
from liaison.services.outbox.payloads import DigestPayload, EmailExportPayload, as_payload
from liaison.services.outbox.queue import Claimed
from liaison.services.people import Actor
from liaison.services.timezones import zone
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind
from liaison.ui.digest import render_digest
from liaison.ui.digest_chart import chart_png
from liaison.ui.exports import MIME, build_export, file_name
from liaison.ui.i18n import N_, Translator

_TAG = re.compile(r"<[^>]+>")

EXPORT_NAMES = {
    ExportKind.WORKBOOK: N_("Excel workbook"),
    ExportKind.FILES: N_("archive of submitted files"),
    ExportKind.CALENDAR: N_("calendar"),
    ExportKind.REPORT: N_("results report"),
}


@dataclass(frozen=True)
class Chart:
    """An image shown inside the HTML body (the digest's participation chart)."""

    cid: str
    png: bytes
    alt: str


@dataclass(frozen=True)
class MailReading:
    """Who reads the e-mail, in which language, and what the renderer may use."""

    db: Database
    row: Claimed
    reader: Actor
    address: str
    t: Translator
    now: datetime
    data_dir: Path
    workdir: Path  # a temporary folder for attachments, removed after sending
    attachment_limit: int


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str
    charts: Sequence[Chart] = ()
    attachments: Sequence[tuple[str, str, bytes]] = ()  # file name, MIME type, bytes


MailRenderer = Callable[[MailReading], Awaitable[Mail | None]]


def plain(telegram_html: str) -> str:
    """Telegram's HTML as plain text: tags dropped, entities read."""
    return html.unescape(_TAG.sub("", telegram_html))


def _page(body_lines: Sequence[str], charts: Sequence[Chart], footer: str) -> str:
    parts = [f"<p>{line}</p>" if line else "" for line in body_lines]
    parts += [f'<p><img src="cid:{c.cid[1:-1]}" alt="{html.escape(c.alt)}"></p>' for c in charts]
    parts.append(f'<p style="color:#777;font-size:small">{html.escape(footer)}</p>')
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        '<body style="font-family:sans-serif">' + "\n".join(parts) + "</body></html>"
    )


def _footer(t: Translator) -> str:
    return t("Sent by Liaison. Reply to the organizers, not to this address.")


async def _digest(r: MailReading) -> Mail | None:
    payload = as_payload(r.row.payload, DigestPayload)
    digest = await build_digest(r.db, payload.programme_id, payload.until)
    async with r.db.read() as session:
        info = await programme_info(session, payload.programme_id)
    t = r.t
    lines = render_digest(digest, r.reader, t).split("\n")
    charts: list[Chart] = []
    if digest.has_chart and not digest.quiet:
        # Drawn off the event loop, once per language and morning (chart_png's cache).
        png = await chart_png(digest, t)
        charts.append(Chart(make_msgid(domain="liaison"), png, t("Check-ins, last 14 days")))
    subject = t("Daily digest: {programme}, {day}").format(
        programme=t.pick(info.title_zh, info.title_en),
        day=t.long_date(payload.until.astimezone(zone(r.reader.timezone)).date()),
    )
    text = "\n".join(plain(line) for line in lines) + "\n\n-- \n" + _footer(t) + "\n"
    return Mail(subject, text, _page(lines, charts, _footer(t)), charts)


async def _export(r: MailReading) -> Mail | None:
    payload = as_payload(r.row.payload, EmailExportPayload)
    kind = ExportKind(payload.export)
    t = r.t
    async with r.db.read() as session:
        info = await programme_info(session, payload.programme_id)
    title = t.pick(info.title_zh, info.title_en)
    what = t(EXPORT_NAMES[kind])
    out = r.workdir / file_name(payload.programme_id, kind, r.now)
    built = await build_export(
        r.db,
        kind,
        payload.programme_id,
        out,
        data_dir=r.data_dir,
        now=r.now,
        locale=payload.locale or r.reader.locale,
        timezone=r.reader.timezone,
    )
    subject = t("{programme}: {export}").format(programme=title, export=what)
    if built.size > r.attachment_limit:
        line = t(
            "The {export} is {size}, too large for e-mail (at most {limit}). Use /export in "
            "the bot, or ask the administrator to run liaison export on the server."
        ).format(export=what, size=t.size(built.size), limit=t.size(r.attachment_limit))
        return Mail(subject, line + "\n", _page([html.escape(line)], (), _footer(t)))
    line = t("Attached: the {export} of {programme}, as of {when}.").format(
        export=what, programme=title, when=t.full(r.now, r.reader.timezone)
    )
    attachments = [(part.name, MIME[kind], part.read_bytes()) for part in built.parts]
    lines = [html.escape(line)]
    if built.problems:
        missing = t.plural(
            "{count} file could not be found in the archive; the manifest lists it.",
            "{count} files could not be found in the archive; the manifest lists them.",
            len(built.problems),
        ).format(count=len(built.problems))
        line += "\n" + missing
        lines.append(html.escape(missing))
    return Mail(subject, line + "\n", _page(lines, (), _footer(t)), (), attachments)


EMAIL_RENDERERS: dict[OutboxKind, MailRenderer] = {
    OutboxKind.EMAIL_DIGEST: _digest,
    OutboxKind.EMAIL_EXPORT: _export,
}


def compose(mail: Mail, sender: str, reader: Actor, address: str, now: datetime) -> EmailMessage:
    """The MIME message: text, an HTML alternative with its inline charts, attachments."""
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = sender
    local, _, domain = address.rpartition("@")
    message["To"] = Address(display_name=reader.name, username=local, domain=domain)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain="liaison")
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    if mail.charts:
        html_part = message.get_body(("html",))
        assert isinstance(html_part, EmailMessage)
        for chart in mail.charts:
            html_part.add_related(chart.png, "image", "png", cid=chart.cid)
    for name, mime, data in mail.attachments:
        maintype, _, subtype = mime.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message
