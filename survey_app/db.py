"""The database seam: one engine per app, one session per app context (request or command)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

_EXTENSION = "sipas.db"


def make_engine(url: str) -> Engine:
    """An engine with the settings each backend needs for concurrent writers."""
    options: dict[str, Any] = {}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 15}
    else:
        options["pool_pre_ping"] = True
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers go on while one worker writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_autocommit_engine(url: str) -> Engine | None:
    """PostgreSQL only: a pool of its own whose connections commit each statement by itself.

    For writes that are one atomic statement (the citizen survey's submit): no BEGIN or COMMIT
    round trip, and no ping before use, which would be one more; such callers retry a statement
    that meets a dead connection instead (see ``services.response_store.add_response_at_desk``).
    """
    if url.startswith("sqlite"):
        return None
    return create_engine(url, isolation_level="AUTOCOMMIT")


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    autocommit: Engine | None

    def dispose(self) -> None:
        """Close every pooled connection (tests do, before emptying the tables)."""
        self.engine.dispose()
        if self.autocommit is not None:
            self.autocommit.dispose()


def init_app(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
    engine = make_engine(url)
    app.extensions[_EXTENSION] = Database(
        engine, sessionmaker(engine, expire_on_commit=False), make_autocommit_engine(url)
    )
    app.teardown_appcontext(_close_session)


def get_database() -> Database:
    database: Database = current_app.extensions[_EXTENSION]
    return database


def get_engine() -> Engine:
    return get_database().engine


def get_session() -> Session:
    """The session of the current app context; views commit, data functions never do."""
    if "db_session" not in g:
        g.db_session = get_database().sessions()
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
