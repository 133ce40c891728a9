"""`sipas backup` then `sipas restore` gives back every row of every table, on SQLite and on
PostgreSQL; restore refuses a database holding data (unless --force), a backup of the other
backend and a backup of a schema this code does not know."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

from survey_app import migrate
from survey_app.db import get_database, get_engine, get_session
from survey_app.models import Response, Unit
from survey_app.operations.backup import BackupError, PostgresTools, libpq_environment

from ..conftest import Survey, full_answers, make_test_app
from .conftest import every_row

#: The schema revision this code migrates to.
[HEAD] = migrate.code_revisions()


@pytest.fixture
def target_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same backend to restore into (PostgreSQL: <test db>_restore)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    url = make_url(database_url)
    name = f"{url.database}_restore"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def engine_of(app: Flask) -> Engine:
    with app.app_context():
        return get_engine()


def test_round_trip_gives_back_every_row_of_every_table(
    filled: Flask, target_url: str, tmp_path: Path
) -> None:
    backup = tmp_path / "sipas.backup"
    made = filled.test_cli_runner().invoke(args=["backup", str(backup)])
    assert made.exit_code == 0, made.output
    assert f"schema revision {HEAD}" in made.output
    assert backup.stat().st_mode & 0o777 == 0o600  # it holds comments and officers' data
    # What the backup holds: every row as it was before `backup` wrote its own audit line.
    with filled.app_context():
        get_session().execute(text("DELETE FROM audit_events WHERE action = 'backup_made'"))
        get_session().commit()
    before = every_row(engine_of(filled))
    empty = [name for name, rows in before.items() if not rows]
    assert empty == [], f"the data set leaves tables empty, so they prove nothing: {empty}"

    restored_app = make_test_app(target_url)
    try:
        done = restored_app.test_cli_runner().invoke(args=["restore", str(backup)])
        assert done.exit_code == 0, done.output
        with restored_app.app_context():
            get_session().execute(
                text("DELETE FROM audit_events WHERE action = 'database_restored'")
            )
            get_session().commit()
        after = every_row(engine_of(restored_app))
        assert after.keys() == before.keys()
        for table in before:
            assert after[table] == before[table], f"table {table} differs after the round trip"
        # The restored database takes new rows: its sequences continue after the restored ids.
        survey = Survey(restored_app.test_client())
        answer = survey.submit("DAMHA2", full_answers(comment="Sau khi khôi phục."))
        assert answer.status_code == 303, answer.get_data(as_text=True)[:300]
        with restored_app.app_context():
            count = get_session().scalar(select(func.count()).select_from(Response))
        assert count == len(before["responses"]) + 1
    finally:
        with restored_app.app_context():
            get_database().dispose()


def test_restore_refuses_a_database_with_data_unless_forced(filled: Flask, tmp_path: Path) -> None:
    runner = filled.test_cli_runner()
    backup = tmp_path / "sipas.backup"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    with filled.app_context():
        session = get_session()
        session.add(Unit(code="NEW", name="Đơn vị thêm sau khi sao lưu", kind="commune"))
        session.commit()
    refused = runner.invoke(args=["restore", str(backup)])
    assert refused.exit_code != 0
    assert "not empty" in refused.output and "--force" in refused.output
    with filled.app_context():
        assert get_session().scalar(select(Unit).where(Unit.code == "NEW")) is not None

    forced = runner.invoke(args=["restore", "--force", str(backup)])
    assert forced.exit_code == 0, forced.output
    with filled.app_context():
        session = get_session()
        assert session.scalar(select(Unit).where(Unit.code == "NEW")) is None
        assert session.scalar(select(func.count()).select_from(Response)) > 0
        actions = session.scalars(text("SELECT action FROM audit_events ORDER BY id")).all()
    assert actions[-1] == "database_restored"


def _with_revision(app: Flask, revision: str) -> None:
    with app.app_context():
        get_session().execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
        get_session().commit()


def test_restore_refuses_a_backup_of_an_unknown_schema(
    filled: Flask, target_url: str, tmp_path: Path
) -> None:
    backup = tmp_path / "future.backup"
    _with_revision(filled, "9999_future")
    try:
        assert filled.test_cli_runner().invoke(args=["backup", str(backup)]).exit_code == 0
    finally:
        _with_revision(filled, HEAD)
    target = make_test_app(target_url)
    try:
        refused = target.test_cli_runner().invoke(args=["restore", str(backup)])
        assert refused.exit_code != 0
        assert "9999_future" in refused.output and "does not know" in refused.output
        with target.app_context():
            assert get_session().execute(text("SELECT 1")).scalar() == 1
            assert migrate.current_revision(get_engine()) is None  # nothing was written
    finally:
        with target.app_context():
            get_database().dispose()


def test_a_backup_of_an_older_schema_is_restored_then_migrated(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite3"
    engine = create_engine(f"sqlite:///{old}")
    migrate.upgrade(engine, "0002")
    engine.dispose()
    backup = tmp_path / "old.backup"
    shutil.copy(old, backup)
    target = make_test_app(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    done = target.test_cli_runner().invoke(args=["restore", str(backup)])
    assert done.exit_code == 0, done.output
    assert "migrated" in done.output
    with target.app_context():
        assert migrate.current_revision(get_engine()) == HEAD
        get_database().dispose()


def test_restore_refuses_other_files_and_the_other_backend(
    app: Flask, database_url: str, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    text_file = tmp_path / "notes.txt"
    text_file.write_text("không phải bản sao lưu")
    refused = runner.invoke(args=["restore", str(text_file)])
    assert refused.exit_code != 0 and "neither a SQLite database" in refused.output
    if database_url.startswith("postgresql"):
        other = tmp_path / "other.sqlite3"
        connection = sqlite3.connect(other)
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        connection.execute("INSERT INTO alembic_version VALUES (?)", (HEAD,))
        connection.commit()
        connection.close()
        refused = runner.invoke(args=["restore", str(other)])
        assert refused.exit_code != 0
        assert "is a sqlite backup; the configured database is postgresql" in refused.output


def test_backup_never_overwrites_a_file(app: Flask, tmp_path: Path) -> None:
    existing = tmp_path / "kept.backup"
    existing.write_bytes(b"an older backup")
    refused = app.test_cli_runner().invoke(args=["backup", str(existing)])
    assert refused.exit_code != 0 and "exists already" in refused.output
    assert existing.read_bytes() == b"an older backup"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_libpq_gets_the_password_from_the_environment() -> None:
    url = make_url("postgresql+psycopg://sipas:s%40cret@/sipas?host=/var/run/postgresql")
    assert libpq_environment(url) == {
        "PGDATABASE": "sipas",
        "PGHOST": "/var/run/postgresql",
        "PGUSER": "sipas",
        "PGPASSWORD": "s@cret",
    }


@pytest.mark.postgresql
def test_client_programs_must_match_the_server(postgresql_engine: Engine, tmp_path: Path) -> None:
    found = PostgresTools.find(postgresql_engine, None)
    server = postgresql_engine.dialect.server_version_info
    assert server is not None
    assert f"PostgreSQL) {server[0]}" in found.run("pg_dump", "--version").stdout
    with pytest.raises(BackupError, match="SIPAS_PG_BINDIR"):
        PostgresTools.find(postgresql_engine, str(tmp_path))
