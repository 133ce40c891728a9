"""Migration 0005_units: a database of today's schema (0004_security) with data upgrades with every
row kept and downgrades again; a district-era deployment then records the 2025 merger and sees
both maps (today's, with the merged communes rolled in, and the map as it was)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, Table, inspect, select, text
from sqlalchemy.orm import Session

from survey_app import migrate
from survey_app.db import make_engine
from survey_app.models import Unit
from survey_app.models.tables import RESPONSES
from survey_app.services import periods, scorecards, unit_history
from survey_app.services.accounts import UnitTree
from survey_app.services.questionnaire_store import publish_shipped

from .conftest import CRITERIA

BEFORE = "0004_security"
NEW_TABLES = {"unit_changes", "unit_change_links"}
NEW_UNIT_COLUMNS = {"valid_from", "valid_to", "branch_of_id"}


@pytest.fixture
def old_engine(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database at 0004_security (the schema before this change), empty."""
    if database_url.startswith("sqlite"):
        engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
        migrate.upgrade(engine, BEFORE)
    else:
        engine = make_engine(database_url)
        migrate.downgrade(engine, BEFORE)
    yield engine
    if not database_url.startswith("sqlite"):
        migrate.upgrade(engine)  # the shared PostgreSQL test database goes back to head
    engine.dispose()


def _fill_district_era(engine: Engine) -> None:
    """A 2024 deployment: province → district → two communes and the district's centre, a desk
    each, three responses in March 2025 (two "Rất hài lòng" in C1, one "Rất không" in C2), an
    officer and a target."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO units (id, code, name, kind, parent_id, active) VALUES "
                "(1, 'P', 'Tỉnh Thử', 'province', NULL, :t), "
                "(2, 'D', 'Huyện Thử', 'district', 1, :t), "
                "(3, 'C1', 'Xã Một', 'commune', 2, :t), "
                "(4, 'C2', 'Xã Hai', 'commune', 2, :t), "
                "(5, 'TT', 'Trung tâm Hành chính công huyện Thử', 'center', 2, :t)"
            ),
            {"t": True},
        )
        connection.execute(
            text(
                "INSERT INTO desks (id, code, name, unit_id, questionnaire, active, created_at, "
                "kiosk_questionnaire) VALUES "
                "(1, 'Q1', 'Quầy xã Một', 3, 'sipas-service', :t, :at, 'sipas-kiosk'), "
                "(2, 'Q2', 'Quầy xã Hai', 4, 'sipas-service', :t, :at, 'sipas-kiosk'), "
                "(3, 'Q3', 'Quầy trung tâm', 5, 'sipas-service', :t, :at, 'sipas-kiosk')"
            ),
            {"t": True, "at": datetime(2024, 1, 2, tzinfo=UTC).replace(tzinfo=None)},
        )
        connection.execute(
            text(
                "INSERT INTO officers (id, username, full_name, password_hash, role, unit_id, "
                "active, session_version, created_at) VALUES "
                "(1, 'huyen', 'Cán bộ huyện', 'x', 'officer', 2, :t, 1, :at)"
            ),
            {"t": True, "at": datetime(2024, 1, 2)},
        )
        connection.execute(
            text(
                "INSERT INTO targets (id, unit_id, code, period, value, set_at) VALUES "
                "(1, 2, 'SIPAS', '2025', 85.0, :at)"
            ),
            {"at": datetime(2024, 1, 2)},
        )
    with Session(engine) as session:
        [(version, _new), *_rest] = [
            r for r in publish_shipped(session) if r[0].questionnaire == "sipas-service"
        ]
        version_id = version.id
        session.commit()
    with engine.begin() as connection:
        # The tables as they are at 0004_security, not as the models describe them today.
        responses = Table("responses", MetaData(), autoload_with=connection)
        answers = Table("answers", MetaData(), autoload_with=connection)
        for number, (desk, unit, code) in enumerate(((1, 3, 5), (1, 3, 5), (2, 4, 1)), start=1):
            connection.execute(
                responses.insert().values(
                    id=number,
                    # The reflected column is PostgreSQL's uuid or SQLite's 32 hex digits.
                    uuid=uuid.UUID(int=number)
                    if connection.dialect.name == "postgresql"
                    else uuid.UUID(int=number).hex,
                    desk_id=desk,
                    unit_id=unit,
                    channel="qr",
                    questionnaire_version_id=version_id,
                    submitted_at=datetime(2025, 3, 3 + number, 3, tzinfo=UTC),
                    language="vi",
                    valid=True,
                    flags="",
                    via_invitation=False,
                )
            )
            connection.execute(
                answers.insert(),
                [{"response_id": number, "item": item, "code": code} for item in CRITERIA],
            )
        if connection.dialect.name == "postgresql":  # rows were given their ids
            for table in ("units", "desks", "officers", "targets", "responses"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )


def _shape(engine: Engine) -> dict[str, list[str]]:
    """Each table's columns as they are now (taken at 0004_security, before the upgrade)."""
    found = inspect(engine)
    return {
        table: [c["name"] for c in found.get_columns(table)]
        for table in sorted(found.get_table_names())
        if table != "alembic_version"
    }


def _rows(engine: Engine, shape: dict[str, list[str]]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of ``shape`` (the columns of 0004_security; later migrations
    add their own tables and columns), in primary-key order."""
    found = inspect(engine)
    out = {}
    with engine.connect() as connection:
        for table, columns in shape.items():
            keys = found.get_pk_constraint(table)["constrained_columns"] or columns
            query = f"SELECT {', '.join(columns)} FROM {table} ORDER BY {', '.join(keys)}"
            out[table] = [tuple(row) for row in connection.execute(text(query))]
    return out


def test_an_existing_database_upgrades_and_downgrades_with_every_row_kept(
    old_engine: Engine,
) -> None:
    _fill_district_era(old_engine)
    shape = _shape(old_engine)
    before = _rows(old_engine, shape)
    assert len(before["responses"]) == 3 and len(before["answers"]) == 3 * len(CRITERIA)
    assert len(before["units"]) == 5 and len(before["questionnaire_versions"]) >= 1

    migrate.upgrade(old_engine)
    assert migrate.current_revision(old_engine) in migrate.code_revisions()
    # 0005_scale moves the answers into their response's row (tests/scale checks the values).
    now = {table: columns for table, columns in shape.items() if table != "answers"}
    assert _rows(old_engine, now) == {t: r for t, r in before.items() if t != "answers"}
    assert set(inspect(old_engine).get_table_names()) >= NEW_TABLES
    with old_engine.connect() as connection:
        dates = connection.execute(text("SELECT valid_from, valid_to FROM units")).all()
    assert dates == [(None, None)] * 5  # every old unit reads as having always existed

    migrate.downgrade(old_engine, BEFORE)
    assert _rows(old_engine, shape) == before
    assert not NEW_TABLES & set(inspect(old_engine).get_table_names())
    unit_columns = {c["name"] for c in inspect(old_engine).get_columns("units")}
    assert not NEW_UNIT_COLUMNS & unit_columns


def test_a_district_era_deployment_records_the_merger_and_sees_both_maps(
    old_engine: Engine,
) -> None:
    _fill_district_era(old_engine)
    migrate.upgrade(old_engine)
    with Session(old_engine) as session:
        tree = UnitTree.load(session)
        units = tree.by_code
        province = units["P"]
        unit_history.merge(
            session,
            tree,
            [units["C1"], units["C2"], units["TT"]],
            unit_history.NewUnit("N", "Xã Mới", "commune", province),
            date(2025, 7, 1),
            basis="Nghị quyết thử",
        )
        unit_history.merge(session, tree, [units["D"]], units["N"], date(2025, 7, 1))
        session.commit()

        tree = UnitTree.load(session)
        year = periods.parse("2025")
        today = scorecards.build_scorecard(session, tree, tree.by_code["P"], year, min_n=1)
        rows = today.table[today.table["code"] == "SIPAS"].set_index("unit_code")
        # Today's map: the province and the new commune, which holds all three responses:
        # per criterion 2 satisfied of 3 answers → 66.67.
        assert set(rows.index) == {"P", "N"}
        assert rows.loc["N", "n"] == 3
        assert rows.loc["N", "index"] == pytest.approx(200 / 3)
        assert rows.loc["N", "rank"] == 1
        commune = scorecards.build_scorecard(session, tree, tree.by_code["N"], year, min_n=1)
        assert {u.code for u in commune.rolled_in.units} == {"C1", "C2", "D"}
        assert [u.code for u in commune.rolled_in.service_points] == ["TT"]

        # The map as it was: the district and its two communes, each with its own responses.
        then = scorecards.build_scorecard(
            session, tree, tree.by_code["P"], year, min_n=1, view="as_it_was"
        )
        old = then.table[then.table["code"] == "SIPAS"].set_index("unit_code")
        assert old.loc["C1", "index"] == pytest.approx(100.0) and old.loc["C1", "n"] == 2
        assert old.loc["C2", "index"] == pytest.approx(0.0) and old.loc["C2", "n"] == 1
        assert old.loc["D", "n"] == 3 and old.loc["D", "index"] == pytest.approx(200 / 3)
        assert old.loc["C1", "rank"] == 1 and old.loc["C2", "rank"] == 2
        # The district's 2025 target still reads in the old map; no response was rewritten.
        assert old.loc["D", "target"] == 85
        units_of = dict(session.execute(select(RESPONSES.c.id, RESPONSES.c.unit_id)).all())
        assert units_of == {1: 3, 2: 3, 3: 4}
        ended = session.scalar(select(Unit).where(Unit.code == "C1"))
        assert ended is not None and ended.valid_to == date(2025, 7, 1) and not ended.active
