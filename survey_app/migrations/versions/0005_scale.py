"""Province scale (issue 10): stored score summaries (sets and their cells).

Revision ID: 0005_scale
Revises: 0004_security
Create Date: 2026-12-02 10:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_scale"
down_revision: str | None = "0004_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "score_summary_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("questionnaire", sa.String(length=32), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_summary_sets")),
        sa.UniqueConstraint(
            "questionnaire",
            "generation",
            name=op.f("uq_score_summary_sets_questionnaire_generation"),
        ),
    )
    op.create_table(
        "score_summary_cells",
        sa.Column("id", BigId, nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("span", sa.String(length=5), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_version_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("rule_valid", sa.Boolean(), nullable=False),
        sa.Column("column_valid", sa.Boolean(), nullable=False),
        sa.Column("flags", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("responses", sa.BigInteger(), nullable=False),
        sa.Column("sums", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["score_summary_sets.id"],
            name=op.f("fk_score_summary_cells_set_id_score_summary_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_summary_cells")),
        sa.UniqueConstraint(
            "set_id",
            "span",
            "day",
            "desk_id",
            "questionnaire_version_id",
            "channel",
            "rule_valid",
            "column_valid",
            "flags",
            "decision",
            name="uq_score_summary_cells_key",
        ),
    )
    op.create_index(
        op.f("ix_score_summary_cells_set_id_span_unit_id_day"),
        "score_summary_cells",
        ["set_id", "span", "unit_id", "day"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_score_summary_cells_set_id_span_unit_id_day"), table_name="score_summary_cells"
    )
    op.drop_table("score_summary_cells")
    op.drop_table("score_summary_sets")
