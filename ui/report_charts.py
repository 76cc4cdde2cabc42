"""The results report's charts: the cohort's participation and each cadre's wellbeing.

Drawn like the digest's chart (ui/digest_chart.py): matplotlib's Agg canvas, no pyplot
state, the same CJK font look-up and the same lock around matplotlib's global font
state. Blocking: the report is built in a worker thread. matplotlib is imported inside
the functions, so importing this module costs nothing at start-up.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from liaison.services.exports.report_data import CadreReport, WeekTally, WellbeingPoint
from liaison.services.timezones import zone
from liaison.ui.digest_chart import _LOCK, cjk_family
from liaison.ui.i18n import Translator

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ASKED = "#cfd8e3"
ANSWERED = "#2e9e5b"
ON_TIME = "#3b6fb6"
LOW = "#d64545"


def _families() -> list[str]:
    family = cjk_family()
    return [family, "DejaVu Sans"] if family else ["DejaVu Sans"]


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def weekly_chart(weeks: list[WeekTally], t: Translator) -> bytes:
    """Check-ins asked and answered, week by week (bars side by side)."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with _LOCK, rc_context({"font.family": _families()}):
        figure = Figure(figsize=(7, 3.2), dpi=150)
        figure.subplots_adjust(left=0.09, right=0.98, top=0.88, bottom=0.2)
        FigureCanvasAgg(figure)
        ax = figure.subplots()
        xs = list(range(len(weeks)))
        ax.bar([x - 0.2 for x in xs], [w.asked for w in weeks], 0.4, color=ASKED, label=t("asked"))
        ax.bar(
            [x + 0.2 for x in xs],
            [w.answered for w in weeks],
            0.4,
            color=ANSWERED,
            label=t("answered"),
        )
        ax.set_xticks(xs, [t.short_day(w.week) for w in weeks], fontsize=7, rotation=30)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, max([w.asked for w in weeks] or [1]) * 1.3)
        ax.set_title(t("Check-ins by week"), fontsize=10)
        ax.legend(fontsize=8, frameon=False, loc="upper center", ncol=2)
        ax.grid(axis="y", color="#e5e5e5")
        ax.set_axisbelow(True)
        return _png(figure)


def cohort_chart(cadres: list[CadreReport], t: Translator) -> bytes:
    """Each cadre's share of check-ins answered and answered on time (horizontal bars)."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height = 1.6 + 0.28 * max(len(cadres), 3)
    with _LOCK, rc_context({"font.family": _families()}):
        figure = Figure(figsize=(7, height), dpi=150)
        figure.subplots_adjust(left=0.2, right=0.97, top=1 - 0.45 / height, bottom=1.0 / height)
        FigureCanvasAgg(figure)
        ax = figure.subplots()
        ys = list(range(len(cadres)))
        answered = [100 * (c.checkins.rate or 0) for c in cadres]
        on_time = [
            100 * c.checkins.on_time / c.checkins.asked if c.checkins.asked else 0 for c in cadres
        ]
        ax.barh(ys, answered, 0.7, color=ANSWERED, label=t("answered"))
        ax.barh(ys, on_time, 0.35, color=ON_TIME, label=t("answered on time"))
        ax.set_yticks(ys, [c.name for c in cadres], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("%", fontsize=8)
        ax.set_title(t("Check-ins answered, by cadre"), fontsize=10)
        ax.legend(
            fontsize=7,
            frameon=False,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.45 / height * 2),
            ncol=2,
        )
        ax.grid(axis="x", color="#e5e5e5")
        ax.set_axisbelow(True)
        return _png(figure)


def wellbeing_chart(points: list[WellbeingPoint], zone_name: str, t: Translator) -> bytes:
    """One cadre's wellbeing answers (1-5) over time, low ones in red."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    tz = zone(zone_name)
    with _LOCK, rc_context({"font.family": _families()}):
        figure = Figure(figsize=(5, 1.6), dpi=150)
        figure.subplots_adjust(left=0.08, right=0.98, top=0.83, bottom=0.2)
        FigureCanvasAgg(figure)
        ax = figure.subplots()
        xs = list(range(len(points)))
        values = [p.value for p in points]
        ax.plot(xs, values, color="#3b6fb6", linewidth=1.2)
        ax.scatter(xs, values, c=[LOW if v <= 2 else "#3b6fb6" for v in values], s=14, zorder=3)
        ax.set_ylim(0.5, 5.5)
        ax.set_yticks([1, 2, 3, 4, 5])
        step = max(1, len(points) // 8)
        ax.set_xticks(
            xs[::step],
            [t.short_day(p.slot_at.astimezone(tz).date()) for p in points][::step],
            fontsize=6,
        )
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(t("Wellbeing (1-5) at each check-in"), fontsize=8)
        ax.grid(axis="y", color="#e5e5e5")
        return _png(figure)
