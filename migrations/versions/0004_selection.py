"""selection: test results, selection marks, and the audience of phases, sessions,
assignments and surveys

Revision ID: 0004_selection
Revises: 0003_limits
Create Date: 2026-11-28 00:41:57.722834
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_selection"
down_revision: str | None = "0003_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "selection_marks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "organizer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "decision",
            sa.String(length=16),
            nullable=False,
        ),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organizer_id"],
            ["people.id"],
            name=op.f("fk_selection_marks_organizer_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_selection_marks_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selection_marks")),
        sa.UniqueConstraint(
            "organizer_id", "person_id", name=op.f("uq_selection_marks_organizer_id_person_id")
        ),
    )
    op.create_table(
        "test_results",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("test_key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("rank_value", sa.Numeric(precision=8, scale=2, asdecimal=False), nullable=False),
        sa.Column(
            "source",
            sa.String(length=16),
            nullable=False,
        ),
        sa.Column(
            "entered_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entered_by_id"],
            ["people.id"],
            name=op.f("fk_test_results_entered_by_id_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_test_results_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_results")),
        sa.UniqueConstraint(
            "person_id", "test_key", name=op.f("uq_test_results_person_id_test_key")
        ),
    )
    with op.batch_alter_table("test_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_test_results_person_id"), ["person_id"], unique=False)

    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "audience",
                sa.String(length=16),
                nullable=True,
            )
        )

    with op.batch_alter_table("phases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "audience",
                sa.String(length=16),
                nullable=True,
            )
        )

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "audience",
                sa.String(length=16),
                nullable=True,
            )
        )

    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "audience",
                sa.String(length=16),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_column("audience")

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("audience")

    with op.batch_alter_table("phases", schema=None) as batch_op:
        batch_op.drop_column("audience")

    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_column("audience")

    with op.batch_alter_table("test_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_test_results_person_id"))

    op.drop_table("test_results")
    op.drop_table("selection_marks")
