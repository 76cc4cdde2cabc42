"""The results report as a Word document, in the reader's language and time zone.

Cover; programme summary (phases, selection figures, sessions held, check-ins); charts of
participation; the research papers with their abstracts; then one evaluation page per
cadre (selection data, check-ins and a wellbeing chart, submissions with scores and the
reviewers' feedback, the organizers' call notes, and an empty "evaluation and
recommendation" section for the committee to fill in).

East Asian text: Word picks the font of a run's Chinese characters from ``w:eastAsia``,
so every style (the document defaults included) and every run written here carries
``w:rFonts w:eastAsia="SimSun"``, and runs holding Chinese add ``w:hint="eastAsia"``.
SimSun (宋体) rather than Noto Sans CJK SC: the report is printed in government offices
whose Word or WPS runs on Windows, where SimSun is always installed and Noto is usually
not; LibreOffice and Word elsewhere substitute their own CJK font for it. The theme
attributes (``w:eastAsiaTheme``) are removed where set, since Word prefers them.

Blocking (matplotlib, python-docx): ``write_report`` runs in a worker thread. The
libraries are imported inside it, never when the bot starts.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liaison.services.exports.progress import Progress
from liaison.services.exports.report_data import (
    CadreReport,
    CheckinTally,
    ReportData,
    SubmissionReport,
)
from liaison.services.timezones import zone
from liaison.storage.enums import Location, ResultSource
from liaison.ui.i18n import N_, Translator, translator
from liaison.ui.labels import review_name, score_text
from liaison.ui.report_charts import cohort_chart, weekly_chart, wellbeing_chart
from liaison.ui.selection import status_label

if TYPE_CHECKING:
    from docx.document import Document
    from docx.table import _Cell
    from docx.text.paragraph import Paragraph

EAST_ASIAN_FONT = "SimSun"
# How services/checkins/notes.py stamps each entry of a run's notes.
NOTE_STAMP = re.compile(r"^\[(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC\] ")
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
LOCATIONS = {Location.HOME: N_("at home"), Location.ABROAD: N_("abroad")}
# The committee's rows, left blank for them to fill in.
EVALUATION_ROWS = [
    N_("Overall evaluation"),
    N_("Strengths shown"),
    N_("Areas to develop"),
    N_("Recommendation"),
    N_("Committee members and date"),
]
BLANK_LINES = 2
# What may follow w:lang in a w:rPr (the schema's order).
LANG_FOLLOWERS = ("w:eastAsianLayout", "w:specVanish", "w:oMath")


def east_asian(element: Any) -> None:
    """Sets the East Asian font on an element with run properties (a style or a run)."""
    east_asian_rpr(element.get_or_add_rPr())


def east_asian_rpr(rpr: Any) -> None:
    """Sets the East Asian font in one ``w:rPr`` (and drops the theme font Word prefers)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)
    if fonts.get(qn("w:eastAsiaTheme")) is not None:
        del fonts.attrib[qn("w:eastAsiaTheme")]


class _Writer:
    """The document being written and the reader's language and zone."""

    def __init__(self, data: ReportData, t: Translator, zone_name: str) -> None:
        from docx import Document as new_document

        self.data = data
        self.t = t
        self.zone_name = zone_name
        self.doc: Document = new_document()
        self._styles()

    def _styles(self) -> None:
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Cm, Pt

        styles = self.doc.styles
        for style in styles:
            element = style.element
            if hasattr(element, "get_or_add_rPr"):
                east_asian(element)
                rpr = element.get_or_add_rPr()
                lang = rpr.find(qn("w:lang"))
                if lang is None:
                    lang = OxmlElement("w:lang")
                    rpr.insert_element_before(lang, *LANG_FOLLOWERS)
                lang.set(qn("w:eastAsia"), "zh-CN")
        defaults = styles.element.find(qn("w:docDefaults"))
        if defaults is not None:
            rpr = defaults.find(qn("w:rPrDefault") + "/" + qn("w:rPr"))
            if rpr is not None:
                east_asian_rpr(rpr)
        # Exact line heights: CJK fonts' own metrics would make a "single" line half as
        # tall again, and an evaluation page would spill onto a second one.
        styles["Normal"].font.size = Pt(10)
        styles["Normal"].paragraph_format.space_after = Pt(2)
        styles["Normal"].paragraph_format.line_spacing = Pt(14)
        for name, before, height in (("Title", 0, 40), ("Heading 1", 0, 20), ("Heading 2", 5, 17)):
            spacing = styles[name].paragraph_format
            spacing.space_before = Pt(before)
            spacing.space_after = Pt(3)
            spacing.line_spacing = Pt(height)
        for section in self.doc.sections:
            section.left_margin = section.right_margin = Cm(2.2)
            section.top_margin = section.bottom_margin = Cm(1.4)

    # -- small pieces --------------------------------------------------------------

    def run(
        self,
        paragraph: Paragraph,
        text: str,
        *,
        bold: bool = False,
        italic: bool = False,
        size: float | None = None,
    ) -> None:
        from docx.oxml.ns import qn
        from docx.shared import Pt

        run = paragraph.add_run(text)
        run.bold = bold or None
        run.italic = italic or None
        if size is not None:
            run.font.size = Pt(size)
        east_asian(run._r)
        if CJK.search(text):
            run._r.get_or_add_rPr().get_or_add_rFonts().set(qn("w:hint"), "eastAsia")

    def para(self, text: str = "", *, bold: bool = False, italic: bool = False) -> Paragraph:
        paragraph = self.doc.add_paragraph()
        if text:
            self.run(paragraph, text, bold=bold, italic=italic)
        return paragraph

    def heading(self, text: str, level: int) -> None:
        paragraph = self.doc.add_heading("", level)
        self.run(paragraph, text)

    def cell(self, cell: _Cell, text: str, *, bold: bool = False) -> None:
        from docx.shared import Pt

        paragraph = cell.paragraphs[0]
        for line_number, line in enumerate(text.split("\n")):
            target = paragraph if line_number == 0 else cell.add_paragraph()
            target.paragraph_format.line_spacing = Pt(12)
            target.paragraph_format.space_after = Pt(0)
            self.run(target, line, bold=bold, size=9)

    def table(self, header: list[str] | None, rows: list[list[str]], *, gap: bool = True) -> None:
        table = self.doc.add_table(rows=0, cols=len(header or rows[0]))
        table.style = self.doc.styles["Table Grid"]
        if header:
            cells = table.add_row().cells
            for cell, text in zip(cells, header, strict=True):
                self.cell(cell, text, bold=True)
        for row in rows:
            cells = table.add_row().cells
            for cell, text in zip(cells, row, strict=True):
                self.cell(cell, text)
        if gap:
            self.doc.add_paragraph()

    def pairs(self, rows: list[tuple[str, str]], *, across: int = 1) -> None:
        """A table of label and value, ``across`` pairs to a row (compact pages)."""
        rows = rows + [("", "")] * (-len(rows) % across)
        self.table(
            None,
            [
                [text for pair in rows[i : i + across] for text in pair]
                for i in range(0, len(rows), across)
            ],
        )

    def page_break(self) -> None:
        from docx.enum.text import WD_BREAK

        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def picture(self, png: bytes, width_cm: float) -> None:
        from docx.shared import Cm

        self.doc.add_picture(io.BytesIO(png), width=Cm(width_cm))
        # A picture's line grows with it (the style's exact line height would clip it).
        self.doc.paragraphs[-1].paragraph_format.line_spacing = 1.0

    def day(self, value: date) -> str:
        return self.t.long_date(value)

    def when(self, instant: datetime, zone_name: str | None = None) -> str:
        local = instant.astimezone(zone(zone_name or self.zone_name))
        return (
            f"{self.t.long_date(local.date())} {self.t.clock(instant, zone_name or self.zone_name)}"
        )

    def hours(self, delta: timedelta | None) -> str:
        if delta is None:
            return "—"
        return self.t("{hours} h").format(
            hours=self.t.number(round(delta.total_seconds() / 3600, 1))
        )

    def share(self, part: int, whole: int) -> str:
        if not whole:
            return self.t("{part} of {whole}").format(part=part, whole=whole)
        return self.t("{part} of {whole} ({percent})").format(
            part=part, whole=whole, percent=f"{round(100 * part / whole)}%"
        )


def write_report(
    data: ReportData,
    locale: str,
    zone_name: str,
    out: Path,
    progress: Progress | None = None,
) -> None:
    """Writes the report to ``out``; blocking (charts and the DOCX), run it in a thread."""
    progress = progress or Progress()
    t = translator(locale)
    w = _Writer(data, t, zone_name)
    charts = sum(1 for c in data.cadres if c.wellbeing) + (2 if data.checkins.asked else 0)
    progress.set("charts", 0, charts)
    _cover(w)
    _summary(w)
    _participation(w, progress)
    _papers(w)
    for cadre in data.cadres:
        _evaluation(w, cadre, progress)
    progress.set("write")
    w.doc.core_properties.title = (
        t("Results report") + ": " + t.pick(data.programme.title_zh, data.programme.title_en)
    )
    w.doc.core_properties.author = "Liaison"
    w.doc.save(str(out))


def _cover(w: _Writer) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    t, data = w.t, w.data
    for _ in range(6):
        w.para()
    title = w.doc.add_paragraph(style="Title")
    w.run(title, t.pick(data.programme.title_zh, data.programme.title_en))
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    subtitle = w.para()
    subtitle.paragraph_format.space_before = Pt(18)
    subtitle.paragraph_format.line_spacing = Pt(30)
    w.run(subtitle, t("Results report"), bold=True, size=20)
    subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER
    w.para()
    lines = []
    if data.starts_on and data.ends_on:
        lines.append(
            t("{start} to {end}").format(start=w.day(data.starts_on), end=w.day(data.ends_on))
        )
    if data.host_place:
        lines.append(t("Host: {place}").format(place=data.host_place))
    lines.append(
        t("Generated on {when} ({city} time)").format(
            when=w.when(data.generated_at), city=t.city(w.zone_name)
        )
    )
    lines.append(t("All times in this report are {city} time.").format(city=t.city(w.zone_name)))
    for line in lines:
        paragraph = w.para()
        w.run(paragraph, line, size=12)
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    w.page_break()


def _summary(w: _Writer) -> None:
    t, data = w.t, w.data
    w.heading(t("Programme summary"), 1)
    if data.empty:
        w.para(
            t(
                "Nothing has been recorded for this programme yet: no cadre in the cohort, "
                "no check-in asked and no paper submitted. This report will fill in as the "
                "programme runs."
            ),
            italic=True,
        )
    w.heading(t("Phases"), 2)
    if data.phases:
        w.table(
            [t("Phase"), t("Dates"), t("Where"), t("Sessions held"), t("Places")],
            [
                [
                    t.pick(p.title_zh, p.title_en),
                    t("{start} to {end}").format(start=w.day(p.starts_on), end=w.day(p.ends_on)),
                    t(LOCATIONS[p.location]),
                    t("{part} of {whole}").format(part=p.held, whole=p.sessions),
                    "\n".join(p.places[:2]) or "—",
                ]
                for p in data.phases
            ],
        )
    else:
        w.para(t("The programme has no phases."))
    w.heading(t("In figures"), 2)
    f, c = data.figures, data.checkins
    rows = [
        (t("Candidates"), t.number(f.candidates)),
        (t("Tested"), t.number(f.tested)),
        (t("Shortlisted"), t.number(f.shortlisted)),
        (t("Selected"), t.number(f.selected)),
    ]
    if f.places is not None:
        rows.append((t("Places"), t.number(f.places)))
    rows += [
        (t("Withdrawn"), t.number(f.withdrawn)),
        (
            t("Sessions held"),
            t("{part} of {whole}").format(part=data.sessions_held, whole=data.sessions_total),
        ),
        (t("Check-ins answered"), w.share(c.answered, c.asked)),
        (t("Answered within the window"), w.share(c.within_window, c.asked)),
        (t("Answered before the reminder"), w.share(c.on_time, c.asked)),
        (t("Median delay of an answer"), w.hours(c.median_delay)),
        (t("Research papers"), t.number(len(data.papers))),
    ]
    w.pairs(rows)


def _participation(w: _Writer, progress: Progress) -> None:
    t, data = w.t, w.data
    w.page_break()
    w.heading(t("Participation"), 1)
    if not data.checkins.asked:
        w.para(t("No check-in has been asked yet."), italic=True)
        return
    w.picture(weekly_chart(data.weeks, t), 16)
    progress.advance()
    w.picture(cohort_chart(data.cadres, t), 16)
    progress.advance()
    w.para(
        t(
            "A check-in counts as asked once its time has passed and its prompt went out; "
            "on time means answered before the reminder."
        ),
        italic=True,
    )


def _papers(w: _Writer) -> None:
    t, data = w.t, w.data
    w.page_break()
    w.heading(t("Research papers"), 1)
    if not data.papers:
        w.para(t("No research paper has been submitted yet."), italic=True)
        return
    for paper in data.papers:
        w.heading(paper.title or t("(untitled)"), 2)
        parts = [
            paper.person_name,
            t.pick(paper.assignment_title_zh, paper.assignment_title_en),
            t("version {version}").format(version=paper.version),
            t("submitted {when}").format(when=w.when(paper.submitted_at)),
        ]
        if paper.score is not None:
            parts.append(t("score {score}").format(score=score_text(paper.score, t)))
        w.para(" · ".join(parts), italic=True)
        w.para(t("Abstract"), bold=True)
        w.para(paper.abstract or t("(no abstract)"))


def _evaluation(w: _Writer, cadre: CadreReport, progress: Progress) -> None:
    t = w.t
    w.page_break()
    w.heading(t("Evaluation: {name}").format(name=cadre.name), 1)
    w.pairs(
        [
            (t("Unit"), cadre.unit or "—"),
            (t("Position"), cadre.position or "—"),
            (t("Status"), status_label(cadre.status, t)),
        ],
        across=2,
    )
    _selection(w, cadre)
    _checkins(w, cadre, progress)
    _submissions(w, cadre.submissions)
    _notes(w, cadre)
    w.heading(t("Evaluation and recommendation"), 2)
    w.para(t("For the committee to fill in."), italic=True)
    # Last on the page, with no paragraph after it to spill onto a blank page.
    w.table(None, [[t(label), "\n" * (BLANK_LINES - 1)] for label in EVALUATION_ROWS], gap=False)


def _selection(w: _Writer, cadre: CadreReport) -> None:
    t = w.t
    w.heading(t("Selection"), 2)
    if cadre.results:
        w.table(
            [t("Test"), t("Result"), t("Entered")],
            [
                [
                    t.pick(r.title_zh, r.title_en),
                    t.pick(r.shown_zh, r.shown_en),
                    r.entered_by
                    or (t("roster import") if r.source is ResultSource.ROSTER else "—"),
                ]
                for r in cadre.results
            ],
        )
        return
    roster = []
    if cadre.test_batch is not None:
        roster.append((t("Test batch"), t.number(cadre.test_batch)))
    if cadre.english_score is not None:
        roster.append((t("English score"), t.number(cadre.english_score)))
    if cadre.bft_level:
        roster.append((t("BFT level"), cadre.bft_level))
    if roster:
        w.pairs(roster, across=2)
    else:
        w.para(t("No test results recorded."))


def _tally_rows(w: _Writer, c: CheckinTally) -> list[tuple[str, str]]:
    t = w.t
    return [
        (t("Check-ins asked"), t.number(c.asked)),
        (t("Check-ins answered"), w.share(c.answered, c.asked)),
        (t("Answered within the window"), w.share(c.within_window, c.asked)),
        (t("Answered before the reminder"), w.share(c.on_time, c.asked)),
        (t("Missed"), t.number(c.missed)),
        (t("Escalated to the organizers"), t.number(c.escalated)),
        (t("Median delay of an answer"), w.hours(c.median_delay)),
    ]


def _checkins(w: _Writer, cadre: CadreReport, progress: Progress) -> None:
    t = w.t
    w.heading(t("Check-ins"), 2)
    w.pairs(_tally_rows(w, cadre.checkins), across=2)
    if cadre.wellbeing is None:
        w.para(t("The check-ins ask no wellbeing question."), italic=True)
    elif not cadre.wellbeing:
        w.para(t("No wellbeing answer yet."), italic=True)
    else:
        w.picture(wellbeing_chart(cadre.wellbeing, cadre.timezone, t), 8)
        progress.advance()


def _submissions(w: _Writer, submissions: list[SubmissionReport]) -> None:
    t = w.t
    w.heading(t("Submissions and reviews"), 2)
    if not submissions:
        w.para(t("Nothing submitted yet."))
        return
    w.table(
        [t("Assignment"), t("Version"), t("Submitted"), t("Review"), t("Score")],
        [
            [
                t.pick(s.assignment_title_zh, s.assignment_title_en)
                + (f"\n{s.title}" if s.title else ""),
                t.number(s.version),
                w.when(s.submitted_at) + ("\n" + t("late") if s.late else ""),
                review_name(s.status, t),
                score_text(s.score, t) if s.score is not None else "—",
            ]
            for s in submissions
        ],
    )
    for s in submissions:
        scored = [c for c in s.criteria if c.points is not None]
        if not (s.feedback or scored):
            continue
        what = t("{assignment}, version {version}").format(
            assignment=t.pick(s.assignment_title_zh, s.assignment_title_en), version=s.version
        )
        paragraph = w.para(what, bold=True)
        if s.reviewer:
            w.run(paragraph, " · " + t("reviewed by {name}").format(name=s.reviewer))
        if scored:
            w.para(
                " · ".join(
                    t("{criterion}: {points}/{scale}").format(
                        criterion=t.pick(c.criterion.title_zh, c.criterion.title_en),
                        points=c.points,
                        scale=c.criterion.scale,
                    )
                    for c in scored
                )
            )
        if s.feedback:
            w.para(t("Feedback: {text}").format(text=s.feedback))


def _notes(w: _Writer, cadre: CadreReport) -> None:
    t = w.t
    w.heading(t("Organizers' call notes"), 2)
    if not cadre.notes:
        w.para(t("No call notes."))
        return
    for note in cadre.notes:
        w.para(
            t("Check-in of {when} ({survey})").format(
                when=w.when(note.slot_at),
                survey=t.pick(note.survey_title_zh, note.survey_title_en),
            ),
            bold=True,
        )
        for line in note.text.split("\n"):
            w.para(_note_line(w, line))


def _note_line(w: _Writer, line: str) -> str:
    """One entry of the notes, its UTC stamp ("[2014-10-25 01:30 UTC] ") in the reader's zone."""
    stamp = NOTE_STAMP.match(line)
    if stamp is None:
        return line
    instant = datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    return f"[{w.when(instant)}] {line[stamp.end() :]}"
