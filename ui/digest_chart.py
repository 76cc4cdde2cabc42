"""The digest's chart: a cadre × day grid of check-ins and the cohort's mean wellbeing.

Drawn with matplotlib's Agg canvas (no display, no pyplot state) off the event loop, with
a CJK font so Chinese names render as Chinese: Debian's fonts-noto-cjk, which
scripts/bootstrap installs. Without it the chart still goes out, and a warning is logged.
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from functools import cache

from liaison.services.digest import DayMark, Digest
from liaison.ui.i18n import N_, Translator

log = logging.getLogger(__name__)

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC")
COLOURS = {
    DayMark.NONE: "#f2f2f2",
    DayMark.ANSWERED: "#2e9e5b",
    DayMark.LATE: "#f0b429",
    DayMark.MISSED: "#d64545",
    DayMark.ABSENT: "#8fa8c8",
    DayMark.OPEN: "#cfe3f7",
}
LEGEND = [
    (DayMark.ANSWERED, N_("answered")),
    (DayMark.LATE, N_("answered late")),
    (DayMark.MISSED, N_("missed")),
    (DayMark.ABSENT, N_("absent")),
    (DayMark.OPEN, N_("open")),
]
# Matplotlib keeps global font state; one chart at a time keeps it consistent.
_LOCK = threading.Lock()


@cache
def cjk_family() -> str | None:
    """The first CJK font family matplotlib can find on this machine, if any."""
    from matplotlib import font_manager

    names = {entry.name for entry in font_manager.fontManager.ttflist}
    found = next((family for family in CJK_FAMILIES if family in names), None)
    if found is None:
        log.warning(
            "no CJK font found (install Debian's fonts-noto-cjk): Chinese names in the "
            "digest chart will not render"
        )
    return found


def render_chart(digest: Digest, t: Translator) -> bytes:
    """The chart as PNG bytes; blocking (matplotlib), so callers run it in a thread."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    marks = list(DayMark)
    rows = digest.chart
    height = 1.6 + 0.32 * max(len(rows), 3) + 1.6
    family = cjk_family()
    families = [family] if family else ["DejaVu Sans"]
    with _LOCK, rc_context({"font.family": families}):
        # Fixed margins rather than a layout engine: it would draw every label twice.
        figure = Figure(figsize=(8, height), dpi=100)
        figure.subplots_adjust(left=0.16, right=0.98, top=1 - 0.45 / height, bottom=0.5 / height)
        FigureCanvasAgg(figure)
        grid_ax, line_ax = figure.subplots(
            2,
            1,
            gridspec_kw={"height_ratios": [max(len(rows), 3), 4], "hspace": 0.35},
            sharex=True,
        )
        cells = [[marks.index(mark) for mark in row.marks] for row in rows] or [
            [0] * len(digest.days)
        ]
        grid_ax.imshow(
            cells,
            aspect="auto",
            cmap=ListedColormap([COLOURS[mark] for mark in marks]),
            vmin=0,
            vmax=len(marks) - 1,
            interpolation="nearest",
        )
        grid_ax.set_yticks(range(len(rows)), [row.name for row in rows], fontsize=9)
        grid_ax.set_xticks(range(len(digest.days)))
        grid_ax.set_xticks([x - 0.5 for x in range(1, len(digest.days))], minor=True)
        grid_ax.set_yticks([y - 0.5 for y in range(1, len(rows))], minor=True)
        grid_ax.grid(which="minor", color="white", linewidth=1.5)
        grid_ax.tick_params(which="minor", length=0)
        grid_ax.set_title(t("Check-ins, last 14 days"), fontsize=11)
        grid_ax.legend(
            handles=[Patch(color=COLOURS[mark], label=t(label)) for mark, label in LEGEND],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.02),
            ncol=len(LEGEND),
            fontsize=8,
            frameon=False,
        )
        points = [(i, v) for i, v in enumerate(digest.wellbeing) if v is not None]
        if points:
            xs, ys = zip(*points, strict=True)
            line_ax.plot(xs, ys, marker="o", color="#3b6fb6")
        line_ax.set_ylim(0.5, 5.5)
        line_ax.set_yticks([1, 2, 3, 4, 5])
        line_ax.set_ylabel(t("mean wellbeing"), fontsize=9)
        line_ax.grid(axis="y", color="#dddddd")
        line_ax.set_xticks(
            range(len(digest.days)),
            [f"{d.month}/{d.day}" for d in digest.days],
            fontsize=8,
        )
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


ChartKey = tuple[object, ...]
_CACHE: dict[ChartKey, bytes] = {}
_CACHE_SIZE = 16


def _key(digest: Digest, t: Translator) -> ChartKey:
    rows = tuple((row.name, tuple(row.marks)) for row in digest.chart)
    return (t.locale, tuple(digest.days), rows, tuple(digest.wellbeing))


async def chart_png(digest: Digest, t: Translator) -> bytes:
    """Renders off the event loop (a chart costs up to a second of CPU); readers of one
    language get the same chart of the same morning, so it is drawn once for them."""
    key = _key(digest, t)
    cached = _CACHE.get(key)
    if cached is None:
        cached = await asyncio.to_thread(render_chart, digest, t)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = cached
    return cached
