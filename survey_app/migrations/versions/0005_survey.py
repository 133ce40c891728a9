"""The province's own survey: sample plans, their strata and drawn units, paper keyings and
settled paper forms. Additive only (new tables).

Revision ID: 0005_survey
Revises: 0004_security
Create Date: 2026-12-02 10:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_survey"
down_revision: str | None = "0005_onestop"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sample_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("questionnaire", sa.String(length=32), nullable=False),
        sa.Column("frame_kind", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("margin", sa.Float(), nullable=False),
        sa.Column("allocation", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("minimum", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("two_stage", sa.Boolean(), nullable=False),
        sa.Column("per_cluster", sa.Integer(), nullable=False),
        sa.Column("frame_rows", sa.Integer(), nullable=False),
        sa.Column("frame_sha256", sa.String(length=64), nullable=False),
        sa.Column("province_margin", sa.Float(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["officers.id"], name=op.f("fk_sample_plans_created_by_id_officers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sample_plans")),
    )
    op.create_table(
        "sample_strata",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("stratum", sa.String(length=32), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("clusters", sa.Integer(), nullable=False),
        sa.Column("n_required", sa.Integer(), nullable=False),
        sa.Column("n_planned", sa.Integer(), nullable=False),
        sa.Column("n_drawn", sa.Integer(), nullable=False),
        sa.Column("clusters_drawn", sa.Integer(), nullable=False),
        sa.Column("margin", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["sample_plans.id"],
            name=op.f("fk_sample_strata_plan_id_sample_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_sample_strata_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sample_strata")),
        sa.UniqueConstraint("plan_id", "stratum", name=op.f("uq_sample_strata_plan_id_stratum")),
    )
    op.create_table(
        "sample_units",
        sa.Column("id", BigId, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("form_number", sa.Integer(), nullable=False),
        sa.Column("frame_id", sa.String(length=64), nullable=False),
        sa.Column("stratum", sa.String(length=32), nullable=False),
        sa.Column("cluster", sa.String(length=64), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("fpc", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["sample_plans.id"],
            name=op.f("fk_sample_units_plan_id_sample_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sample_units")),
        sa.UniqueConstraint(
            "plan_id", "form_number", name=op.f("uq_sample_units_plan_id_form_number")
        ),
        sa.UniqueConstraint("plan_id", "frame_id", name=op.f("uq_sample_units_plan_id_frame_id")),
    )
    op.create_table(
        "paper_keyings",
        sa.Column("id", BigId, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("form_number", sa.Integer(), nullable=False),
        sa.Column("clerk_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("keyed_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["sample_plans.id"],
            name=op.f("fk_paper_keyings_plan_id_sample_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["clerk_id"], ["officers.id"], name=op.f("fk_paper_keyings_clerk_id_officers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_keyings")),
        sa.UniqueConstraint(
            "plan_id",
            "form_number",
            "clerk_id",
            name=op.f("uq_paper_keyings_plan_id_form_number_clerk_id"),
        ),
    )
    op.create_table(
        "paper_forms",
        sa.Column("id", BigId, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("form_number", sa.Integer(), nullable=False),
        sa.Column("response_id", BigId, nullable=False),
        sa.Column("stratum", sa.String(length=32), nullable=False),
        sa.Column("cluster", sa.String(length=64), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("fpc", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("settled_by_id", sa.Integer(), nullable=True),
        sa.Column("settled_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["sample_plans.id"],
            name=op.f("fk_paper_forms_plan_id_sample_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["responses.id"],
            name=op.f("fk_paper_forms_response_id_responses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["settled_by_id"], ["officers.id"], name=op.f("fk_paper_forms_settled_by_id_officers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_forms")),
        sa.UniqueConstraint(
            "plan_id", "form_number", name=op.f("uq_paper_forms_plan_id_form_number")
        ),
        sa.UniqueConstraint("response_id", name=op.f("uq_paper_forms_response_id")),
    )


def downgrade() -> None:
    for table in ("paper_forms", "paper_keyings", "sample_units", "sample_strata", "sample_plans"):
        op.drop_table(table)
