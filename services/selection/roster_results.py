"""Results read from the roster's own columns: english_score (with test_batch) and
bft_level map onto the tests that declare ``roster:`` in the programme file.

A programme that declares no such test keeps the columns as before, and nothing else.
"""

from __future__ import annotations

from liaison.services.programmes.settings import SelectionSettings, TestSettings
from liaison.services.selection.errors import ScoreOutOfRange, UnknownLevel
from liaison.services.selection.values import Reading, read_value


def _english_test(selection: SelectionSettings, batch: int | None) -> TestSettings | None:
    tests = [t for t in selection.tests if t.roster_column == "english_score"]
    exact = [t for t in tests if t.batch == batch]
    if exact:
        return exact[0]
    unbatched = [t for t in tests if t.batch is None]
    return unbatched[0] if len(unbatched) == 1 else None


def roster_readings(
    selection: SelectionSettings,
    english_score: float | None,
    batch: int | None,
    bft_level: str | None,
) -> tuple[list[tuple[TestSettings, Reading]], list[str]]:
    """The results one roster row carries, and the reasons it cannot (for the row's line)."""
    readings: list[tuple[TestSettings, Reading]] = []
    reasons: list[str] = []
    if english_score is not None and any(
        t.roster_column == "english_score" for t in selection.tests
    ):
        test = _english_test(selection, batch)
        if test is None:
            reasons.append(
                f"english_score of test_batch {batch if batch is not None else '(empty)'} "
                "belongs to no test in the programme file"
            )
        else:
            try:
                readings.append((test, read_value(test, str(english_score))))
            except ScoreOutOfRange as exc:
                reasons.append(
                    f"english_score {english_score:g} is outside {test.key}'s range "
                    f"{exc.low:g}-{exc.high:g}"
                )
    levelled = [t for t in selection.tests if t.roster_column == "bft_level"]
    if bft_level and levelled:
        try:
            readings.append((levelled[0], read_value(levelled[0], bft_level)))
        except UnknownLevel as exc:
            names = ", ".join(zh for zh, _en in exc.levels)
            reasons.append(f"bft_level {bft_level!r} is not one of {names}")
    return readings, reasons
