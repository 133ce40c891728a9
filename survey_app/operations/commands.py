"""`sipas backup`, `sipas restore` and `sipas purge`: the operator's commands."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .. import accounts
from ..db import get_engine, get_session
from .backup import BackupError, default_file_name, make_backup, restore_backup
from .retention import RetentionError, RetentionPolicy, purge


@click.command("backup")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file: Path | None) -> None:
    """Write a backup of the whole database to FILE (default: sipas-<UTC time>.dump/.sqlite3).

    PostgreSQL: pg_dump's custom format (client of the server's version; SIPAS_PG_BINDIR);
    SQLite: the online backup API. Both are consistent while the app keeps running.
    """
    engine = get_engine()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = file or Path(default_file_name(engine, stamp))
    try:
        made = make_backup(engine, path, pg_bindir=current_app.config["PG_BINDIR"])
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    session = get_session()
    accounts.record(session, "backup_made", actor="cli", target=path.name, size=made.size)
    session.commit()
    click.echo(
        f"backup: {path} ({made.backend}, schema revision {', '.join(sorted(made.revisions))}, "
        f"{made.size:,} bytes)"
    )


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that holds data.")
@with_appcontext
def restore_command(file: Path, force: bool) -> None:
    """Replace the whole database with the backup in FILE (stop the app servers first).

    Refuses a database that holds data unless --force, and a backup made by a newer version;
    an older backup is migrated after it is restored.
    """
    engine = get_engine()
    try:
        restored = restore_backup(
            engine, file, force=force, pg_bindir=current_app.config["PG_BINDIR"]
        )
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    session = get_session()
    accounts.record(
        session,
        "database_restored",
        actor="cli",
        target=file.name,
        revisions=sorted(restored.backup.revisions),
        replaced_rows=sum(restored.replaced.values()),
        upgraded=restored.upgraded,
    )
    session.commit()
    migrated = " and migrated to this version's schema" if restored.upgraded else ""
    click.echo(f"restored {file} ({restored.backup.backend}){migrated}")


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Only count what would be removed.")
@with_appcontext
def purge_command(dry_run: bool) -> None:
    """Remove personal data past its retention period (SIPAS_RETENTION_*): comments' text and
    their handling notes, used invitations' dossier digests. Counts and scores are kept."""
    try:
        policy = RetentionPolicy.from_config(current_app.config)
    except RetentionError as error:
        raise click.ClickException(str(error)) from None
    session = get_session()
    done = purge(session, policy, dry_run=dry_run)
    if dry_run:
        session.rollback()
    else:
        accounts.record(
            session,
            "data_purged",
            actor="cli",
            comment_texts=done.comment_texts,
            follow_up_notes=done.follow_up_notes,
            invitation_digests=done.invitation_digests,
            comments_before=done.comments_before.isoformat(),
            invitations_before=done.invitations_before.isoformat(),
        )
        session.commit()
    click.echo(f"purge: {done.describe()}")


COMMANDS = (backup_command, restore_command, purge_command)
