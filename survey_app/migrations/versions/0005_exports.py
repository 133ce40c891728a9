"""Exports: jobs that build the CSV of all responses in the background, the record of federation
imports, and the partial index of flagged responses the review queue reads its pages from.
Additive only.

Revision ID: 0005_exports
Revises: 0005_scale
Create Date: 2026-12-02 10:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_exports"
down_revision: str | None = "0005_scale"  # chained after scale's (merged into this branch)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "export_jobs",
        sa.Column("id", BigId, nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("starts_at", UTC, nullable=True),
        sa.Column("ends_at", UTC, nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("rows_expected", sa.BigInteger(), nullable=True),
        sa.Column("rows_written", sa.BigInteger(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("download_name", sa.String(length=120), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("worker", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("heartbeat_at", UTC, nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("seconds", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["officers.id"],
            name=op.f("fk_export_jobs_officer_id_officers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_export_jobs_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_jobs")),
        sa.UniqueConstraint("token", name=op.f("uq_export_jobs_token")),
    )
    op.create_index(
        op.f("ix_export_jobs_unit_id_created_at"), "export_jobs", ["unit_id", "created_at"]
    )
    op.create_index(
        op.f("ix_export_jobs_status_created_at"), "export_jobs", ["status", "created_at"]
    )
    op.create_table(
        "federation_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province_unit_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("exported_at", UTC, nullable=False),
        sa.Column("imported_at", UTC, nullable=False),
        sa.Column("cells", sa.Integer(), nullable=False),
        sa.Column("questionnaires", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_unit_id"],
            ["units.id"],
            name=op.f("fk_federation_imports_province_unit_id_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_imports")),
    )
    op.create_index(
        "ix_responses_newest",
        "responses",
        [sa.text("submitted_at DESC"), sa.text("id DESC")],
    )
    op.create_index(
        "ix_responses_flagged_newest",
        "responses",
        [sa.text("submitted_at DESC"), sa.text("id DESC")],
        postgresql_where=sa.text("flags <> ''"),
        sqlite_where=sa.text("flags <> ''"),
    )
    op.create_index(
        "ix_responses_flagged_unit_newest",
        "responses",
        ["unit_id", sa.text("submitted_at DESC"), sa.text("id DESC")],
        postgresql_where=sa.text("flags <> ''"),
        sqlite_where=sa.text("flags <> ''"),
    )


def downgrade() -> None:
    op.drop_index("ix_responses_flagged_unit_newest", table_name="responses")
    op.drop_index("ix_responses_flagged_newest", table_name="responses")
    op.drop_index("ix_responses_newest", table_name="responses")
    op.drop_table("federation_imports")
    op.drop_index(op.f("ix_export_jobs_status_created_at"), table_name="export_jobs")
    op.drop_index(op.f("ix_export_jobs_unit_id_created_at"), table_name="export_jobs")
    op.drop_table("export_jobs")
