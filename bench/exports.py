"""Exports and the officer's long lists at province scale (issue 10, items 4 and 5).

Two steps, so the (untimed) load is done once:

    .venv/bin/python -m bench.exports load --database sipas_exports_bench --responses 1000000
    .venv/bin/python -m bench.exports run --database sipas_exports_bench

``load`` makes the database (migrated, the demo district's units, desks and officers) and adds
synthetic responses with their answers (17 each) and a comment on one in ten, written with COPY
(bench.officer_reports.load_responses); 1% are flagged. ``run`` times, on that database:

* the CSV export job (the same code the officer's button runs, in this process): wall time,
  rows, bytes, the process's peak RSS before and after, and the end marker checked by reading
  the whole file back (``responses_csv.check_file``);
* the comments page (each filter), the review queue and the desk page's queries, median of 5,
  with PostgreSQL's plan of each (EXPLAIN ANALYZE) written to bench/explain-exports.txt.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.results import machine, update_section
from bench.server import POSTGRES, Server

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "SIPAS_DATABASE_URL": url, "SIPAS_SECRET_KEY": "benchmark-secret"}


def load(database: str, responses: int) -> None:
    from bench.officer_reports import load_responses

    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", database])
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], check=True)
    url = f"{POSTGRES}/{database}"
    for args in (
        ("db", "upgrade"),
        ("questionnaires", "publish"),
        ("demo", "load", "--responses", "0"),
    ):
        subprocess.run([str(BIN / "sipas"), *args], env=_env(url), check=True, capture_output=True)
    started = time.perf_counter()
    server = Server("", 0, url, "postgresql", 0, 0)
    step = 250_000
    for _first in range(0, responses, step):
        load_responses(server, min(step, responses - _first), seed=11 + _first)
        print(f"loaded {_first + step:,} in {time.perf_counter() - started:.0f} s", flush=True)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(database: str, runs: int, skip_csv: bool = False) -> None:
    from sqlalchemy import select, text

    from survey_app import create_app
    from survey_app.db import get_session
    from survey_app.models import Desk, ExportJob, Officer, Unit
    from survey_app.services import export_jobs, feedback, responses_csv
    from survey_app.services.accounts import UnitTree

    url = f"{POSTGRES}/{database}"
    folder = Path(tempfile.mkdtemp(prefix="sipas-bench-exports-"))
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "benchmark-secret"})
    lines: list[str] = []
    with app.app_context():
        db = get_session()
        total = db.scalar(text("SELECT count(*) FROM responses")) or 0
        root = db.scalars(select(Unit).where(Unit.parent_id.is_(None))).first()
        assert root is not None
        tree = UnitTree.load(db)
        ids = tree.subtree_ids(root.id)
        officer = db.scalars(select(Officer).where(Officer.username == "damha")).first()
        if not skip_csv:
            rss_before = _rss_mb()
            job = export_jobs.create(
                db,
                unit=root,
                officer_id=officer.id if officer else None,
                period=None,
            )
            db.commit()
            started = time.perf_counter()
            export_jobs.run(app_engine(db), job.id, folder)
            seconds = time.perf_counter() - started
            db.expire_all()
            job = db.get(ExportJob, job.id)
            assert job is not None and job.status == "done", (
                job.status if job else None,
                job.error if job else None,
            )
            path = export_jobs.file_path(folder, job.token)
            check_started = time.perf_counter()
            rows = responses_csv.check_file(path)
            check_seconds = time.perf_counter() - check_started
            assert rows == total == job.rows_written, (rows, total, job.rows_written)
            lines.append(
                f"- CSV export job, {total:,} responses (the whole province): **{seconds:.1f} s** "
                f"wall, {job.size_bytes / 1e6:.0f} MB, {rows:,} rows; end marker and row count "
                f"checked by reading the file back ({check_seconds:.1f} s). Peak RSS of the "
                f"process {rss_before:.0f} MB before, {_rss_mb():.0f} MB after (flat: the "
                f"rows never sit in Python; each batch of 20,000 is written by PostgreSQL's COPY)."
            )
            print(lines[-1], flush=True)
            path.unlink()
        desk = db.scalars(select(Desk).order_by(Desk.id)).first()
        assert desk is not None

        def timed(name: str, call: object) -> None:
            times = []
            for _ in range(runs + 1):
                started = time.perf_counter()
                call()  # type: ignore[operator]
                times.append(time.perf_counter() - started)
                db.rollback()
            med = statistics.median(times[1:])
            lines.append(f"  - {name}: {med * 1000:.0f} ms (median of {runs}, after a warm-up)")
            print(lines[-1], flush=True)

        lines.append(f"- Officer lists at {total:,} responses (services called directly):")
        for status in ("all", "open", "handled"):
            wanted = feedback.CommentFilter(unit_ids=ids, status=status)
            timed(f"comments, {status}, page 1", lambda w=wanted: feedback.comments_page(db, w, 1))
        wanted = feedback.CommentFilter(unit_ids=ids, very_dissatisfied=True)
        timed("comments, very dissatisfied, page 1", lambda: feedback.comments_page(db, wanted, 1))
        wanted = feedback.CommentFilter(unit_ids=ids, text="chờ")
        timed("comments, text search, page 1", lambda: feedback.comments_page(db, wanted, 1))
        wanted = feedback.CommentFilter(unit_ids=ids, status="all")
        timed("comments, page 200", lambda: feedback.comments_page(db, wanted, 200))
        wanted = feedback.CommentFilter(desk_id=desk.id, unit_ids=ids)
        timed("comments of one desk, page 1", lambda: feedback.comments_page(db, wanted, 1))
        for status in ("undecided", "decided", "all"):
            timed(
                f"review queue, {status}, page 1",
                lambda s=status: feedback.review_page(db, ids, None, s, 1),
            )
        timed("review queue of one desk", lambda: feedback.review_page(db, ids, desk.id, "all", 1))
        timed("open counts (dashboard alerts)", lambda: feedback.open_counts(db, ids))
        explain = _explain_all(db, ids, desk.id)
        (ROOT / "bench" / "explain-exports.txt").write_text(explain, encoding="utf-8")
    body = "\n".join(
        [
            "## Exports and officer lists at province scale (bench/exports.py, issue 10)",
            "",
            f"Machine: {machine()}, shared with seven other sessions while measuring (load "
            f"average {os.getloadavg()[0]:.0f} on 2 cores at the end of the run).",
            f"Database: PostgreSQL, {total:,} responses loaded by `python -m bench.exports load`.",
            "",
            *lines,
            "",
            "Plans: bench/explain-exports.txt (EXPLAIN ANALYZE of each list's queries).",
        ]
    )
    update_section("Exports and officer lists at scale (bench/exports.py)", body)


def _captured(db: Any, call: Any) -> list[tuple[str, Any]]:
    """The SQL statements (and parameters) ``call`` runs."""
    from sqlalchemy import event

    seen: list[tuple[str, Any]] = []
    engine = db.get_bind()

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_a: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return seen


def _explain_all(db: Any, ids: set[int], desk_id: int) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement each list runs for its first page."""
    from survey_app.services import feedback

    pages = {
        "comments, all": lambda: feedback.comments_page(
            db, feedback.CommentFilter(unit_ids=ids), 1
        ),
        "comments, open": lambda: feedback.comments_page(
            db, feedback.CommentFilter(unit_ids=ids, status="open"), 1
        ),
        "comments, very dissatisfied": lambda: feedback.comments_page(
            db, feedback.CommentFilter(unit_ids=ids, very_dissatisfied=True), 1
        ),
        "comments of one desk": lambda: feedback.comments_page(
            db, feedback.CommentFilter(unit_ids=ids, desk_id=desk_id), 1
        ),
        "review queue, undecided": lambda: feedback.review_page(db, ids, None, "undecided", 1),
        "review queue, all": lambda: feedback.review_page(db, ids, None, "all", 1),
    }
    out: list[str] = []
    for name, call in pages.items():
        for statement, parameters in _captured(db, call):
            raw = db.connection().connection.driver_connection
            with raw.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            out.append(f"== {name}\n{statement}\n{plan}\n")
        db.rollback()
    return "\n".join(out)


def app_engine(db: object) -> object:
    return db.get_bind()  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("load")
    p.add_argument("--database", default="sipas_exports_bench")
    p.add_argument("--responses", type=int, default=1_000_000)
    r = sub.add_parser("run")
    r.add_argument("--database", default="sipas_exports_bench")
    r.add_argument("--runs", type=int, default=5)
    r.add_argument("--skip-csv", action="store_true")
    args = parser.parse_args()
    if args.command == "load":
        load(args.database, args.responses)
    else:
        run(args.database, args.runs, args.skip_csv)


if __name__ == "__main__":
    main()
