"""Building an export file: gather on the event loop, write in a thread.

Shared by `liaison export ...`, /export in the bot and exports sent by e-mail, so all
three produce the same bytes. Reading the database is async and quick; writing the
workbook or streaming files into a ZIP is blocking and can be long, so it runs in a
worker thread (``asyncio.to_thread``) while the bot keeps answering.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from liaison.services.exports.calendar import calendar_for
from liaison.services.exports.files import ManifestLine, list_files, write_archive
from liaison.services.exports.kinds import ExportKind
from liaison.services.exports.progress import Progress
from liaison.services.exports.records import gather_record
from liaison.storage.database import Database

SUFFIX = {
    ExportKind.WORKBOOK: ".xlsx",
    ExportKind.FILES: ".zip",
    ExportKind.CALENDAR: ".ics",
    ExportKind.REPORT: ".docx",
}
MIME = {
    ExportKind.REPORT: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ExportKind.WORKBOOK: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportKind.FILES: "application/zip",
    ExportKind.CALENDAR: "text/calendar",
}


@dataclass(frozen=True)
class Built:
    kind: ExportKind
    parts: list[Path]
    # Files the archive lacked or whose bytes differ from the record (files export only).
    problems: list[ManifestLine] = field(default_factory=list)
    rows: int = 0

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.parts)


def file_name(programme_id: str, kind: ExportKind, now: datetime) -> str:
    return f"{programme_id}-{kind.value}-{now:%Y%m%d-%H%M}{SUFFIX[kind]}"


async def build_export(
    db: Database,
    kind: ExportKind,
    programme_id: str,
    out: Path,
    *,
    data_dir: Path,
    now: datetime,
    locale: str | None = None,
    progress: Progress | None = None,
    part_limit: int | None = None,
    timezone: str | None = None,
) -> Built:
    """Writes the export to ``out`` (several parts beside it for a split archive).

    ``timezone`` is the reader's (the report's dates); the programme's home zone if None.
    """
    from liaison.ui.calendar import calendar_bytes
    from liaison.ui.workbook import write_workbook

    progress = progress or Progress()
    progress.set("gather")
    if kind is ExportKind.WORKBOOK:
        record = await gather_record(db, programme_id, now)
        chosen = locale or record.programme.default_locale
        await asyncio.to_thread(write_workbook, record, chosen, out, progress)
        return Built(kind, [out], rows=len(record.checkins) + len(record.submissions))
    if kind is ExportKind.REPORT:
        # Imported here: matplotlib and python-docx load only when a report is built.
        from liaison.services.exports.report_data import gather_report
        from liaison.ui.report_docx import write_report

        report = await gather_report(db, programme_id, now)
        chosen = locale or report.programme.default_locale
        reader_zone = timezone or report.programme.home_timezone
        await asyncio.to_thread(write_report, report, chosen, reader_zone, out, progress)
        return Built(kind, [out], rows=len(report.cadres))
    if kind is ExportKind.FILES:
        entries = await list_files(db, data_dir, programme_id)
        result = await asyncio.to_thread(
            write_archive, entries, out, part_limit=part_limit, progress=progress
        )
        return Built(kind, result.parts, result.missing, rows=len(entries))
    data = await calendar_for(db, programme_id)
    payload = calendar_bytes(data, now, locale)
    await asyncio.to_thread(out.write_bytes, payload)
    return Built(kind, [out], rows=len(data.sessions) + len(data.deadlines))
