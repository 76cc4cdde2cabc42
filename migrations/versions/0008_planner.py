"""survey_runs.escalate_at: the tick selects only the runs due for escalation

Revision ID: 0008_planner
Revises: 0007_paperwork
Create Date: 2026-11-28 04:00:00

On SQLite, survey_runs is rebuilt with AUTOINCREMENT so a deleted run's id is never
given again. Open runs planned before this revision get their escalate_at computed from their
survey's escalate_after (slot_at + escalate_after minutes), in Python so that the same
code serves SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0008_planner"
down_revision: str | None = "0007_paperwork"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = ("due", "sent", "in_progress")


def upgrade() -> None:
    # On SQLite the table is rebuilt with AUTOINCREMENT: a dropped run's id is never
    # reused (see the model). PostgreSQL's sequence never reuses one anyway.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "survey_runs",
        schema=None,
        table_kwargs={"sqlite_autoincrement": True},
        recreate="always" if sqlite else "auto",
    ) as batch_op:
        batch_op.add_column(sa.Column("escalate_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_survey_runs_escalate_at"), ["escalate_at"])
    runs = sa.table(
        "survey_runs",
        sa.column("id", sa.BigInteger),
        sa.column("survey_id", sa.BigInteger),
        sa.column("slot_at", sa.DateTime(timezone=True)),
        sa.column("state", sa.String),
        sa.column("escalate_at", sa.DateTime(timezone=True)),
    )
    surveys = sa.table(
        "surveys", sa.column("id", sa.BigInteger), sa.column("escalate_after_minutes", sa.Integer)
    )
    bind = op.get_bind()
    delays = {row.id: row.escalate_after_minutes for row in bind.execute(sa.select(surveys))}
    for row in bind.execute(
        sa.select(runs.c.id, runs.c.survey_id, runs.c.slot_at).where(runs.c.state.in_(OPEN))
    ).all():
        bind.execute(
            runs.update()
            .where(runs.c.id == row.id)
            .values(escalate_at=row.slot_at + timedelta(minutes=delays[row.survey_id]))
        )


def downgrade() -> None:
    with op.batch_alter_table("survey_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_runs_escalate_at"))
        batch_op.drop_column("escalate_at")
