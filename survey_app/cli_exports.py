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


@click.group("federation")
def federation_group() -> None:
    """A province's score summaries carried to a national instance (no response-level data)."""


@federation_group.command("export")
@click.option("--province", default=None, help="The province's unit code (default: the only one).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The file to write (gzip-compressed JSON, e.g. QN.sipas-federation.json.gz).",
)
@with_appcontext
def federation_export(province: str | None, output: Path) -> None:
    """Write this province's month score summaries and unit tree to a federation file."""
    from .db import get_session
    from .services import federation

    try:
        document = federation.export_document(
            get_session(), province=province, zone=current_app.config["TIME_ZONE"]
        )
    except federation.FederationError as error:
        raise click.ClickException(str(error)) from None
    size = federation.write_export(document, output)
    cells = sum(len(block["cells"]) for block in document["questionnaires"])
    click.echo(
        f"{document['province']['code']}: {len(document['units'])} units, "
        f"{len(document['desks'])} desks, {cells} summary cells → {output} ({size:,} bytes)"
    )


@federation_group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def federation_import(files: tuple[Path, ...]) -> None:
    """Import provinces' federation files, all in one transaction (all or nothing)."""
    from .db import get_session
    from .services import federation

    try:
        done = federation.import_files(
            get_session(), list(files), zone=current_app.config["TIME_ZONE"]
        )
    except federation.FederationError as error:
        raise click.ClickException(f"nothing imported: {error}") from None
    for item in done:
        click.echo(
            f"{item.province}: {item.cells} summary cells ({', '.join(item.questionnaires)}), "
            f"{item.units_added} units and {item.desks_added} desks added"
        )
