"""The one-stop system plugged in: write scopes on API tokens, dossier facts and petitions
(Decision 766 group 5), applied event keys and replayable idempotent answers.
Additive only (new tables and one column with a default: tokens issued before keep "read").

Revision ID: 0005_onestop
Revises: 0004_security
Create Date: 2026-12-02 10:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_onestop"
down_revision: str | None = "0004_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("scopes", sa.String(length=200), server_default="read", nullable=False)
        )
    op.create_table(
        "onestop_dossiers",
        sa.Column("id", BigId, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("procedure_code", sa.String(length=32), nullable=True),
        sa.Column("received_at", When, nullable=False),
        sa.Column("due_at", When, nullable=True),
        sa.Column("returned_at", When, nullable=True),
        sa.Column("overdue_reported", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.String(length=16), nullable=True),
        sa.Column("has_petition", sa.Boolean(), nullable=False),
        sa.Column("settled_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["desk_id"], ["desks.id"], name=op.f("fk_onestop_dossiers_desk_id_desks")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_onestop_dossiers_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_dossiers")),
        sa.UniqueConstraint("digest", name=op.f("uq_onestop_dossiers_digest")),
    )
    op.create_index(
        op.f("ix_onestop_dossiers_unit_id_settled_at"),
        "onestop_dossiers",
        ["unit_id", "settled_at"],
    )
    op.create_index(
        op.f("ix_onestop_dossiers_desk_id_settled_at"),
        "onestop_dossiers",
        ["desk_id", "settled_at"],
    )
    op.create_table(
        "onestop_petitions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("dossier_id", BigId, nullable=True),
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("received_at", When, nullable=False),
        sa.Column("due_at", When, nullable=True),
        sa.Column("handled_at", When, nullable=True),
        sa.Column("repeated", sa.Boolean(), nullable=False),
        sa.Column("satisfied_votes", sa.Integer(), nullable=False),
        sa.Column("not_satisfied_votes", sa.Integer(), nullable=False),
        sa.Column("settled_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["onestop_dossiers.id"],
            name=op.f("fk_onestop_petitions_dossier_id_onestop_dossiers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["desk_id"], ["desks.id"], name=op.f("fk_onestop_petitions_desk_id_desks")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_onestop_petitions_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_petitions")),
        sa.UniqueConstraint("digest", name=op.f("uq_onestop_petitions_digest")),
    )
    op.create_index(
        op.f("ix_onestop_petitions_unit_id_settled_at"),
        "onestop_petitions",
        ["unit_id", "settled_at"],
    )
    op.create_table(
        "onestop_events",
        sa.Column("id", BigId, nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("stored_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            name=op.f("fk_onestop_events_token_id_api_tokens"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_events")),
        sa.UniqueConstraint("token_id", "key", name=op.f("uq_onestop_events_token_id_key")),
    )
    op.create_table(
        "onestop_idempotent_answers",
        sa.Column("id", BigId, nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("endpoint", sa.String(length=40), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            name=op.f("fk_onestop_idempotent_answers_token_id_api_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_idempotent_answers")),
        sa.UniqueConstraint(
            "token_id", "key", name=op.f("uq_onestop_idempotent_answers_token_id_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("onestop_idempotent_answers")
    op.drop_table("onestop_events")
    op.drop_index(op.f("ix_onestop_petitions_unit_id_settled_at"), table_name="onestop_petitions")
    op.drop_table("onestop_petitions")
    op.drop_index(op.f("ix_onestop_dossiers_desk_id_settled_at"), table_name="onestop_dossiers")
    op.drop_index(op.f("ix_onestop_dossiers_unit_id_settled_at"), table_name="onestop_dossiers")
    op.drop_table("onestop_dossiers")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("scopes")
