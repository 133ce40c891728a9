"""`sipas scores`: the stored score summaries (issue 10)."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("scores")
def scores_group() -> None:
    """The stored score summaries every officer page, report and API answer reads."""


@scores_group.command("rebuild")
@click.option(
    "--batch", default=200_000, show_default=True, help="Responses read and summed at a time."
)
@with_appcontext
def scores_rebuild(batch: int) -> None:
    """Rebuild the summaries from the responses, swapping them in at the end in one step.

    Submissions go on meanwhile; an interrupted rebuild leaves the summaries in use as they were.
    """
    from .db import get_engine
    from .services import score_store

    started = time.perf_counter()
    done = score_store.rebuild(get_engine(), zone=str(current_app.config["TIME_ZONE"]), batch=batch)
    for one in done:
        click.echo(
            f"{one.questionnaire}: {one.responses} responses, {one.cells} cells (set {one.set_id})"
        )
    click.echo(f"rebuilt in {time.perf_counter() - started:.1f} s")
