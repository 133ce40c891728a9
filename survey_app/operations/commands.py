"""`sipas backup`, `restore`, `purge` and `subject`: the operator's commands."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..db import get_engine, get_session
from ..services import accounts
from . import subjects
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
    from datetime import UTC, datetime, timedelta

    from ..services.integrity import forget_sources

    source_days = int(current_app.config["INTEGRITY_SOURCE_DAYS"])
    sources_before = datetime.now(UTC) - timedelta(days=source_days)
    sources = forget_sources(session, sources_before, dry_run=dry_run)
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
            source_digests=sources,
        )
        session.commit()
    click.echo(f"purge: {done.describe()}")
    verb = "would blank" if dry_run else "blanked"
    click.echo(
        f"purge: {verb} {sources} source digests (responses submitted before "
        f"{sources_before:%Y-%m-%d %H:%M} UTC, INTEGRITY_SOURCE_DAYS={source_days})"
    )


@click.group("subject")
def subject_group() -> None:
    """Requests of a data subject (Law 91/2025/QH15): find and erase what one person wrote."""


@subject_group.command("find")
@click.option("--text", "text", help="Part of what the person wrote (a name, a phone number).")
@click.option("--dossier", help="The dossier number of an invitation they used …")
@click.option("--desk", "desk_code", help="… and the desk on its receipt.")
@with_appcontext
def subject_find(text: str | None, dossier: str | None, desk_code: str | None) -> None:
    """List the comments holding TEXT and whether the dossier's invitation was used."""
    if not text and not (dossier and desk_code):
        raise click.UsageError("give --text, or --dossier with --desk")
    session = get_session()
    if text:
        found = subjects.find_comments(session, text)
        for row in found:
            click.echo(
                f"comment of response {row.response_id}, {row.submitted_at:%Y-%m-%d} at "
                f"{row.desk_code}: {row.text!r}"
                + (f" (handling note: {row.note!r})" if row.note else "")
            )
        click.echo(f"{len(found)} comments contain {text!r}")
    if dossier and desk_code:
        use = subjects.find_invitation(
            session, current_app.config["SECRET_KEY"], desk_code, dossier
        )
        click.echo(
            f"invitation of dossier {dossier} at {desk_code.upper()}: "
            + (f"used on {use.used_on:%Y-%m-%d} (a digest is stored)" if use else "no record")
        )
    accounts.record(session, "subject_searched", actor="cli")
    session.commit()


@subject_group.command("erase")
@click.option(
    "--comment", "response_ids", type=int, multiple=True, help="A response id (repeatable)."
)
@click.option("--dossier", help="The dossier number of a used invitation …")
@click.option("--desk", "desk_code", help="… and its desk.")
@with_appcontext
def subject_erase(
    response_ids: tuple[int, ...], dossier: str | None, desk_code: str | None
) -> None:
    """Blank these comments (and their handling notes) and delete the dossier's digest."""
    if not response_ids and not (dossier and desk_code):
        raise click.UsageError("give --comment ID, or --dossier with --desk")
    session = get_session()
    erased = subjects.erase_comments(session, list(response_ids))
    digest = 0
    if dossier and desk_code:
        use = subjects.find_invitation(
            session, current_app.config["SECRET_KEY"], desk_code, dossier
        )
        if use is not None:
            subjects.erase_invitation(session, use)
            digest = 1
    # The audit line says what was done, never what was erased.
    accounts.record(
        session, "subject_erased", actor="cli", comment_texts=erased, invitation_digests=digest
    )
    session.commit()
    click.echo(f"erased the text of {erased} comments and {digest} invitation digest")


COMMANDS = (backup_command, restore_command, purge_command, subject_group)
