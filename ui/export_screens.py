"""What /export shows: the menu, the progress message as it is edited, the outcome."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from liaison.services.exports.kinds import ExportKind
from liaison.services.exports.progress import Snapshot
from liaison.ui.callbacks import ExportButton
from liaison.ui.email import EXPORT_NAMES
from liaison.ui.i18n import N_, Translator
from liaison.ui.text import escape

BUTTONS = {
    ExportKind.WORKBOOK: N_("📊 Excel workbook"),
    ExportKind.FILES: N_("🗂 Submitted files (ZIP)"),
    ExportKind.CALENDAR: N_("📅 Calendar (.ics)"),
    ExportKind.REPORT: N_("📝 Results report (Word)"),
}
MENU_ORDER = [ExportKind.WORKBOOK, ExportKind.REPORT, ExportKind.FILES, ExportKind.CALENDAR]


def export_menu(t: Translator) -> tuple[str, InlineKeyboardMarkup]:
    rows = [
        [InlineKeyboardButton(t(BUTTONS[kind]), callback_data=ExportButton("b", kind).encode())]
        for kind in MENU_ORDER
    ]
    text = t(
        "What would you like to export? The file is built for the whole programme and sent "
        "here; it can take a minute."
    )
    return text, InlineKeyboardMarkup(rows)


def mail_button(kind: ExportKind, t: Translator) -> InlineKeyboardMarkup:
    label = t("✉️ Send by e-mail")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=ExportButton("m", kind).encode())]]
    )


def what(kind: ExportKind, t: Translator) -> str:
    return t(EXPORT_NAMES[kind])


def queued_text(kind: ExportKind, t: Translator) -> str:
    return "⏳ " + t(
        "Another export is being built. Your {export} is queued and starts as soon as it is done."
    ).format(export=what(kind, t))


def progress_text(kind: ExportKind, snapshot: Snapshot, t: Translator) -> str:
    export = what(kind, t)
    if snapshot.stage == "files" and snapshot.total:
        return "⏳ " + t("Packing the files: {done} of {total}…").format(
            done=snapshot.done, total=snapshot.total
        )
    if snapshot.stage == "sheet" and snapshot.total:
        return "⏳ " + t("Writing the {export}: sheet {done} of {total}…").format(
            export=export, done=snapshot.done + 1, total=snapshot.total
        )
    if snapshot.stage == "charts" and snapshot.total:
        return "⏳ " + t("Drawing the charts of the {export}: {done} of {total}…").format(
            export=export, done=snapshot.done, total=snapshot.total
        )
    if snapshot.stage == "write":
        return "⏳ " + t("Writing the {export}…").format(export=export)
    if snapshot.stage == "send":
        return "⏳ " + t("Sending the {export}…").format(export=export)
    return "⏳ " + t("Reading the records for the {export}…").format(export=export)


def done_text(kind: ExportKind, parts: int, size: int, problems: list[str], t: Translator) -> str:
    lines = [
        "✅ "
        + t.plural(
            "The {export} is ready: {count} file, {size}.",
            "The {export} is ready: {count} files, {size}.",
            parts,
        ).format(export=what(kind, t), count=parts, size=t.size(size))
    ]
    if problems:
        lines.append(
            t.plural(
                "{count} file could not be found in the archive; the manifest lists it:",
                "{count} files could not be found in the archive; the manifest lists them:",
                len(problems),
            ).format(count=len(problems))
        )
        lines += [f"• {escape(name)}" for name in problems[:10]]
    return "\n".join(lines)


def too_large_text(kind: ExportKind, size: int, limit: int, t: Translator, mail: bool) -> str:
    text = "⚠️ " + t("The {export} is {size}, more than Telegram lets a bot send ({limit}).").format(
        export=what(kind, t), size=t.size(size), limit=t.size(limit)
    )
    if mail:
        return text + " " + t("It can be sent to your e-mail address instead.")
    return (
        text
        + " "
        + t(
            "Add your e-mail address to the roster to receive it by e-mail, or ask the "
            "administrator to run liaison export on the server."
        )
    )


def failed_text(t: Translator) -> str:
    return "❌ " + t("Sorry, the export could not be built. The error has been logged.")


def mail_queued_text(address: str, kind: ExportKind, t: Translator) -> str:
    return "✉️ " + t("The {export} will be sent to {address} in a few minutes.").format(
        export=what(kind, t), address=escape(address)
    )
