"""The fan-out benchmark's quick mode in the suite: correctness only, never its timing."""

from __future__ import annotations

from pathlib import Path

from benchmarks.fanout import run_quick


async def test_fan_out_quick_loses_nothing_doubles_nothing_and_keeps_the_chat_interval(
    tmp_path: Path,
) -> None:
    clean, flooded = await run_quick(tmp_path)
    for result in (clean, flooded):
        assert result.n == 40
        assert (result.lost, result.doubled, result.violations) == (0, 0, 0)
    assert flooded.floods > 0  # the 429 path was taken, and still nothing lost or doubled
