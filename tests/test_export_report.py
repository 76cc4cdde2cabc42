"""The results report: built on the demo's past, opened with python-docx, checked against
the database (cover, figures, papers, one evaluation page per cadre, East Asian fonts)."""

from __future__ import annotations

import io
import statistics
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from docx import Document
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from sqlalchemy import event, select

from liaison.bot.cli import main
from liaison.bot.sandbox.demo import PROGRAMME_ID, Demo, build_demo
from liaison.services.exports.errors import UnknownProgramme
from liaison.services.exports.kinds import ExportKind
from liaison.services.exports.report_data import gather_report
from liaison.services.programmes.loading import load_programme
from liaison.services.selection.figures import CHOSEN, selection_figures
from liaison.services.selection.results import results_of
from liaison.storage.database import Database
from liaison.storage.enums import (
    AssignmentKind,
    Location,
    ReviewDecision,
    ReviewStatus,
    Role,
    RunState,
)
from liaison.storage.models import (
    Assignment,
    Person,
    Phase,
    Programme,
    Review,
    Session,
    Submission,
    Survey,
    SurveyRun,
)
from liaison.ui.exports import build_export
from liaison.ui.i18n import Translator, translator
from liaison.ui.labels import score_text
from liaison.ui.report_docx import EAST_ASIAN_FONT, EVALUATION_ROWS
from tests.conftest import PROGRAMME_FILE
from tests.conftest import PROGRAMME_ID as TEST_PROGRAMME
from tests.history import build_history

ZH = translator("zh_CN")
EN = translator("en")
# 20 December 2014, after the return: the programme's whole past is in the record.
NOW = datetime(2014, 12, 20, 2, 0, tzinfo=UTC)
CJK = "\u4e00"

PAPERS = {
    # name: (title, abstract, an older version's abstract that must not show)
    "王思远": (
        "锦江区现代商贸业转型升级的路径研究",
        "借鉴北卡三角研究园的产学研合作经验，提出锦江区商贸业数字化转型的三项建议。",
        "初稿摘要：尚未成文。",
    ),
    "周琳": (
        "Downtown revitalisation: lessons from Durham for Chunxi Road",
        "How Durham's business improvement district funds public space, and what Chunxi Road "
        "could take from it.",
        None,
    ),
}
FEEDBACK = "调研扎实，建议第三部分补充成本测算。"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the module: the demo's past is played once and reused."""
    return tmp_path_factory.mktemp("report-demo")


@pytest.fixture
async def demo(demo_dir: Path, tmp_path: Path) -> AsyncIterator[Demo]:
    """The demo's past plus two research papers (one in two versions), one reviewed."""
    built = await build_demo(demo_dir, lambda _: None)
    try:
        await _add_papers(built.db)
        yield built
    finally:
        await built.app.shutdown()
        await built.db.dispose()


async def _add_papers(db: Database) -> None:
    async with db.transaction() as session:
        people = {p.name: p for p in await session.scalars(select(Person))}
        paper = await session.scalar(
            select(Assignment).where(Assignment.kind == AssignmentKind.RESEARCH_PAPER)
        )
        assert paper is not None
        lead = people["郑红"]
        for name, (title, abstract, old) in PAPERS.items():
            versions = ([old] if old else []) + [abstract]
            for number, text in enumerate(versions, start=1):
                submission = Submission(
                    assignment_id=paper.id,
                    person_id=people[name].id,
                    version=number,
                    title=title,
                    abstract=text,
                    text="正文",
                    submitted_at=datetime(2014, 12, 1 + number, 3, 0, tzinfo=UTC),
                )
                session.add(submission)
            if name == "王思远":
                await session.flush()
                submission.review_status = ReviewStatus.REVIEWED
                submission.score = 82.9
                submission.feedback = FEEDBACK
                submission.reviewed_by_id = lead.id
                submission.reviewed_at = datetime(2014, 12, 8, 2, 0, tzinfo=UTC)
                session.add(
                    Review(
                        submission_id=submission.id,
                        reviewer_id=lead.id,
                        scores={"research": 8, "proposals": 9, "writing": 7},
                        feedback=FEEDBACK,
                        decision=ReviewDecision.ACCEPTED,
                        decided_at=submission.reviewed_at,
                    )
                )


async def report(db: Database, tmp_path: Path, locale: str, programme: str = PROGRAMME_ID) -> Doc:
    out = tmp_path / f"report-{locale}.docx"
    built = await build_export(
        db, ExportKind.REPORT, programme, out, data_dir=tmp_path, now=NOW, locale=locale
    )
    assert built.parts == [out]
    return Doc(Document(str(out)))


@dataclass
class Doc:
    """The document read back as blocks (paragraphs and tables) in body order."""

    document: DocxDocument

    def blocks(self) -> Iterator[Paragraph | Table]:
        body = self.document.element.body
        for child in body.iterchildren():
            if child.tag == qn("w:p"):
                yield Paragraph(child, self.document)
            elif child.tag == qn("w:tbl"):
                yield Table(child, self.document)

    def sections(self) -> list[tuple[str, list[Paragraph | Table]]]:
        """The body cut at each Heading 1: (heading, its blocks); the cover comes first."""
        found: list[tuple[str, list[Paragraph | Table]]] = [("", [])]
        for block in self.blocks():
            if isinstance(block, Paragraph) and style(block) == "Heading 1":
                found.append((block.text, []))
            else:
                found[-1][1].append(block)
        return found

    def section(self, heading: str) -> list[Paragraph | Table]:
        (blocks,) = [blocks for title, blocks in self.sections() if title == heading]
        return blocks

    def text(self, blocks: list[Paragraph | Table] | None = None) -> str:
        lines: list[str] = []
        for block in blocks if blocks is not None else list(self.blocks()):
            if isinstance(block, Paragraph):
                lines.append(block.text)
            else:
                lines += [" | ".join(c.text for c in row.cells) for row in block.rows]
        return "\n".join(lines)

    def runs(self) -> Iterator[tuple[str, object]]:
        for r in self.document.element.body.iter(qn("w:r")):
            text = "".join(t.text or "" for t in r.iter(qn("w:t")))
            yield text, r


def style(paragraph: Paragraph) -> str:
    return paragraph.style.name if paragraph.style is not None else ""


def pairs(blocks: list[Paragraph | Table]) -> dict[str, str]:
    """The label: value tables' pairs (two or four columns: one or two pairs a row)."""
    found: dict[str, str] = {}
    for block in blocks:
        if isinstance(block, Table) and len(block.columns) in (2, 4):
            for row in block.rows:
                cells = [c.text for c in row.cells]
                found.update({cells[i]: cells[i + 1] for i in range(0, len(cells), 2) if cells[i]})
    return found


def share(t: Translator, part: int, whole: int) -> str:
    if not whole:
        return t("{part} of {whole}").format(part=part, whole=whole)
    return t("{part} of {whole} ({percent})").format(
        part=part, whole=whole, percent=f"{round(100 * part / whole)}%"
    )


def hours(t: Translator, delays: list[timedelta]) -> str:
    if not delays:
        return "—"
    median = statistics.median(d.total_seconds() for d in delays)
    return t("{hours} h").format(hours=t.number(round(median / 3600, 1)))


@dataclass
class Expected:
    asked: int
    answered: int
    within: int
    on_time: int
    missed: int
    escalated: int
    delays: list[timedelta]


async def expected_checkins(db: Database, person_ids: set[int], now: datetime = NOW) -> Expected:
    """The check-in figures read straight from the runs, as the report defines them."""
    async with db.read() as session:
        rows = (
            await session.execute(
                select(SurveyRun, Survey.remind_after_minutes).join(
                    Survey, Survey.id == SurveyRun.survey_id
                )
            )
        ).all()
    asked = [
        (r, remind)
        for r, remind in rows
        if r.person_id in person_ids and r.slot_at <= now and r.state is not RunState.DUE
    ]
    done = [(r, remind) for r, remind in asked if r.state is RunState.COMPLETED]
    return Expected(
        len(asked),
        len(done),
        sum(r.completed_at <= r.closes_at for r, _ in done),
        sum(r.completed_at <= r.slot_at + timedelta(minutes=m) for r, m in done),
        sum(r.state in (RunState.MISSED, RunState.ESCALATED) for r, _ in asked),
        sum(r.escalated_at is not None for r, _ in asked),
        [r.completed_at - r.slot_at for r, _ in done],
    )


async def abroad_places(db: Database) -> Counter[str]:
    async with db.read() as session:
        rows = await session.execute(
            select(Session.place)
            .join(Phase, Phase.id == Session.phase_id)
            .where(Phase.location == Location.ABROAD, Session.place.is_not(None))
        )
        return Counter(place for (place,) in rows if place)


async def cohort(db: Database) -> list[Person]:
    async with db.read() as session:
        return list(
            await session.scalars(
                select(Person)
                .where(Person.role == Role.CADRE, Person.status.in_(CHOSEN))
                .order_by(Person.id)
            )
        )


async def test_cover_and_summary_match_the_database_in_chinese(demo: Demo, tmp_path: Path) -> None:
    doc = await report(demo.db, tmp_path, "zh_CN")
    cover = doc.text(doc.sections()[0][1])
    async with demo.db.read() as session:
        programme = await session.get_one(Programme, PROGRAMME_ID)
        sessions = list(await session.scalars(select(Session)))
    assert programme.title_zh in cover and ZH("Results report") in cover
    assert "2014年3月1日至2014年12月31日" in cover  # the first and last phase's dates
    abroad = await abroad_places(demo.db)
    assert ZH("Host: {place}").format(place=abroad.most_common(1)[0][0]) in cover
    assert (
        ZH("Generated on {when} ({city} time)").format(
            when="2014年12月20日 10:00", city=ZH.city("Asia/Shanghai")
        )
        in cover
    )
    assert ZH("All times in this report are {city} time.").format(city="北京") in cover
    summary = doc.section(ZH("Programme summary"))
    figures = await selection_figures(demo.db, PROGRAMME_ID)
    numbers = pairs(summary)
    assert numbers[ZH("Candidates")] == str(figures.candidates)
    assert numbers[ZH("Selected")] == str(figures.selected) == "13"
    assert numbers[ZH("Shortlisted")] == str(figures.shortlisted)
    held = sum(s.ends_at <= NOW for s in sessions)
    assert numbers[ZH("Sessions held")] == ZH("{part} of {whole}").format(
        part=held, whole=len(sessions)
    )
    expected = await expected_checkins(demo.db, {p.id for p in await cohort(demo.db)})
    assert expected.asked == 52 and 0 < expected.answered < expected.asked
    assert numbers[ZH("Check-ins answered")] == share(ZH, expected.answered, expected.asked)
    assert numbers[ZH("Answered within the window")] == share(ZH, expected.within, expected.asked)
    assert numbers[ZH("Answered before the reminder")] == share(
        ZH, expected.on_time, expected.asked
    )
    assert numbers[ZH("Median delay of an answer")] == hours(ZH, expected.delays)
    assert numbers[ZH("Research papers")] == "2"
    phases = next(b for b in summary if isinstance(b, Table))
    assert [row.cells[0].text for row in phases.rows[1:]] == [
        "公开遴选与英语强化培训",
        "国内行前培训与调研",
        "理论学习(课堂讲授、案例教学)",
        "实训(政府机构和企业顶岗、社区活动)",
        "回国成果转化",
    ]
    assert "UNC Chapel Hill" in phases.rows[3].cells[4].text


async def test_one_evaluation_page_per_cadre_with_their_own_numbers_in_english(
    demo: Demo, tmp_path: Path
) -> None:
    doc = await report(demo.db, tmp_path, "en")
    people = await cohort(demo.db)
    sections = doc.sections()
    pages = [(title, blocks) for title, blocks in sections if title.startswith("Evaluation: ")]
    assert [title for title, _ in pages] == [
        EN("Evaluation: {name}").format(name=p.name) for p in people
    ]
    # Each page starts on a new page: the block before its heading is a page break.
    titles = [title for title, _ in sections]
    for title, _ in pages:
        before = sections[titles.index(title) - 1][1][-1]
        assert isinstance(before, Paragraph)
        assert before._p.xpath('.//w:br[@w:type="page"]')
    for person, (_, blocks) in zip(people, pages, strict=True):
        numbers = pairs(blocks)
        expected = await expected_checkins(demo.db, {person.id})
        assert numbers[EN("Check-ins asked")] == str(expected.asked)
        assert numbers[EN("Check-ins answered")] == share(EN, expected.answered, expected.asked)
        assert numbers[EN("Answered within the window")] == share(
            EN, expected.within, expected.asked
        )
        assert numbers[EN("Answered before the reminder")] == share(
            EN, expected.on_time, expected.asked
        )
        assert numbers[EN("Missed")] == str(expected.missed)
        assert numbers[EN("Escalated to the organizers")] == str(expected.escalated)
        assert numbers[EN("Median delay of an answer")] == hours(EN, expected.delays)
        assert numbers[EN("Unit")] == (person.unit or "—")
        # Selection data: every recorded test result, in the declared tests' order.
        results = await results_of(demo.db, person.id)
        assert results
        selection = next(
            b for b in blocks if isinstance(b, Table) and b.rows[0].cells[0].text == EN("Test")
        )
        assert [[c.text for c in row.cells[:2]] for row in selection.rows[1:]] == [
            [r.title_en, r.shown_en] for r in results
        ]
    quiet = dict(pages)[EN("Evaluation: {name}").format(name="黄俊杰")]
    assert pairs(quiet)[EN("Missed")] != "0"


async def test_papers_reviews_and_call_notes_are_in_the_report(demo: Demo, tmp_path: Path) -> None:
    doc = await report(demo.db, tmp_path, "zh_CN")
    papers = doc.section(ZH("Research papers"))
    text = doc.text(papers)
    for title, abstract, old in PAPERS.values():
        headings = [b.text for b in papers if isinstance(b, Paragraph) and style(b) == "Heading 2"]
        assert title in headings
        assert abstract in text
        assert old is None or old not in text  # the latest version only
    assert ZH("score {score}").format(score=score_text(82.9, ZH)) in text
    page = doc.text(doc.section(ZH("Evaluation: {name}").format(name="王思远")))
    assert ZH("Feedback: {text}").format(text=FEEDBACK) in page
    assert ZH("reviewed by {name}").format(name="郑红") in page
    assert "调研深入、材料翔实：8/10" in page and "结构与文字：7/10" in page
    assert score_text(82.9, ZH) in page
    # The theory stage report the demo's lead reviewed, with the rubric's points.
    assert ZH("accepted") in page
    unwell = doc.text(doc.section(ZH("Evaluation: {name}").format(name="杨帆")))
    async with demo.db.read() as session:
        notes = [
            n
            for n in await session.scalars(
                select(SurveyRun.notes)
                .join(Person, Person.id == SurveyRun.person_id)
                .where(Person.name == "杨帆", SurveyRun.notes.is_not(None))
            )
            if n
        ]
    assert notes
    for note in notes:
        for line in note.split("\n"):
            # Each entry's UTC stamp is shown in the reader's zone (Beijing for the report).
            stamp, _, entry = line.partition(" UTC] ")
            assert entry and entry in unwell
            instant = datetime.strptime(stamp[1:], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
            local = instant.astimezone(ZoneInfo("Asia/Shanghai"))
            assert f"[{ZH.long_date(local.date())} {local:%H:%M}] {entry}" in unwell
            assert " UTC] " not in unwell
    assert ZH("No call notes.") in doc.text(
        doc.section(ZH("Evaluation: {name}").format(name="王思远"))
    )


async def test_evaluation_section_is_left_empty_images_embedded_fonts_east_asian(
    demo: Demo, tmp_path: Path
) -> None:
    doc = await report(demo.db, tmp_path, "zh_CN")
    people = await cohort(demo.db)
    for person in people:
        blocks = doc.section(ZH("Evaluation: {name}").format(name=person.name))
        headings = [b.text for b in blocks if isinstance(b, Paragraph) and style(b) == "Heading 2"]
        assert headings[-1] == ZH("Evaluation and recommendation")
        table = [b for b in blocks if isinstance(b, Table)][-1]
        assert [row.cells[0].text for row in table.rows] == [ZH(r) for r in EVALUATION_ROWS]
        assert all(row.cells[1].text.strip() == "" for row in table.rows)
    # Two participation charts, and a wellbeing chart for each cadre who answered.
    report_data = await gather_report(demo.db, PROGRAMME_ID, NOW)
    with_wellbeing = sum(1 for c in report_data.cadres if c.wellbeing)
    assert with_wellbeing >= 10
    assert len(doc.document.inline_shapes) == 2 + with_wellbeing
    # Each picture points at a PNG inside the package (identical charts share one part).
    for shape in doc.document.inline_shapes:
        (embed,) = shape._inline.xpath(".//a:blip/@r:embed")
        image = doc.document.part.related_parts[embed]
        assert image.content_type == "image/png"
        assert image.blob.startswith(b"\x89PNG") and len(image.blob) > 2000
    # Every run carries the East Asian font; those with Chinese say so with the hint.
    chinese = 0
    for text, run in doc.runs():
        fonts = run.find(qn("w:rPr") + "/" + qn("w:rFonts"))  # type: ignore[attr-defined]
        if not text:
            continue
        assert fonts is not None and fonts.get(qn("w:eastAsia")) == EAST_ASIAN_FONT, text
        if any("\u4e00" <= ch <= "\u9fff" for ch in text):
            chinese += 1
            assert fonts.get(qn("w:hint")) == "eastAsia"
    assert chinese > 100
    for name in ("Normal", "Title", "Heading 1", "Heading 2"):
        element = doc.document.styles[name].element
        fonts = element.find(qn("w:rPr") + "/" + qn("w:rFonts"))
        assert fonts is not None and fonts.get(qn("w:eastAsia")) == EAST_ASIAN_FONT
        assert fonts.get(qn("w:eastAsiaTheme")) is None


async def test_report_of_an_empty_programme_says_there_is_nothing_yet(
    db: Database, tmp_path: Path
) -> None:
    await load_programme(db, PROGRAMME_FILE)
    for t, locale in ((ZH, "zh_CN"), (EN, "en")):
        doc = await report(db, tmp_path, locale, TEST_PROGRAMME)
        text = doc.text()
        assert (
            t(
                "Nothing has been recorded for this programme yet: no cadre in the cohort, "
                "no check-in asked and no paper submitted. This report will fill in as the "
                "programme runs."
            )
            in text
        )
        assert t("No check-in has been asked yet.") in text
        assert t("No research paper has been submitted yet.") in text
        assert not [title for title, _ in doc.sections() if title.startswith(t("Evaluation"))]
        assert len(doc.document.inline_shapes) == 0
        assert pairs(doc.section(t("Programme summary")))[t("Candidates")] == "0"


async def test_report_of_an_unknown_programme_is_refused(db: Database, tmp_path: Path) -> None:
    with pytest.raises(UnknownProgramme):
        await build_export(
            db, ExportKind.REPORT, "nope", tmp_path / "x.docx", data_dir=tmp_path, now=NOW
        )
    assert not (tmp_path / "x.docx").exists()


def test_export_report_command_writes_the_docx_or_names_the_unknown_programme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {
        "LIAISON_DATA_DIR": str(tmp_path / "data"),
        "LIAISON_DATABASE_URL": "",
        "LIAISON_BOT_TOKEN": "",
    }
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    loaded = runner.invoke(main, ["programme", "load", str(PROGRAMME_FILE)], env=env)
    assert loaded.exit_code == 0, loaded.output
    result = runner.invoke(
        main,
        ["export", "report", "--programme", TEST_PROGRAMME, "--output", "r.docx", "--locale", "en"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    document = Document(io.BytesIO((tmp_path / "r.docx").read_bytes()))
    assert EN("Programme summary") in [p.text for p in document.paragraphs]
    refused = runner.invoke(main, ["export", "report", "--programme", "nope"], env=env)
    assert refused.exit_code == 1 and "Error: no programme 'nope'" in refused.output


async def statements_of_gather(db: Database, programme_id: str) -> tuple[int, int]:
    """The SQL statements one gathering of the report runs, and how many cadres it covers."""
    counted: list[str] = []

    def count(*args: object) -> None:
        counted.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        data = await gather_report(db, programme_id, NOW)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    return len([s for s in counted if s.lstrip().upper().startswith("SELECT")]), len(data.cadres)


async def test_report_reads_a_fixed_number_of_statements_whatever_the_cohort(
    demo: Demo, sqlite_db: Database, tmp_path: Path
) -> None:
    await build_history(sqlite_db, tmp_path)
    small, small_cohort = await statements_of_gather(sqlite_db, TEST_PROGRAMME)
    large, large_cohort = await statements_of_gather(demo.db, PROGRAMME_ID)
    assert (small_cohort, large_cohort) == (3, 13)
    assert small == large <= 20


async def test_report_on_both_databases_matches_the_runs_and_reviews(
    db: Database, tmp_path: Path
) -> None:
    """The export tests' own history, on SQLite and PostgreSQL alike."""
    await build_history(db, tmp_path)
    now = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    out = tmp_path / "history.docx"
    await build_export(
        db, ExportKind.REPORT, TEST_PROGRAMME, out, data_dir=tmp_path, now=now, locale="en"
    )
    doc = Doc(Document(str(out)))
    async with db.read() as session:
        people = {
            p.name: p
            for p in await session.scalars(select(Person).where(Person.role == Role.CADRE))
        }
    for name, person in people.items():
        blocks = doc.section(EN("Evaluation: {name}").format(name=name))
        numbers = pairs(blocks)
        expected = await expected_checkins(db, {person.id}, now)
        assert numbers[EN("Check-ins asked")] == str(expected.asked)
        assert numbers[EN("Check-ins answered")] == share(EN, expected.answered, expected.asked)
        assert numbers[EN("Median delay of an answer")] == hours(EN, expected.delays)
    zhang = doc.text(doc.section(EN("Evaluation: {name}").format(name="张伟")))
    assert EN("Feedback: {text}").format(text="很好") in zhang
    assert EN("reviewed by {name}").format(name="Organizer Liu") in zhang
    assert score_text(88.5, EN) in zhang
    li = doc.text(doc.section(EN("Evaluation: {name}").format(name="李娜")))
    assert "电话联系：身体不适，已休息。" in li
    # Wang's wellbeing 2 is drawn; Li answered none: her page says so instead.
    assert EN("No wellbeing answer yet.") in li
