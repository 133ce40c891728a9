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


# Plain ADD/DROP COLUMN on every backend (SQLite 3.35+ does both in place): SQLite's batch mode
# copies and drops the table, and dropping "responses" would cascade to its answers and comments.


def upgrade() -> None:
    op.add_column("responses", sa.Column("source_digest", sa.String(length=16), nullable=True))
    op.add_column("responses", sa.Column("answers_vector", sa.String(length=64), nullable=True))
    op.create_index("ix_responses_source_digest", "responses", ["source_digest", "submitted_at"])
    op.add_column(
        "kiosk_devices", sa.Column("heartbeat_at", UTCDateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("kiosk_devices", "heartbeat_at")
    op.drop_index("ix_responses_source_digest", table_name="responses")
    op.drop_column("responses", "answers_vector")
    op.drop_column("responses", "source_digest")
