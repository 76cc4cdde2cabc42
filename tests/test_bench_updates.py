"""The update benchmark's quick mode, for correctness only (no timing is asserted).

Enrolled cadres send `/schedule` through the real Application and the inbox, as a burst
and at an offered rate, then several updates each: every update is handled once and
marked done, every one gets one reply, and each person's are handled in update_id order.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import updates
from liaison.bot.inbox import default_concurrency


@pytest.fixture
def bench_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "postgresql":
        server = request.getfixturevalue("postgres_server")
        return str(server.create_database("_bench_updates"))
    return f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}"


async def test_quick_benchmark_handles_every_update_once_in_order_per_person(
    backend: str, bench_url: str, tmp_path: Path
) -> None:
    result = await updates.bench_backend(
        backend, bench_url, updates.QUICK, tmp_path, None, quick=True
    )
    checked = result.checked
    assert checked is not None
    assert checked.updates == updates.QUICK.per_user * (updates.QUICK.cadres // 4)
    assert checked.done == checked.updates
    assert checked.handled_once == checked.updates
    assert checked.users == updates.QUICK.cadres // 4
    assert checked.replied_once == checked.users
    assert checked.users_in_order == checked.users
    assert result.workers == default_concurrency(
        "postgresql" if backend == "postgresql" else "sqlite"
    )
