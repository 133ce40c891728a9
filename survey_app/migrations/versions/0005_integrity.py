"""Integrity signals: a daily-rotating source digest and the answer vector on responses, the
kiosk's last heartbeat time. Additive only (nullable columns and one index).

Revision ID: 0005_integrity
Revises: 0004_security
Create Date: 2026-12-02 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from survey_app.models.base import UTCDateTime

revision: str = "0005_integrity"
down_revision: str | None = "0005_units"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("responses") as batch:
        batch.add_column(sa.Column("source_digest", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("answers_vector", sa.String(length=64), nullable=True))
    op.create_index("ix_responses_source_digest", "responses", ["source_digest", "submitted_at"])
    with op.batch_alter_table("kiosk_devices") as batch:
        batch.add_column(sa.Column("heartbeat_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kiosk_devices") as batch:
        batch.drop_column("heartbeat_at")
    op.drop_index("ix_responses_source_digest", table_name="responses")
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("answers_vector")
        batch.drop_column("source_digest")
