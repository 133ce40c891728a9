"""Whole-database backups and their restore: pg_dump's custom format on PostgreSQL, SQLite's
online backup API on SQLite. A restore checks the backup's schema revision against the code's."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, MetaData, func, select
from sqlalchemy.engine import URL

from .. import migrate

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
#: libpq reads these from the environment, so a password never shows in the process list.
LIBPQ_QUERY_VARIABLES = {
    "host": "PGHOST",
    "port": "PGPORT",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
}


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Backup:
    """A backup file as read back: its backend and the schema revision(s) it holds."""

    path: Path
    backend: str
    revisions: frozenset[str]

    @property
    def size(self) -> int:
        return self.path.stat().st_size


@dataclass(frozen=True)
class Restored:
    backup: Backup
    #: Rows that were in the database before it was replaced (table → count); empty if none.
    replaced: dict[str, int]
    #: True when the backup's schema was older than the code's and was migrated after restoring.
    upgraded: bool


# -- reading a backup ------------------------------------------------------------------------


def read_backup(path: Path, *, pg_bindir: str | None = None) -> Backup:
    """Identify a backup file and read the schema revision stored in it."""
    try:
        with path.open("rb") as file:
            magic = file.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise BackupError(f"cannot read {path}: {error.strerror}") from None
    if magic.startswith(SQLITE_MAGIC):
        return Backup(path, "sqlite", _sqlite_revisions(path))
    if magic.startswith(PG_DUMP_MAGIC):
        tools = PostgresTools.find(None, pg_bindir)
        return Backup(path, "postgresql", _dump_revisions(tools, path))
    raise BackupError(
        f"{path} is neither a SQLite database nor a pg_dump custom-format archive "
        "(made by `sipas backup`)"
    )


def _sqlite_revisions(path: Path) -> frozenset[str]:
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError(f"{path} is damaged: {'; '.join(problems[:3])}")
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a sipas database: {error}") from None
    finally:
        connection.close()
    return _revisions(path, (row[0] for row in rows))


def _dump_revisions(tools: PostgresTools, path: Path) -> frozenset[str]:
    # The table's data as COPY text: one revision per line between the COPY line and "\.".
    script = tools.run(
        "pg_restore", "--data-only", "--table=alembic_version", "--file=-", str(path)
    ).stdout
    match = re.search(r"^COPY \S*alembic_version .*? FROM stdin;\n(.*?)^\\\.$", script, re.M | re.S)
    if match is None:
        raise BackupError(f"{path} has no alembic_version table: it is not a sipas backup")
    return _revisions(path, match.group(1).splitlines())


def _revisions(path: Path, values: Iterable[str]) -> frozenset[str]:
    revisions = frozenset(value.strip() for value in values if value.strip())
    if not revisions:
        raise BackupError(f"{path} holds an unmigrated database (no schema revision)")
    return revisions


# -- PostgreSQL's client programs --------------------------------------------------------------


@dataclass(frozen=True)
class PostgresTools:
    """pg_dump, pg_restore and psql of the server's major version, with libpq's environment."""

    bindir: Path
    env: dict[str, str]

    @classmethod
    def find(cls, engine: Engine | None, bindir: str | None) -> PostgresTools:
        """The client programs matching the server's major version (any version without one).

        ``bindir`` (setting ``PG_BINDIR``) is used alone when given; otherwise the Debian
        layout ``/usr/lib/postgresql/<major>/bin``, then ``pg_config --bindir``, then PATH.
        """
        env = dict(os.environ)
        major = None
        if engine is not None:
            env.update(libpq_environment(engine.url))
            with engine.connect() as connection:
                server = connection.dialect.server_version_info or (0,)
                major = int(server[0])
        candidates = [Path(bindir)] if bindir else _candidate_bindirs(major)
        found: list[str] = []
        for candidate in candidates:
            version = _client_major(candidate)
            if version is None:
                continue
            if major is None or version == major:
                return cls(candidate, env)
            found.append(f"{candidate} (version {version})")
        where = ", ".join(found) or "none found"
        wanted = f"PostgreSQL {major}" if major else "PostgreSQL"
        raise BackupError(
            f"need pg_dump, pg_restore and psql of {wanted} (the server's version): {where}. "
            f"Install them (Debian: postgresql-client-{major or 'N'}) or set SIPAS_PG_BINDIR "
            "to their folder."
        )

    def program(self, name: str) -> str:
        return str(self.bindir / name)

    def run(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        completed = subprocess.run(
            [self.program(name), *args], env=self.env, capture_output=True, text=True
        )
        if completed.returncode != 0:
            raise BackupError(f"{name} failed: {completed.stderr.strip()[-2000:]}")
        return completed


def _candidate_bindirs(major: int | None) -> list[Path]:
    candidates = []
    if major is not None:
        candidates.append(Path(f"/usr/lib/postgresql/{major}/bin"))
    pg_config = shutil.which("pg_config")
    if pg_config:
        completed = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if completed.returncode == 0:
            candidates.append(Path(completed.stdout.strip()))
    on_path = shutil.which("pg_dump")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    return candidates


def _client_major(bindir: Path) -> int | None:
    if not all((bindir / name).is_file() for name in ("pg_dump", "pg_restore", "psql")):
        return None
    completed = subprocess.run(
        [str(bindir / "pg_dump"), "--version"], capture_output=True, text=True
    )
    match = re.search(r"\) (\d+)", completed.stdout)
    return int(match.group(1)) if match else None


def libpq_environment(url: URL) -> dict[str, str]:
    """PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE… for a SQLAlchemy PostgreSQL URL."""
    env = {"PGDATABASE": url.database or ""}
    if url.host:
        env["PGHOST"] = url.host
    if url.port:
        env["PGPORT"] = str(url.port)
    if url.username:
        env["PGUSER"] = url.username
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    for key, variable in LIBPQ_QUERY_VARIABLES.items():
        value = url.query.get(key)
        if value:
            env[variable] = value if isinstance(value, str) else value[0]
    return env


# -- backup ------------------------------------------------------------------------------------


def default_file_name(engine: Engine, stamp: str) -> str:
    suffix = "sqlite3" if engine.dialect.name == "sqlite" else "dump"
    return f"sipas-{stamp}.{suffix}"


def make_backup(engine: Engine, path: Path, *, pg_bindir: str | None = None) -> Backup:
    """Write a consistent copy of the whole database to ``path`` (which must not exist).

    Written beside ``path`` first and renamed when complete, so a failed backup leaves no file
    that looks whole.
    """
    if path.exists():
        raise BackupError(f"{path} exists already; choose another file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    partial = Path(partial_name)
    try:
        if engine.dialect.name == "sqlite":
            _sqlite_copy(Path(_sqlite_file(engine)), partial)
        else:
            tools = PostgresTools.find(engine, pg_bindir)
            tools.run(
                "pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}"
            )
        partial.chmod(0o600)  # the backup holds citizens' comments and officers' data
        backup = read_backup(partial, pg_bindir=pg_bindir)
        partial.rename(path)
    finally:
        partial.unlink(missing_ok=True)
    return Backup(path, backup.backend, backup.revisions)


def _sqlite_file(engine: Engine) -> str:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("the database is in memory: there is nothing on disk to back up")
    return database


def _sqlite_copy(source: Path, target: Path) -> None:
    """Page by page under SQLite's own locking: writers may go on while it copies."""
    if not source.exists():
        raise BackupError(f"the database file {source} does not exist")
    source_connection = sqlite3.connect(source)
    target_connection = sqlite3.connect(target)
    try:
        source_connection.backup(target_connection)
        # A standalone file: no -wal file beside it is needed to read it.
        target_connection.execute("PRAGMA journal_mode=DELETE")
    finally:
        target_connection.close()
        source_connection.close()


# -- restore -----------------------------------------------------------------------------------


def rows_held(engine: Engine) -> dict[str, int]:
    """Rows in each of the database's tables (but Alembic's own), tables without rows left out."""
    metadata = MetaData()
    metadata.reflect(engine)
    counts = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            count = connection.scalar(select(func.count()).select_from(table)) or 0
            if count:
                counts[table.name] = count
    return counts


def restore_backup(
    engine: Engine, path: Path, *, force: bool = False, pg_bindir: str | None = None
) -> Restored:
    """Replace the whole database with the backup at ``path``.

    Refuses a database that holds rows unless ``force``, a backup of the other backend, and a
    backup whose schema revision this code does not know (made by a newer version). A backup
    of an older known revision is restored and then migrated.
    """
    backup = read_backup(path, pg_bindir=pg_bindir)
    backend = "sqlite" if engine.dialect.name == "sqlite" else "postgresql"
    if backup.backend != backend:
        raise BackupError(
            f"{path} is a {backup.backend} backup; the configured database is {backend}"
        )
    unknown = backup.revisions - migrate.known_revisions()
    if unknown:
        raise BackupError(
            f"{path} is at schema revision {', '.join(sorted(unknown))}, which this version of "
            f"sipas does not know (it expects {', '.join(sorted(migrate.code_revisions()))}): "
            "restore it with the version of sipas that made it"
        )
    replaced = rows_held(engine)
    if replaced and not force:
        held = ", ".join(f"{name}: {count}" for name, count in sorted(replaced.items()))
        raise BackupError(
            f"the database is not empty ({held}); restoring replaces all of it. "
            "Back it up first, then run again with --force"
        )
    engine.dispose()  # no pooled connection may hold a page or a lock of what is replaced
    if backend == "sqlite":
        _sqlite_restore(path, Path(_sqlite_file(engine)))
    else:
        _postgresql_restore(engine, path, pg_bindir)
    upgraded = backup.revisions != migrate.code_revisions()
    if upgraded:
        migrate.upgrade(engine)
    return Restored(backup, replaced, upgraded)


def _sqlite_restore(backup: Path, target: Path) -> None:
    source_connection = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)
    target_connection = sqlite3.connect(target, timeout=15)
    try:
        # One step under an exclusive lock: readers see the old database or the new, whole.
        source_connection.backup(target_connection)
    finally:
        target_connection.close()
        source_connection.close()


def _postgresql_restore(engine: Engine, path: Path, pg_bindir: str | None) -> None:
    """pg_restore's SQL, after dropping every table, in one transaction of psql.

    psql commits only when it reads the COMMIT written after pg_restore finished whole; if
    anything fails the session ends without it and PostgreSQL rolls everything back.
    """
    tools = PostgresTools.find(engine, pg_bindir)
    metadata = MetaData()
    metadata.reflect(engine)
    preparer = engine.dialect.identifier_preparer
    drops = "".join(
        f"DROP TABLE IF EXISTS {preparer.format_table(table)} CASCADE;\n"
        for table in metadata.sorted_tables
    )
    # Their messages go to files: a pipe nobody reads while the data flows could fill and stall.
    with tempfile.TemporaryFile() as psql_errors, tempfile.TemporaryFile() as restore_errors:
        with (
            subprocess.Popen(
                [tools.program("psql"), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=psql_errors,
                env=tools.env,
            ) as psql,
            subprocess.Popen(
                [
                    tools.program("pg_restore"),
                    "--no-owner",
                    "--no-privileges",
                    "--file=-",
                    str(path),
                ],
                stdout=subprocess.PIPE,
                stderr=restore_errors,
                env=tools.env,
            ) as restore,
        ):
            if psql.stdin is None or restore.stdout is None:  # pragma: no cover - PIPEs asked
                raise BackupError("could not start psql and pg_restore")
            try:
                psql.stdin.write(f"SET client_min_messages = warning;\nBEGIN;\n{drops}".encode())
                shutil.copyfileobj(restore.stdout, psql.stdin)
                restore_failed = restore.wait() != 0
                if not restore_failed:
                    psql.stdin.write(b"COMMIT;\n")
                psql.stdin.close()
            except BrokenPipeError:  # psql stopped at an error; its message says which
                restore.kill()
                restore_failed = False
            psql_failed = psql.wait() != 0
        if restore_failed or psql_failed:
            errors = _text(restore_errors if restore_failed else psql_errors)
            raise BackupError(f"restore failed, the database is unchanged: {errors}")


def _text(file: IO[bytes]) -> str:
    file.seek(0)
    return file.read().decode(errors="replace").strip()[-2000:]
