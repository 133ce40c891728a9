"""Raw responses as CSV in the wide format of SIPAS.md §7 (UTF-8 with BOM, for Excel),
anonymous, streamed in batches: the first bytes leave at once, memory stays flat.

No dossier number or digest, no device token or id, no IP address: the wide format's system
columns, the answers, demographics and the comment. A response an officer excluded has
``valid`` 0 and the flag ``excluded_by_review``, so re-scoring the file gives the app's scores.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from sqlalchemy import String, func, null, select
from sqlalchemy.orm import Session

import questionnaires
from questionnaires import Questionnaire

from ..models.tables import RESPONSES, VERSIONS
from ..services.response_csv import CsvStyle, header_row, label_row, submitted_text
from ..services.wide_export import (
    exported_flags,
    exported_flags_sql,
    exported_valid,
    exported_valid_sql,
    item_columns,
    responses_select,
    responses_where,
)
from .cells import neutralise, neutralised_sql

BOM = "\ufeff"
BATCH = 5000


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
    """The CSV in chunks of ``batch`` responses (the header first, with the BOM).

    Keyset paging on the response id: each batch is two indexed queries (its ids, then its
    rows with answers pivoted in SQL), so the cost per batch does not grow with the offset.
    On PostgreSQL the server writes each batch's CSV itself (``COPY (SELECT …) TO STDOUT``),
    which is several times faster than formatting rows in Python. ``style`` chooses codes
    or words and the time zone of the times (services/response_csv.py).
    """
    style = style or CsvStyle()
    where = responses_where(unit_ids=unit_ids, start=start, end=end)
    ids = [questionnaire_id] if questionnaire_id else questionnaires_in(session, where)
    if questionnaire_id:
        where.append(VERSIONS.c.questionnaire == questionnaire_id)
    items, profile = columns_for(ids)
    codes = items + profile
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")  # as PostgreSQL's COPY writes
    writer.writerow(header_row(codes, ids, style))
    yield (BOM + buffer.getvalue()).encode("utf-8")
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
        yield _python_csv(session, batch_query(first, last), codes, buffer, writer, style, ids)
        session.expunge_all()


def _copy_batches(
    session: Session,
    id_query: Any,
    batch: int,
    batch_query: Callable[[int, int], Any],
    codes: list[str],
    zone: str = "Asia/Ho_Chi_Minh",
) -> Iterator[bytes]:
    """PostgreSQL: each batch written as CSV by the server, two batches at a time.

    The batch boundaries come from one query of the ids in scope; two threads, each with its
    own connection, run the next batches' COPY while the previous one is sent, and the
    batches are yielded in order. Pivoting is CPU work in PostgreSQL, so a second backend
    doubles the throughput on a machine with a spare core.
    """
    ids = session.scalars(id_query).all()
    bounds = [(ids[k], ids[min(k + batch, len(ids)) - 1]) for k in range(0, len(ids), batch)]
    if not bounds:
        return
    connection = session.connection()
    engine = connection.engine
    statements = []
    for first, last in bounds:
        compiled = _copy_statement(batch_query(first, last), codes).compile(
            dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
        )
        statements.append((f"COPY ({compiled}) TO STDOUT (FORMAT csv)", compiled.params))

    def run(statement: tuple[str, dict[str, Any]]) -> bytes:
        raw = engine.raw_connection()
        try:
            # COPY takes no server-side parameters; psycopg merges them on the client.
            with raw.cursor() as cursor:  # type: ignore[attr-defined]
                # Times are written in the local zone with their offset (to_char's TZH:TZM).
                cursor.execute("SELECT set_config('TimeZone', %s, false)", [zone])
                with cursor.copy(*statement) as copy:  # type: ignore[attr-defined]
                    data = b"".join(bytes(block) for block in copy)
            raw.commit()
            return data
        finally:
            raw.close()

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="csv-export") as pool:
        pending = deque(pool.submit(run, s) for s in statements[:2])
        following = iter(statements[2:])
        while pending:
            data = pending.popleft().result()
            upcoming = next(following, None)
            if upcoming is not None:
                pending.append(pool.submit(run, upcoming))
            yield data


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
