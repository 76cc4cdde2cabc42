"""The programme file's `selection` section: checked with the line of every problem, and
resolved into the settings stored with the programme."""

from __future__ import annotations

from collections import Counter

from liaison.services.programmes.document import Document, Loc, Problem
from liaison.services.programmes.schema import LevelDef, ProgrammeFile, TestDef
from liaison.services.programmes.settings import LevelSettings, SelectionSettings, TestSettings


def _names(level: LevelDef) -> set[str]:
    """What a level may be typed as: its key or either name, in any case."""
    return {name.casefold() for name in (level.key, level.zh, level.en or level.zh)}


def _check_test(doc: Document, test: TestDef, loc: Loc, sessions: set[str]) -> list[Problem]:
    problems = []
    if test.session and test.session not in sessions:
        problems.append(doc.problem((*loc, "session"), f"no session {test.session!r}"))
    if (test.range is None) == (not test.levels):
        problems.append(
            doc.problem(loc, "give either range: [LOW, HIGH] for a score or levels: [...]")
        )
    if test.range is not None and test.range[0] >= test.range[1]:
        problems.append(doc.problem((*loc, "range"), "the low end must be below the high end"))
    if test.levels and len(test.levels) < 2:
        problems.append(doc.problem((*loc, "levels"), "a levelled test needs 2 or more levels"))
    seen = Counter(name for level in test.levels for name in _names(level))
    for index, level in enumerate(test.levels):
        if any(seen[name] > 1 for name in _names(level)):
            problems.append(
                doc.problem((*loc, "levels", index), "each level needs its own key and names")
            )
    if test.roster == "english_score" and test.range is None:
        problems.append(doc.problem((*loc, "roster"), "english_score needs a test with a range"))
    if test.roster == "bft_level" and not test.levels:
        problems.append(doc.problem((*loc, "roster"), "bft_level needs a test with levels"))
    if test.batch is not None and test.roster != "english_score":
        problems.append(
            doc.problem((*loc, "batch"), "a batch is only read with roster: english_score")
        )
    return problems


def check_selection(doc: Document, definition: ProgrammeFile) -> list[Problem]:
    """Every problem of the selection section, each with its line."""
    selection = definition.selection
    problems: list[Problem] = []
    phases = {phase.key for phase in definition.phases}
    if selection.phase and selection.phase not in phases:
        problems.append(doc.problem(("selection", "phase"), f"no phase {selection.phase!r}"))
    sessions = {item.key for item in definition.sessions}
    keys = Counter(test.key for test in selection.tests)
    sources = Counter((test.roster, test.batch) for test in selection.tests if test.roster)
    for index, test in enumerate(selection.tests):
        loc: Loc = ("selection", "tests", index)
        if keys[test.key] > 1:
            problems.append(doc.problem((*loc, "key"), f"duplicate test key {test.key!r}"))
        if test.roster and sources[(test.roster, test.batch)] > 1:
            which = f"{test.roster}, batch {test.batch}" if test.batch else test.roster
            problems.append(doc.problem((*loc, "roster"), f"another test also reads {which}"))
        problems += _check_test(doc, test, loc, sessions)
    return problems


def selection_settings(definition: ProgrammeFile) -> SelectionSettings:
    selection = definition.selection
    return SelectionSettings(
        phase=selection.phase,
        places=selection.places,
        tests=[
            TestSettings(
                key=test.key,
                title_zh=test.title.zh,
                title_en=test.title.english(),
                session=test.session,
                low=test.range[0] if test.range else None,
                high=test.range[1] if test.range else None,
                levels=[
                    LevelSettings(key=level.key, zh=level.zh, en=level.en or level.zh)
                    for level in test.levels
                ],
                roster_column=test.roster,
                batch=test.batch,
            )
            for test in selection.tests
        ],
    )
