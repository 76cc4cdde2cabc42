"""`liaison status`: the health of an installation, for people and for cron."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from liaison.bot.settings import Settings
from liaison.services.health import Expectations, Health


def health_expectations(settings: Settings, *, expect_jobs: bool = True) -> Expectations:
    """How fresh the jobs' heartbeats must be, from how often they are meant to tick."""
    tick = timedelta(seconds=settings.sending.tick_seconds)
    return Expectations(
        stale_after={
            "plan": max(5 * tick, timedelta(minutes=2)),
            "send": timedelta(minutes=1),
        },
        stuck_after=timedelta(minutes=settings.health.stuck_minutes),
        expect_jobs=expect_jobs,
    )


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def status_lines(health: Health) -> list[str]:
    lines = [
        f"status: {'healthy' if health.healthy else 'UNHEALTHY'}"
        f" (checked {health.checked_at:%Y-%m-%d %H:%M:%S} UTC)",
        f"database: {'reachable' if health.database else 'UNREACHABLE'}",
    ]
    if health.database:
        lines.append(f"schema: {', '.join(sorted(health.schema)) or 'not migrated'}")
    for programme in health.programmes:
        enrolled = ", ".join(f"{n} {role}" for role, n in sorted(programme.enrolled.items()))
        lines.append(
            f"programme {programme.id}: {programme.on_roster} on the roster;"
            f" enrolled: {enrolled or 'nobody yet'}"
        )
    if health.database:
        backlog = ", ".join(f"{n} {state}" for state, n in sorted(health.outbox.items()))
        lines.append(f"outbox: {backlog or 'empty'}")
        oldest = _age(health.oldest_due_age) if health.oldest_due_age is not None else "none"
        lines.append(f"oldest due message waiting: {oldest}")
    for beat in health.beats:
        line = f"job {beat.name}: last ran {_age(beat.age)} ago on {beat.instance}"
        line += f", took {beat.seconds:.2f} s" + ("" if beat.ok else ", FAILED")
        lines.append(line)
        if beat.last_error and beat.last_error_at is not None:
            lines.append(f"  last error {beat.last_error_at:%Y-%m-%d %H:%M} UTC: {beat.last_error}")
    for finding in health.findings:
        lines.append(f"problem: {finding.problem.value}: {finding.detail}")
    return lines


def status_json(health: Health) -> str:
    data: dict[str, Any] = {
        "healthy": health.healthy,
        "checked_at": health.checked_at.isoformat(),
        "database": health.database,
        "schema": sorted(health.schema),
        "programmes": [
            {
                "id": p.id,
                "on_roster": p.on_roster,
                "enrolled": {role.value: n for role, n in p.enrolled.items()},
            }
            for p in health.programmes
        ],
        "outbox": {state.value: n for state, n in health.outbox.items()},
        "oldest_due_seconds": (
            health.oldest_due_age.total_seconds() if health.oldest_due_age is not None else None
        ),
        "jobs": {
            b.name: {
                "at": b.at.isoformat(),
                "age_seconds": b.age.total_seconds(),
                "instance": b.instance,
                "seconds": b.seconds,
                "ok": b.ok,
                "last_error": b.last_error,
            }
            for b in health.beats
        },
        "problems": [{"problem": f.problem.value, "detail": f.detail} for f in health.findings],
    }
    return json.dumps(data, ensure_ascii=False, indent=2)
