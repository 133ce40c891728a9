"""Province scale (issue 10): answers in the response's row, stored score summaries.

The answers move from the ``answers`` table (a row per answered item, ~25 per response) into
``responses.answer_codes`` (JSONB on PostgreSQL, JSON elsewhere; item code to code), each
response's answers exactly as they were; the downgrade moves them back.

Revision ID: 0005_scale
Revises: 0004_security
Create Date: 2026-12-02 10:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_scale"
down_revision: str | None = "0005_integrity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


ANSWER_CODES = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    _answers_into_responses()
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


def _answers_into_responses() -> None:
    # NOT NULL with a default: one ALTER on both backends (SQLite cannot add a NOT NULL column
    # without one, and a batch rebuild of `responses` would cascade to the rows referring to it).
    op.add_column(
        "responses",
        sa.Column("answer_codes", ANSWER_CODES, nullable=False, server_default=sa.text("'{}'")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE responses SET answer_codes = given.codes FROM ("
            " SELECT response_id, jsonb_object_agg(item, code) AS codes"
            " FROM answers GROUP BY response_id) AS given"
            " WHERE given.response_id = responses.id"
        )
    else:
        op.execute(
            "UPDATE responses SET answer_codes = ("
            " SELECT json_group_object(item, code) FROM answers"
            " WHERE answers.response_id = responses.id)"
            " WHERE EXISTS (SELECT 1 FROM answers WHERE answers.response_id = responses.id)"
        )
    op.drop_index(op.f("ix_answers_item_code"), table_name="answers")
    op.drop_table("answers")


def _answers_back_into_rows() -> None:
    op.create_table(
        "answers",
        sa.Column("response_id", BigId, nullable=False),
        sa.Column("item", sa.String(length=32), nullable=False),
        sa.Column("code", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["responses.id"],
            name=op.f("fk_answers_response_id_responses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("response_id", "item", name=op.f("pk_answers")),
    )
    op.create_index(op.f("ix_answers_item_code"), "answers", ["item", "code"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "INSERT INTO answers (response_id, item, code)"
            " SELECT responses.id, given.key, CAST(given.value AS SMALLINT)"
            " FROM responses, jsonb_each_text(responses.answer_codes) AS given"
        )
    else:
        op.execute(
            "INSERT INTO answers (response_id, item, code)"
            " SELECT responses.id, given.key, given.value"
            " FROM responses, json_each(responses.answer_codes) AS given"
        )
    op.drop_column("responses", "answer_codes")


def downgrade() -> None:
    op.drop_index(
        op.f("ix_score_summary_cells_set_id_span_unit_id_day"), table_name="score_summary_cells"
    )
    op.drop_table("score_summary_cells")
    op.drop_table("score_summary_sets")
    _answers_back_into_rows()
