"""limits: enrolment refusals (lock-out, merged audit) and the outbox claim token

Revision ID: 0003_limits
Revises: 0002_inbox
Create Date: 2026-11-28 00:48:59.190174
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_limits"
down_revision: str | None = "0002_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enrolment_refusals",
        sa.Column("telegram_user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refusals", sa.Integer(), nullable=False),
        sa.Column("code_refusals", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("audit_event_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("telegram_user_id", name=op.f("pk_enrolment_refusals")),
    )
    with op.batch_alter_table("enrolment_refusals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrolment_refusals_window_started_at"),
            ["window_started_at"],
            unique=False,
        )

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("claim_token")

    with op.batch_alter_table("enrolment_refusals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_refusals_window_started_at"))

    op.drop_table("enrolment_refusals")
