"""`sipas exports …` (the CSV of all responses built in the background) and `sipas federation …`
(a province's score summaries carried to a national instance). Heavy imports inside commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext


def _folder() -> Path:
    configured = current_app.config.get("EXPORT_FOLDER")
    return Path(configured) if configured else Path(current_app.instance_path) / "exports"


@click.group("exports")
def exports_group() -> None:
    """Exports built in the background: run a queued job, clean old files, check a file."""


@exports_group.command("run")
@click.argument("job_id", type=int)
@with_appcontext
def run_command(job_id: int) -> None:
    """Build the file of a queued export job here (instead of in a web worker)."""
    from .db import get_engine
    from .services import export_jobs

    status = export_jobs.run(get_engine(), job_id, _folder())
    click.echo(f"export job {job_id}: {status}")
    if status != "done":
        raise SystemExit(1)


@exports_group.command("clean")
@with_appcontext
def clean_command() -> None:
    """Remove export files older than EXPORT_KEEP_HOURS; mark dead jobs failed."""
    from .db import get_session
    from .services import export_jobs

    removed = export_jobs.clean_up(
        get_session(),
        _folder(),
        keep_hours=float(current_app.config["EXPORT_KEEP_HOURS"]),
        stale_seconds=float(current_app.config["EXPORT_STALE_SECONDS"]),
    )
    click.echo(f"{removed} file(s) removed")


@exports_group.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check_command(path: Path) -> None:
    """Check that an exported CSV is complete (its end marker and row count)."""
    from .services.responses_csv import IncompleteExport, check_file

    try:
        rows = check_file(path)
    except IncompleteExport as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{path.name}: complete, {rows} responses")
