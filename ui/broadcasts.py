"""How broadcasts look: the audience choice, the preview, progress, the report, the notice
itself with its "Got it" button, and /broadcasts."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from liaison.services.broadcasts.compose import Draft
from liaison.services.broadcasts.delivery import Delivery
from liaison.storage.enums import AudienceKind
from liaison.storage.models import Phase
from liaison.ui.callbacks import AckButton, BroadcastButton
from liaison.ui.i18n import N_, Translator
from liaison.ui.text import escape, split_html

AUDIENCES = [
    ("c", N_("All cadres")),
    ("p", N_("Cadres in a phase")),
    ("z", N_("Cadres in a time zone")),
    ("n", N_("Named people")),
    ("s", N_("Staff")),
]
AUDIENCE_NAMES = {
    AudienceKind.CADRES: N_("all cadres"),
    AudienceKind.PHASE: N_("cadres in {label}"),
    AudienceKind.ZONE: N_("cadres in {label}"),
    AudienceKind.STAFF: N_("organizers and observers"),
}
PREVIEW_CHARS = 600


def _button(text: str, action: str, bid: int, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text[:60], callback_data=BroadcastButton(action, bid, value).encode()
    )


def audience_menu(bid: int, t: Translator) -> tuple[str, InlineKeyboardMarkup]:
    rows = [[_button(t(label), "a", bid, code)] for code, label in AUDIENCES]
    rows.append([_button(t("✖ Cancel"), "x", bid)])
    return t("New broadcast. Who should receive it?"), InlineKeyboardMarkup(rows)


def phase_menu(bid: int, phases: list[Phase], t: Translator) -> tuple[str, InlineKeyboardMarkup]:
    rows = [[_button(t.pick(p.title_zh, p.title_en), "p", bid, str(p.id))] for p in phases]
    rows.append([_button(t("✖ Cancel"), "x", bid)])
    return t("Which phase?"), InlineKeyboardMarkup(rows)


def zone_menu(bid: int, zones: list[str], t: Translator) -> tuple[str, InlineKeyboardMarkup]:
    rows = [[_button(zone, "z", bid, str(index))] for index, zone in enumerate(zones)]
    rows.append([_button(t("✖ Cancel"), "x", bid)])
    return t("Which time zone?"), InlineKeyboardMarkup(rows)


def audience_text(draft: Draft, t: Translator) -> str:
    if draft.audience is None:
        return "?"
    label = escape(t.pick(draft.audience_label_zh or "", draft.audience_label_en))
    if draft.audience.kind is AudienceKind.PEOPLE:
        return label
    return t(AUDIENCE_NAMES[draft.audience.kind]).format(label=label)


def preview(draft: Draft, t: Translator) -> tuple[str, InlineKeyboardMarkup]:
    """What will go out, to how many, and the buttons to send or cancel."""
    lines = [
        "📢 <b>" + escape(t("Broadcast preview")) + "</b>",
        t("To: {audience}").format(audience=audience_text(draft, t)),
        t.plural("{count} recipient", "{count} recipients", draft.recipients).format(
            count=draft.recipients
        ),
    ]
    if draft.unreachable:
        lines.append(
            t("{count} of them cannot be reached through the bot.").format(count=draft.unreachable)
        )
    if draft.text:
        parts = len(split_html(escape(draft.text)))
        lines.append(
            t("{count} characters").format(count=t.number(len(draft.text)))
            + (" · " + t("sent as {parts} messages").format(parts=parts) if parts > 1 else "")
        )
        shown = draft.text if len(draft.text) <= PREVIEW_CHARS else draft.text[:PREVIEW_CHARS] + "…"
        lines += ["", escape(shown), ""]
    else:
        lines.append(t("Now send the text of the notice."))
    if draft.file_kind is not None:
        lines.append("📎 " + escape(draft.file_name or t("a file")))
    else:
        lines.append(t("To attach a file, send it now (a document or a photo)."))
    ack = t("“Got it” button: on") if draft.ask_ack else t("“Got it” button: off")
    lines.append(ack)
    rows = [[_button(ack, "k", draft.id)]]
    if draft.recipients and (draft.text or draft.file_kind):
        rows.append(
            [
                _button(
                    t("✅ Send to {count}").format(count=draft.recipients - draft.unreachable),
                    "y",
                    draft.id,
                )
            ]
        )
    rows.append([_button(t("✖ Cancel"), "x", draft.id)])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def progress(found: Delivery, t: Translator) -> str:
    parts = [t("sent {sent}/{total}").format(sent=found.sent, total=found.total)]
    if found.unreachable:
        parts.append(t("{count} unreachable").format(count=len(found.unreachable)))
    if found.failed:
        parts.append(t("{count} failed").format(count=found.failed))
    state = t("Broadcast finished") if found.done else t("Sending broadcast")
    return f"📢 <b>{escape(state)}</b>: " + " · ".join(parts)


def report(found: Delivery, t: Translator) -> str:
    lines = [progress(found, t)]
    if found.unreachable:
        lines.append(
            t("Not reached: {names}. Please contact them another way.").format(
                names=escape("、".join(found.unreachable))
            )
        )
    if found.ask_ack:
        lines.append(t("/broadcasts shows who has acknowledged it."))
    return "\n".join(lines)


def notice(found: Delivery, t: Translator) -> tuple[str, InlineKeyboardMarkup | None]:
    """The broadcast as a recipient reads it."""
    text = "📢 " + escape(found.text) if found.text else "📢"
    keyboard = None
    if found.ask_ack:
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t("👍 Got it"), callback_data=AckButton(found.broadcast_id).encode()
                    )
                ]
            ]
        )
    return text, keyboard


def listing(found: list[Delivery], zone: str, t: Translator) -> str:
    heading = t("Recent broadcasts")
    lines = [f"<b>{escape(heading)}</b>"]
    if not found:
        lines.append(t("No broadcast has been sent yet."))
    for item in found:
        when = t.full(item.confirmed_at, zone) if item.confirmed_at else "?"
        excerpt = item.text if len(item.text) <= 60 else item.text[:60] + "…"
        lines += ["", f"• <b>{when}</b> {escape(excerpt)}", "   " + progress(item, t)]
        if item.ask_ack:
            lines.append(
                "   "
                + t("Got it: {count}/{total}").format(count=len(item.acknowledged), total=item.sent)
                + (f" — {escape('、'.join(item.acknowledged))}" if item.acknowledged else "")
            )
            if item.waiting_ack:
                lines.append(
                    "   " + t("Not yet: {names}").format(names=escape("、".join(item.waiting_ack)))
                )
    return "\n".join(lines)
