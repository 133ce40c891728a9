"""Raw responses as CSV in the wide format of SIPAS.md §7 (UTF-8 with BOM, for Excel),
anonymous, in batches: memory stays flat at any size.

No dossier number or digest, no device token or id, no IP address: the wide format's system
columns, the answers, demographics and the comment. A response an officer excluded has
``valid`` 0 and the flag ``excluded_by_review``, so re-scoring the file gives the app's scores.
Text cells are neutralised against spreadsheet formulas (``cells.neutralise``).

A file built by an export job (``export_jobs``) ends with one more line, the end marker::

    #sipas-end rows=<the number of response rows above it>

so a file cut short (a failed job, an interrupted copy or download) is visibly incomplete: its
last line is not the marker, or the marker's count is not the rows read. ``check_file`` does
that check; ``analysis.read_responses`` does it too and drops the marker line.
"""

from __future__ import annotations

import csv
import io
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import String, func, null, select
from sqlalchemy.orm import Session

import questionnaires
from analysis.responses import END_MARKER, end_marker_rows
from questionnaires import Questionnaire

from ..models.tables import RESPONSES, VERSIONS
from .cells import neutralise, neutralised_sql
from .response_csv import CsvStyle, header_row, label_row, submitted_text
from .wide_export import (
    exported_flags,
    exported_flags_sql,
    exported_valid,
    exported_valid_sql,
    item_columns,
    responses_select,
    responses_where,
)

BOM = "\ufeff"
#: Responses per batch: one COPY (PostgreSQL) or one query (SQLite) each. The streamed
#: download uses small batches (the first bytes leave at once), a file built by a job larger
#: ones (fewer statements to plan).
BATCH = 5000
FILE_BATCH = 20000

__all__ = [
    "BATCH",
    "BOM",
    "END_MARKER",
    "IncompleteExport",
    "check_file",
    "chunks",
    "count_in_scope",
    "end_line",
    "stream_responses",
    "write_file",
]


class IncompleteExport(Exception):
    """A CSV export that does not end with its end marker, or whose count is not its rows."""


def end_line(rows: int) -> bytes:
    """The last line of an exported file: the marker and how many response rows precede it."""
    return f"{END_MARKER}{rows}\n".encode()


def columns_for(ids: Sequence[str]) -> tuple[list[str], list[str]]:
    """Item and demographic columns for the questionnaires in the file, in form order."""
    items: list[str] = []
    profile: list[str] = []
    for qid in ids:
        q: Questionnaire = questionnaires.get(qid)
        scored, demo = item_columns(q)
        items += [c for c in scored if c not in items]
        profile += [c for c in demo if c not in profile]
    return items, profile


def questionnaires_in(session: Session, where: list[Any]) -> list[str]:
    query = (
        select(VERSIONS.c.questionnaire)
        .select_from(
            RESPONSES.join(VERSIONS, VERSIONS.c.id == RESPONSES.c.questionnaire_version_id)
        )
        .where(*where)
        .distinct()
    )
    found = sorted(session.scalars(query))
    return [qid for qid in found if qid in questionnaires.available()]


def count_in_scope(
    session: Session,
    *,
    unit_ids: set[int] | None,
    start: datetime | None,
    end: datetime | None,
) -> tuple[int, int]:
    """(responses in scope, the highest id among them): an export stops at that id, so
    responses arriving while it runs do not change the count it promised."""
    where = responses_where(unit_ids=unit_ids, start=start, end=end)
    count, highest = session.execute(
        select(func.count(), func.coalesce(func.max(RESPONSES.c.id), 0))
        .select_from(RESPONSES)
        .where(*where)
    ).one()
    return int(count), int(highest)


def stream_responses(
    session: Session,
    *,
    unit_ids: set[int] | None,
    start: datetime | None,
    end: datetime | None,
    questionnaire_id: str | None = None,
    batch: int = BATCH,
    style: CsvStyle | None = None,
) -> Iterator[bytes]:
    """The CSV in chunks of ``batch`` responses (the header first, with the BOM), no marker.
    ``style`` chooses codes or words and the time zone of the times (services/response_csv.py).
    """
    for data, _rows in chunks(
        session,
        unit_ids=unit_ids,
        start=start,
        end=end,
        questionnaire_id=questionnaire_id,
        batch=batch,
        style=style,
    ):
        yield data


def chunks(
    session: Session,
    *,
    unit_ids: set[int] | None,
    start: datetime | None,
    end: datetime | None,
    questionnaire_id: str | None = None,
    batch: int = BATCH,
    upto_id: int | None = None,
    style: CsvStyle | None = None,
) -> Iterator[tuple[bytes, int]]:
    """(bytes, response rows in them): the header first (0 rows), then one chunk per batch.

    Keyset batches on the response id: the ids in scope are read once through a server-side
    cursor (PostgreSQL; never all in memory), each batch is one query of its id range with the
    answers pivoted in SQL, so the cost per batch does not grow with the offset. On PostgreSQL
    the server writes each batch's CSV itself (``COPY (SELECT …) TO STDOUT``), two batches at
    a time on two connections (codes only; words are written in Python). ``upto_id`` leaves
    out responses stored after the count.
    """
    style = style or CsvStyle()
    where = responses_where(unit_ids=unit_ids, start=start, end=end)
    if upto_id is not None:
        where.append(RESPONSES.c.id <= upto_id)
    ids = [questionnaire_id] if questionnaire_id else questionnaires_in(session, where)
    if questionnaire_id:
        where.append(VERSIONS.c.questionnaire == questionnaire_id)
    items, profile = columns_for(ids)
    codes = items + profile
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")  # as PostgreSQL's COPY writes
    writer.writerow(header_row(codes, ids, style))
    yield (BOM + buffer.getvalue()).encode("utf-8"), 0
    id_query = (
        select(RESPONSES.c.id)
        .select_from(
            RESPONSES.join(VERSIONS, VERSIONS.c.id == RESPONSES.c.questionnaire_version_id)
        )
        .where(*where)
        .order_by(RESPONSES.c.id)
    )

    def batch_query(first: int, last: int) -> Any:
        return responses_select(
            codes,
            unit_ids=unit_ids,
            start=start,
            end=end,
            questionnaire_id=questionnaire_id,
            with_comment=True,
            id_range=(first, last),
        )

    if session.get_bind().dialect.name == "postgresql" and not style.labels:
        yield from _copy_batches(session, id_query, batch, batch_query, codes, style.zone)
        return
    last = 0
    while True:
        batch_ids = session.scalars(id_query.where(RESPONSES.c.id > last).limit(batch)).all()
        if not batch_ids:
            break
        first, last = batch_ids[0], batch_ids[-1]
        data = _python_csv(session, batch_query(first, last), codes, buffer, writer, style, ids)
        yield data, len(batch_ids)
        session.expunge_all()


def _id_batches(session: Session, id_query: Any, batch: int) -> Iterator[tuple[int, int, int]]:
    """(first id, last id, how many) of each batch, read through a server-side cursor on a
    connection of its own (so the COPY connections and the caller's session are free)."""
    engine = session.get_bind()
    with engine.connect() as connection:  # type: ignore[union-attr]
        result = connection.execution_options(stream_results=True, yield_per=batch).execute(
            id_query
        )
        for part in result.scalars().partitions(batch):
            if part:
                yield part[0], part[-1], len(part)


def _copy_batches(
    session: Session,
    id_query: Any,
    batch: int,
    batch_query: Callable[[int, int], Any],
    codes: list[str],
    zone: str = "Asia/Ho_Chi_Minh",
) -> Iterator[tuple[bytes, int]]:
    """PostgreSQL: each batch written as CSV by the server, two batches at a time.

    Two threads, each with its own connection, run the next batches' COPY while the previous
    one is sent, and the batches are yielded in order. Pivoting is CPU work in PostgreSQL, so
    a second backend doubles the throughput on a machine with a spare core.
    """
    connection = session.connection()
    engine = connection.engine
    dialect = connection.dialect

    def statement(first: int, last: int) -> tuple[str, dict[str, Any]]:
        compiled = _copy_statement(batch_query(first, last), codes).compile(
            dialect=dialect, compile_kwargs={"render_postcompile": True}
        )
        return f"COPY ({compiled}) TO STDOUT (FORMAT csv)", compiled.params

    def run(copy_statement: tuple[str, dict[str, Any]]) -> bytes:
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cursor:  # type: ignore[attr-defined]
                # Each batch is small and the two batches already use both cores: no JIT
                # compilation (it cost more than the query) and no parallel workers.
                cursor.execute("SET LOCAL jit = off")
                cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                # Times are written in the local zone with their offset (to_char's TZH:TZM).
                cursor.execute("SELECT set_config('TimeZone', %s, true)", [zone])
                # COPY takes no server-side parameters; psycopg merges them on the client.
                with cursor.copy(*copy_statement) as copy:
                    data = b"".join(bytes(block) for block in copy)
            raw.commit()
            return data
        finally:
            raw.close()

    bounds = _id_batches(session, id_query, batch)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="csv-export") as pool:
        pending: deque[tuple[Any, int]] = deque()
        for first, last, count in bounds:
            pending.append((pool.submit(run, statement(first, last)), count))
            if len(pending) > 2:
                future, rows = pending.popleft()
                yield future.result(), rows
        while pending:
            future, rows = pending.popleft()
            yield future.result(), rows


def _python_csv(
    session: Session,
    query: Any,
    codes: list[str],
    buffer: io.StringIO,
    writer: Any,
    style: CsvStyle | None = None,
    ids: Sequence[str] = (),
) -> bytes:
    style = style or CsvStyle()
    buffer.seek(0)
    buffer.truncate()
    for row in session.execute(query):
        mapping = row._mapping
        writer.writerow(
            label_row(
                [
                    row.response_id,
                    submitted_text(row.submitted_at, style),
                    _text(row.unit_code),
                    _text(row.desk_code),
                    _text(row.service_code),
                    _text(row.channel),
                    _text(row.questionnaire),
                    row.questionnaire_version,
                    1 if exported_valid(row.stored_valid, row.decision) else 0,
                    _text(exported_flags(row.flags, row.decision)),
                    "",
                    *[_text(mapping[c]) for c in codes],
                    _text(row.comment),
                ],
                codes,
                ids,
                style,
            )
        )
    return buffer.getvalue().encode("utf-8")


def _text(value: Any) -> Any:
    """A cell of the CSV: empty for None, text neutralised (``cells.neutralise``)."""
    if value is None:
        return ""
    return neutralise(value) if isinstance(value, str) else value


def _text_sql(column: Any) -> Any:
    return neutralised_sql(column) if isinstance(column.type, String) else column


def _copy_statement(query: Any, codes: list[str]) -> Any:
    """The batch as PostgreSQL will write it (same columns and values as ``_python_csv``)."""
    wide = query.subquery("batch")
    return select(
        wide.c.response_id,
        func.to_char(wide.c.submitted_at, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'),
        _text_sql(wide.c.unit_code),
        _text_sql(wide.c.desk_code),
        _text_sql(wide.c.service_code),
        _text_sql(wide.c.channel),
        _text_sql(wide.c.questionnaire),
        wide.c.questionnaire_version,
        exported_valid_sql(wide.c.stored_valid, wide.c.decision),
        neutralised_sql(exported_flags_sql(wide.c.flags, wide.c.decision)),
        null(),
        *[_text_sql(wide.c[code]) for code in codes],
        _text_sql(wide.c.comment),
    ).order_by(wide.c.response_id)


def write_file(
    session: Session,
    path: Path,
    *,
    unit_ids: set[int] | None,
    start: datetime | None,
    end: datetime | None,
    upto_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch: int = FILE_BATCH,
) -> tuple[int, int]:
    """Write the CSV and its end marker to ``path``; return (rows, bytes).

    ``progress(rows, bytes)`` is called after each batch (the job's heartbeat). The file is
    flushed to disk before this returns, so a "done" job never points at a file still in the
    page cache only.
    """
    rows = size = 0
    with path.open("wb") as out:
        for data, count in chunks(
            session, unit_ids=unit_ids, start=start, end=end, upto_id=upto_id, batch=batch
        ):
            out.write(data)
            rows += count
            size += len(data)
            if progress is not None and count:
                progress(rows, size)
        marker = end_line(rows)
        out.write(marker)
        size += len(marker)
        out.flush()
        os.fsync(out.fileno())
    return rows, size


def check_file(path: Path) -> int:
    """The number of response rows of an exported file, after checking it is complete.

    Raises
    ------
    IncompleteExport
        The last line is not the end marker (the file was cut short), or the marker's count is
        not the number of rows read (rows lost or added).
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise IncompleteExport(f"{path.name}: the file is empty")
        rows = 0
        last: list[str] | None = None
        for record in reader:
            if last is not None:
                rows += 1
            last = record
    promised = end_marker_rows(last[0] if last and len(last) == 1 else "")
    if promised is None:
        raise IncompleteExport(
            f"{path.name}: the last line is not the end marker “{END_MARKER}N”: "
            "the file is incomplete"
        )
    if promised != rows:
        raise IncompleteExport(
            f"{path.name}: the end marker counts {promised} rows but the file has {rows}"
        )
    return rows
