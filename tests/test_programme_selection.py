"""The programme file's selection section and audiences: checked with file:line errors,
stored with the programme, read back typed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from liaison.services.programmes.document import DocumentError
from liaison.services.programmes.loading import load_programme, plan_programme
from liaison.services.programmes.settings import settings_of
from liaison.storage.database import Database
from liaison.storage.enums import Audience
from liaison.storage.models import Phase, Programme, Session
from tests.selection_support import SAMPLE_ID, SAMPLE_PROGRAMME

AUDIENCE_FILE = Path(__file__).parent / "data" / "audience.yaml"
# As the sample writes them in its tests (its header comment mentions both too).
ROSTER = "      roster: english_score"
RANGE = "      range: [0, 100]"


def broken(tmp_path: Path, old: str, new: str) -> Path:
    text = SAMPLE_PROGRAMME.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "programme.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(path: Path, fragment: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(fragment)


def messages(path: Path) -> list[str]:
    with pytest.raises(DocumentError) as caught:
        plan_programme(path)
    return [str(problem) for problem in caught.value.problems]


def test_selection_naming_an_unknown_phase_or_session_is_reported_with_its_line(
    tmp_path: Path,
) -> None:
    path = broken(tmp_path, "  phase: selection\n  places", "  phase: selecton\n  places")
    path.write_text(
        path.read_text(encoding="utf-8").replace("session: bft-exam", "session: bft"),
        encoding="utf-8",
    )
    assert messages(path) == [
        f"programme.yaml:{line_of(path, 'phase: selecton')} selection.phase: no phase 'selecton'",
        f"programme.yaml:{line_of(path, 'session: bft')} selection.tests[2].session: "
        "no session 'bft'",
    ]


def test_a_test_with_both_a_range_and_levels_or_neither_is_reported(tmp_path: Path) -> None:
    path = broken(
        tmp_path,
        "      range: [0, 100]\n      roster: english_score\n      batch: 1",
        "      roster: english_score\n      batch: 1",
    )
    line = line_of(path, "key: english-1")
    assert messages(path) == [
        f"programme.yaml:{line} selection.tests[0]: "
        "give either range: [LOW, HIGH] for a score or levels: [...]",
        f"programme.yaml:{line + 3} selection.tests[0].roster: "
        "english_score needs a test with a range",
    ]


def test_two_tests_reading_the_same_roster_batch_are_reported(tmp_path: Path) -> None:
    path = broken(tmp_path, "      batch: 2", "      batch: 1")
    assert messages(path) == [
        f"programme.yaml:{line_of(path, ROSTER)} selection.tests[0].roster: "
        "another test also reads english_score, batch 1",
        f"programme.yaml:{line_of(path, ROSTER) + 6} "
        "selection.tests[1].roster: another test also reads english_score, batch 1",
    ]


def test_levels_that_repeat_a_name_and_a_reversed_range_are_reported(tmp_path: Path) -> None:
    path = broken(tmp_path, "{key: intermediate, zh: 中级", "{key: intermediate, zh: 初级")
    path.write_text(
        path.read_text(encoding="utf-8").replace(RANGE, "      range: [100, 0]", 1),
        encoding="utf-8",
    )
    assert messages(path) == [
        f"programme.yaml:{line_of(path, 'range: [100, 0]')} selection.tests[0].range: "
        "the low end must be below the high end",
        f"programme.yaml:{line_of(path, 'key: elementary')} selection.tests[2].levels[0]: "
        "each level needs its own key and names",
        f"programme.yaml:{line_of(path, 'key: intermediate')} selection.tests[2].levels[1]: "
        "each level needs its own key and names",
    ]


def test_an_unknown_audience_is_reported_with_its_line(tmp_path: Path) -> None:
    path = broken(
        tmp_path,
        "    location: home\n    start: 2014-03-01",
        "    location: home\n    audience: leaders\n    start: 2014-03-01",
    )
    [message] = messages(path)
    assert message.startswith(
        f"programme.yaml:{line_of(path, 'audience: leaders')} phases[0].audience: "
    )
    assert "'candidates', 'cadres' or 'all'" in message


async def test_audiences_and_tests_are_stored_and_read_back_typed(db: Database) -> None:
    await load_programme(db, AUDIENCE_FILE)
    await load_programme(db, SAMPLE_PROGRAMME)
    async with db.read() as session:
        phases = {p.key: p.audience for p in await session.scalars(select(Phase))}
        briefing = await session.scalar(select(Session).where(Session.key == "sel-briefing"))
        sample = await session.get_one(Programme, SAMPLE_ID)
    assert phases["open-days"] is Audience.ALL
    assert phases["selection"] is None  # the default rule applies
    assert briefing is not None and briefing.audience is Audience.ALL
    selection = settings_of(sample).selection
    assert (selection.phase, selection.places) == ("selection", 13)
    assert [(t.key, t.low, t.high, t.batch) for t in selection.tests] == [
        ("english-1", 0, 100, 1),
        ("english-2", 0, 100, 2),
        ("bft", None, None, None),
    ]
    assert [level.zh for level in selection.tests[2].levels] == ["初级", "中级", "高级"]
