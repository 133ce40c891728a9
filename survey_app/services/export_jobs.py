"""Exports built in the background: the CSV of all responses of a unit, written to a file by a
thread (or ``sipas exports run``) apart from the request that asked, so no worker timeout cuts it.

A job's life: ``queued`` (the row exists) → ``running`` (claimed by one runner, which reports
progress every batch: ``rows_written`` and ``heartbeat_at``) → ``done`` (the file complete, its
end marker written, renamed from ``.part`` to its final name) or ``failed`` (the error said).
A runner that dies (its process killed or restarted) leaves ``running`` with a heartbeat that
stops: after ``stale_seconds`` the job reads as failed (:func:`state`) and its partial file is
never offered. ``clean_up`` removes files older than the keep time and marks their jobs
``expired``.

Files are named by the job's token (32 random bytes): neither guessable nor listed; only an
officer whose scope holds the job's unit is given the file (the view checks, by the unit).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from sqlalchemy import Engine, Table, select, update
from sqlalchemy.orm import Session

from ..models import Unit, utcnow
from ..models.exports import ExportJob
from .accounts import UnitTree
from .responses_csv import IncompleteExport, count_in_scope, write_file

log = logging.getLogger(__name__)
JOBS = cast(Table, ExportJob.__table__)

#: Seconds between two progress reports of a running job (at most; one per batch at least).
BEAT_SECONDS = 1.0
#: Jobs listed on a unit's exports page.
RECENT = 10


@dataclass(frozen=True)
class JobState:
    """A job as the officer's page shows it."""

    token: str
    status: str
    unit_id: int
    period: str
    rows_expected: int | None
    rows_written: int
    size_bytes: int
    download_name: str
    error: str
    created_at: datetime
    finished_at: datetime | None
    seconds: int | None

    @property
    def percent(self) -> int:
        """Progress in whole percent (100 only when done)."""
        if self.status == "done":
            return 100
        if not self.rows_expected:
            return 0
        return min(99, self.rows_written * 100 // self.rows_expected)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed", "expired")


def file_path(folder: Path, token: str, *, part: bool = False) -> Path:
    """Where a job's file is (``.part`` while it is being written)."""
    return folder / (f"{token}.csv.part" if part else f"{token}.csv")


def create(
    session: Session,
    *,
    unit: Unit,
    officer_id: int | None,
    period: str | None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> ExportJob:
    """A queued job for the CSV of ``unit`` (and the units below it) in [starts_at, ends_at).

    Added to the session, flushed (so it has its id), not committed.
    """
    label = period or "all"
    job = ExportJob(
        token=secrets.token_urlsafe(32),
        kind="responses_csv",
        unit_id=unit.id,
        officer_id=officer_id,
        period=label,
        starts_at=starts_at,
        ends_at=ends_at,
        status="queued",
        rows_written=0,
        size_bytes=0,
        download_name=f"sipas-responses-{unit.code}-{label}.csv",
        error="",
    )
    session.add(job)
    session.flush()
    return job


def state(job: ExportJob, *, stale_seconds: float, now: datetime | None = None) -> JobState:
    """The job as it really is: a queued or running job whose runner stopped reporting for
    ``stale_seconds`` is failed (the process died), whatever its row says."""
    now = now or utcnow()
    status = job.status
    error = job.error
    last = job.heartbeat_at or job.started_at or job.created_at
    if status in ("queued", "running") and now - last > timedelta(seconds=stale_seconds):
        status = "failed"
        error = error or "interrupted"
    return JobState(
        token=job.token,
        status=status,
        unit_id=job.unit_id,
        period=job.period,
        rows_expected=job.rows_expected,
        rows_written=job.rows_written,
        size_bytes=job.size_bytes,
        download_name=job.download_name,
        error=error,
        created_at=job.created_at,
        finished_at=job.finished_at,
        seconds=job.seconds,
    )


def by_token(session: Session, token: str) -> ExportJob | None:
    """The job of a link's token (None for any unknown or malformed token)."""
    if not token or len(token) > 64:
        return None
    return session.scalars(select(ExportJob).where(ExportJob.token == token)).first()


def recent(session: Session, unit_ids: set[int] | None, limit: int = RECENT) -> list[ExportJob]:
    """The newest jobs of these units (None: every unit), newest first."""
    query = select(ExportJob).order_by(ExportJob.created_at.desc(), ExportJob.id.desc())
    if unit_ids is not None:
        query = query.where(ExportJob.unit_id.in_(sorted(unit_ids)))
    return list(session.scalars(query.limit(limit)))


def ready_file(folder: Path, job: ExportJob, *, stale_seconds: float) -> Path | None:
    """The file of a finished job, None when there is none to give (not done, or removed)."""
    if state(job, stale_seconds=stale_seconds).status != "done":
        return None
    path = file_path(folder, job.token)
    return path if path.is_file() else None


# -- running a job ---------------------------------------------------------------------------


def _set(engine: Engine, job_id: int, **values: object) -> int:
    """Update the job's row in a transaction of its own; how many rows changed."""
    with engine.begin() as connection:
        result = connection.execute(update(JOBS).where(JOBS.c.id == job_id), values)
        return int(result.rowcount)


def _claim(engine: Engine, job_id: int) -> bool:
    """Mark a queued job running; False when another runner has it (or it is not queued)."""
    now = utcnow()
    table = JOBS
    with engine.begin() as connection:
        result = connection.execute(
            update(table)
            .where(table.c.id == job_id, table.c.status == "queued")
            .values(
                status="running",
                started_at=now,
                heartbeat_at=now,
                worker=f"{socket.gethostname()[:60]}:{os.getpid()}",
            )
        )
        return bool(result.rowcount)


def run(engine: Engine, job_id: int, folder: Path) -> str:
    """Build the file of a queued job; return its final status (``done`` or ``failed``).

    Never raises for a failure of the export itself: the job's row says what went wrong. A
    job already claimed by another runner is left alone (returns its status).
    """
    if not _claim(engine, job_id):
        with Session(engine) as session:
            job = session.get(ExportJob, job_id)
            return job.status if job is not None else "missing"
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with Session(engine) as session:
        job = session.get(ExportJob, job_id)
        assert job is not None
        part = file_path(folder, job.token, part=True)
        final = file_path(folder, job.token)
        try:
            unit_ids = UnitTree.load(session).subtree_ids(job.unit_id)
            expected, highest = count_in_scope(
                session, unit_ids=unit_ids, start=job.starts_at, end=job.ends_at
            )
            _set(engine, job_id, rows_expected=expected, heartbeat_at=utcnow())
            last_beat = [0.0]

            def progress(rows: int, size: int) -> None:
                now = time.monotonic()
                if now - last_beat[0] >= BEAT_SECONDS:
                    last_beat[0] = now
                    _set(engine, job_id, rows_written=rows, size_bytes=size, heartbeat_at=utcnow())

            rows, size = write_file(
                session,
                part,
                unit_ids=unit_ids,
                start=job.starts_at,
                end=job.ends_at,
                upto_id=highest,
                progress=progress,
            )
            if rows != expected:
                raise IncompleteExport(
                    f"{rows} rows written where {expected} were counted "
                    "(responses were removed while the file was written)"
                )
            part.replace(final)
        except Exception as error:  # the job's row carries the failure; the caller goes on
            log.exception("export job %s failed", job_id)
            part.unlink(missing_ok=True)
            _set(
                engine,
                job_id,
                status="failed",
                error=f"{type(error).__name__}: {error}"[:500],
                finished_at=utcnow(),
                heartbeat_at=utcnow(),
            )
            return "failed"
        _set(
            engine,
            job_id,
            status="done",
            rows_written=rows,
            size_bytes=size,
            finished_at=utcnow(),
            heartbeat_at=utcnow(),
            seconds=round(time.monotonic() - started),
        )
        return "done"


def start_thread(engine: Engine, job_id: int, folder: Path) -> threading.Thread:
    """Run the job in a daemon thread of this process (the web worker that created it).

    If the process ends first, the job's heartbeat stops and it reads as failed; the officer
    starts it again.
    """
    thread = threading.Thread(
        target=run, args=(engine, job_id, folder), name=f"export-{job_id}", daemon=True
    )
    thread.start()
    return thread


def clean_up(session: Session, folder: Path, *, keep_hours: float, stale_seconds: float) -> int:
    """Remove the files of jobs made more than ``keep_hours`` ago (their jobs become
    ``expired``), mark dead runners' jobs failed, and remove stray ``.part`` files of jobs no
    longer running. Returns how many files were removed. Commits."""
    now = utcnow()
    removed = 0
    old = session.scalars(
        select(ExportJob).where(
            ExportJob.created_at < now - timedelta(hours=keep_hours),
            ExportJob.status != "expired",
        )
    ).all()
    for job in old:
        for path in (file_path(folder, job.token), file_path(folder, job.token, part=True)):
            if path.exists():
                path.unlink()
                removed += 1
        job.status = "expired"
    live = session.scalars(
        select(ExportJob).where(ExportJob.status.in_(("queued", "running")))
    ).all()
    running_tokens = set()
    for job in live:
        if state(job, stale_seconds=stale_seconds, now=now).status == "failed":
            job.status = "failed"
            job.error = job.error or "interrupted"
            job.finished_at = now
        else:
            running_tokens.add(job.token)
    session.commit()
    if folder.is_dir():
        for stray in folder.glob("*.csv.part"):
            if stray.name.removesuffix(".csv.part") not in running_tokens:
                stray.unlink()
                removed += 1
    return removed
