"""The selection's lines in the daily digest (services/selection/digest.py builds them)."""

from __future__ import annotations

from liaison.services.people import Actor
from liaison.services.selection.digest import SelectionDigest
from liaison.ui.i18n import Translator
from liaison.ui.text import escape


def render_selection_digest(part: SelectionDigest, reader: Actor, t: Translator) -> list[str]:
    lines = ["", "🎓 <b>" + escape(t("Selection")) + "</b>"]
    counts = {"left": part.undecided, "selected": part.selected, "not_selected": part.not_selected}
    if part.places is None:
        tally = t(
            "Still to decide: {left}; selected {selected}, not selected {not_selected}."
        ).format(**counts)
    else:
        tally = t(
            "Still to decide: {left}; selected {selected} of {places} places, not selected "
            "{not_selected}."
        ).format(places=part.places, **counts)
    lines.append(tally)
    if part.tests_ahead:
        lines.append(t("Tests in the coming week:"))
        lines += [
            "   • "
            + t("{when} {title}").format(
                when=t.with_other_zone(test.starts_at, reader.timezone, test.timezone, full=True),
                title=escape(t.pick(test.title_zh, test.title_en)),
            )
            for test in part.tests_ahead
        ]
    else:
        lines.append(t("No tests in the coming week."))
    for results in part.results:
        lines.append(
            t("Results of {test}: {new} entered since the last digest, {total} in all.").format(
                test=escape(t.pick(results.title_zh, results.title_en)),
                new=results.new,
                total=results.total,
            )
        )
    return lines
