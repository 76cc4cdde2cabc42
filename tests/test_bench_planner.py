"""The planner benchmark's quick mode, for correctness only: with a few dozen cadres,
every run, prompt, reminder, escalation and miss is planned once and nothing twice.
No timing is asserted (speed is for benchmarks/ only)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from liaison.storage.database import Database

ROOT = Path(__file__).resolve().parent.parent


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "planner_benchmark", ROOT / "benchmarks" / "planner.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _benchmark()


async def test_quick_mode_plans_everything_once(
    bench: ModuleType, db: Database, tmp_path: Path
) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    backend = db.dialect
    await db.dispose()
    result = await bench.run_size(url, backend, 25, tmp_path)
    assert bench.problems(result) == []
    assert result.checks["prompts"] == result.checks["reminders"] == 25
    assert result.checks["escalation rows"] == 25 * result.checks["organizers"] > 0
    # Every kind of tick ran, and the statements were counted.
    assert set(result.phases) == {*bench.TICKS, bench.DIGEST}
    assert all(measure.statements > 0 for measure in result.phases.values())


def test_the_section_replaces_only_its_own_part(bench: ModuleType, tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(
        f"# Benchmarks\n\nbefore\n\n{bench.START}\nold\n{bench.END}\n\nafter\n", encoding="utf-8"
    )
    bench.write_section(f"{bench.START}\nnew\n{bench.END}", doc)
    assert doc.read_text(encoding="utf-8") == (
        f"# Benchmarks\n\nbefore\n\n{bench.START}\nnew\n{bench.END}\n\nafter\n"
    )
