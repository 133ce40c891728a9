"""Units with their history: effective dates and the branch link on units, and the changes of
the map (merge, split, rename, move) as rows. Additive only: existing units read as having
always existed (no dates), so a district-era database keeps its map and can record the 2025
merger on top of it.

Revision ID: 0005_units
Revises: 0004_security
Create Date: 2026-12-02 10:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import survey_app.models.base

revision: str = "0005_units"
down_revision: str | None = "0005_survey"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on every backend: SQLite's batch mode would copy and drop "units", which
    # the rows of desks, responses and officers refer to (foreign keys are on). SQLite accepts a
    # REFERENCES clause on an added column whose default is NULL.
    op.add_column("units", sa.Column("valid_from", sa.Date(), nullable=True))
    op.add_column("units", sa.Column("valid_to", sa.Date(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE units ADD COLUMN branch_of_id INTEGER "
            "CONSTRAINT fk_units_branch_of_id_units REFERENCES units (id)"
        )
    else:
        op.add_column("units", sa.Column("branch_of_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_units_branch_of_id_units"), "units", "units", ["branch_of_id"], ["id"]
        )
    op.create_table(
        "unit_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("basis", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("desk_id", sa.Integer(), nullable=True),
        sa.Column("old_name", sa.String(length=200), nullable=True),
        sa.Column("new_name", sa.String(length=200), nullable=True),
        sa.Column("from_parent_id", sa.Integer(), nullable=True),
        sa.Column("to_parent_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", survey_app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["desk_id"], ["desks.id"], name=op.f("fk_unit_changes_desk_id_desks")
        ),
        sa.ForeignKeyConstraint(
            ["from_parent_id"], ["units.id"], name=op.f("fk_unit_changes_from_parent_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["officers.id"],
            name=op.f("fk_unit_changes_recorded_by_id_officers"),
        ),
        sa.ForeignKeyConstraint(
            ["to_parent_id"], ["units.id"], name=op.f("fk_unit_changes_to_parent_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_unit_changes_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_changes")),
    )
    with op.batch_alter_table("unit_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_unit_changes_effective_on"), ["effective_on"], unique=False
        )
    op.create_table(
        "unit_change_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["unit_changes.id"],
            name=op.f("fk_unit_change_links_change_id_unit_changes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_unit_change_links_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_change_links")),
    )
    with op.batch_alter_table("unit_change_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_change_links_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("unit_change_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_change_links_unit_id"))
    op.drop_table("unit_change_links")
    with op.batch_alter_table("unit_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_changes_effective_on"))
    op.drop_table("unit_changes")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_units_branch_of_id_units"), "units", type_="foreignkey")
    # SQLite (3.35+) drops a column in place unless it is referenced by a constraint: the
    # foreign key lives on branch_of_id itself, so that one column is dropped in place too.
    op.drop_column("units", "branch_of_id")
    op.drop_column("units", "valid_to")
    op.drop_column("units", "valid_from")
