"""Where the score summaries live: kept current as responses arrive and officers decide,
rebuilt from the responses, and read back as :class:`analysis.summaries.Summaries`.

analysis/ owns the mathematics (``build_summaries``, ``roll_up``, ``add``, ``remove``,
``score_summaries``); this module owns the tables of :mod:`survey_app.models.summaries`:

* :func:`after_store` — the after-store hook (``intake.AFTER_STORE``): the new response's sums
  added to its day cell and its month cell, in the response's own transaction;
* :func:`review_changed` — an officer's keep/exclude moves a response between status cells;
* :func:`rebuild` — ``sipas scores rebuild``: a new generation built beside the one in use and
  swapped in by one short transaction;
* :func:`read` — the cells of some units or desks over whole months and/or days, as
  ``Summaries`` in the official view (officers' exclusions applied) and the "kept" view.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from scipy import sparse
from sqlalchemy import Connection, Table, and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

import questionnaires
from analysis import summaries as sums
from questionnaires import Questionnaire

from ..models.summaries import SummaryCell, SummarySet
from ..models.tables import DESKS, RESPONSES, UNITS
from .wide_export import counts_in_default_view, integrity_state

SETS = cast(Table, SummarySet.__table__)
CELLS = cast(Table, SummaryCell.__table__)

#: The grain cells are built at (status columns are added by analysis/).
DAY_GRAIN = ("desk_id", "unit_id", "questionnaire_version_id", "channel", "decision", "day")
#: The month cells' grain: version and channel summed over.
MONTH_GRAIN = ("desk_id", "unit_id", "decision", "day")
#: Every key column of a stored cell, in the unique constraint's order.
CELL_KEYS = (
    "span",
    "day",
    "desk_id",
    "unit_id",
    "questionnaire_version_id",
    "channel",
    "rule_valid",
    "column_valid",
    "flags",
    "decision",
)
DEFAULT_ZONE = "Asia/Ho_Chi_Minh"


class SummariesUnavailable(Exception):
    """No ready summary set fits this questionnaire and zone: ``sipas scores rebuild``."""


# -- the basis and the layout ------------------------------------------------------------------


def _basis_json(basis: sums.SummaryBasis) -> dict[str, Any]:
    out = dataclasses.asdict(basis)
    out.pop("grain")
    out["satisfied_codes"] = list(basis.satisfied_codes)
    return out


def _basis_of(stored: dict[str, Any], grain: tuple[str, ...]) -> sums.SummaryBasis:
    return sums.SummaryBasis(
        **{**stored, "satisfied_codes": tuple(stored["satisfied_codes"]), "grain": grain}
    )


def current_questionnaire(questionnaire_id: str) -> Questionnaire:
    """Every version of a questionnaire id is scored with the current one (as the raw path)."""
    return questionnaires.get(questionnaire_id)


def _empty_build(q: Questionnaire, zone: str) -> sums.Summaries:
    frame = pd.DataFrame({"submitted_at": pd.Series([], dtype="datetime64[ns, UTC]")})
    for code in scored_items(q):
        frame[code] = pd.Series([], dtype=float)
    for name in DAY_GRAIN[:-1]:
        frame[name] = pd.Series([], dtype=object)
    frame["valid"] = pd.Series([], dtype=bool)
    frame["flags"] = pd.Series([], dtype=object)
    return sums.build_summaries(frame, q, by=DAY_GRAIN, timezone=zone)


_ONE: dict[str, sums.ResponseSums] = {}


def one_response(q: Questionnaire) -> sums.ResponseSums:
    """The one-response sums of ``q`` (built once per questionnaire version and process)."""
    found = _ONE.get(q.key)
    if found is None or found.plan.questionnaire is not q:
        found = _ONE[q.key] = sums.ResponseSums(q)
    return found


def scored_items(q: Questionnaire) -> list[str]:
    from .wide_export import item_columns

    return item_columns(q)[0]


@dataclass(frozen=True)
class Layout:
    """A ready (or filling) set: its id, basis and column order."""

    set_id: int
    questionnaire: str
    basis: dict[str, Any]
    columns: list[str]

    def basis_for(self, grain: tuple[str, ...]) -> sums.SummaryBasis:
        return _basis_of(self.basis, grain)


def _layout_row(row: Any) -> Layout:
    return Layout(row.id, row.questionnaire, dict(row.basis), list(row.columns))


def current_set(connection: Connection, questionnaire_id: str) -> Layout | None:
    """The newest ready set of ``questionnaire_id``, if any."""
    row = connection.execute(
        select(SETS.c.id, SETS.c.questionnaire, SETS.c.basis, SETS.c.columns)
        .where(SETS.c.questionnaire == questionnaire_id, SETS.c.ready.is_(True))
        .order_by(SETS.c.generation.desc())
        .limit(1)
    ).first()
    return None if row is None else _layout_row(row)


def _new_set(connection: Connection, q: Questionnaire, zone: str, *, ready: bool) -> Layout:
    """A new generation of ``q``'s summaries (empty)."""
    probe = _empty_build(q, zone)
    columns = one_response(q).columns
    generation = (
        connection.execute(
            select(func.max(SETS.c.generation)).where(SETS.c.questionnaire == q.id)
        ).scalar()
        or 0
    ) + 1
    basis = _basis_json(probe.basis)
    set_id = connection.execute(
        insert(SETS).returning(SETS.c.id),
        [
            {
                "questionnaire": q.id,
                "generation": generation,
                "ready": ready,
                "basis": basis,
                "columns": columns,
                "created_at": datetime.now().astimezone(),
            }
        ],
    ).scalar_one()
    return Layout(set_id, q.id, basis, columns)


# -- building cells from wide rows -------------------------------------------------------------


def build_cells(rows: pd.DataFrame, q: Questionnaire, zone: str) -> sums.Summaries:
    """Day-grain summaries of wide rows (``desk_id, unit_id, questionnaire_version_id,
    channel, decision, submitted_at, valid`` = stored verdict, ``flags``, the item columns)."""
    return sums.build_summaries(rows, q, by=DAY_GRAIN, timezone=zone)


def month_cells(day: sums.Summaries) -> sums.Summaries:
    """Day cells added up to desk × month (version and channel summed over)."""
    table = day.table.copy()
    table["day"] = table["day"].str.slice(0, 7) + "-01"
    rolled = sums.roll_up(sums.Summaries(table, day.basis), MONTH_GRAIN)
    return rolled


def _records(summaries: sums.Summaries, layout: Layout, span: str) -> list[dict[str, Any]]:
    table = summaries.table
    extra = set(table.columns) - set(summaries.key_columns) - set(layout.columns)
    if extra:
        raise SummariesUnavailable(
            f"the summaries of {layout.questionnaire} lack columns {sorted(extra)[:3]}…: "
            "run `sipas scores rebuild`"
        )
    values = table.reindex(columns=layout.columns, fill_value=0).to_numpy(np.float64)
    keys = table[list(summaries.key_columns)].to_dict(orient="records")
    out = []
    for k, record in enumerate(keys):
        out.append(
            {
                "span": span,
                "day": date.fromisoformat(str(record["day"])),
                "desk_id": int(record["desk_id"]),
                "unit_id": int(record["unit_id"]),
                "questionnaire_version_id": int(record.get("questionnaire_version_id", 0)),
                "channel": str(record.get("channel", "")),
                "rule_valid": bool(record["rule_valid"]),
                "column_valid": bool(record["column_valid"]),
                "flags": str(record["flags"] or ""),
                "decision": str(record["decision"] or ""),
                "responses": int(values[k, 0]),
                "sums": np.ascontiguousarray(values[k], dtype="<f8").tobytes(),
            }
        )
    return out


def _key_condition(record: dict[str, Any]) -> Any:
    return and_(*(CELLS.c[name] == record[name] for name in CELL_KEYS))


def _apply(
    connection: Connection, layout: Layout, records: Iterable[dict[str, Any]], sign: int
) -> None:
    """Add (``sign`` 1) or take away (-1) these cells' sums in the set, row by row, each
    under a row lock: concurrent submissions to one cell queue on it, never lose a sum."""
    for record in records:
        delta = np.frombuffer(record["sums"], dtype="<f8")
        if sign > 0:
            # RETURNING says whether this made the cell (rowcount is not reliable here).
            created = connection.execute(
                _insert_ignore(connection).returning(CELLS.c.id),
                {**record, "set_id": layout.set_id},
            ).first()
            if created is not None:
                continue
        where = and_(CELLS.c.set_id == layout.set_id, _key_condition(record))
        found = connection.execute(
            select(CELLS.c.id, CELLS.c.sums).where(where).with_for_update()
        ).first()
        if found is None:
            raise ValueError(f"no summary cell to take a response from: {record}")
        total = np.frombuffer(found.sums, dtype="<f8") + sign * delta
        responses = int(round(total[0]))
        if responses < 0:
            raise ValueError(f"a summary cell went below 0 responses: {record}")
        if responses == 0:
            connection.execute(delete(CELLS).where(CELLS.c.id == found.id))
        else:
            connection.execute(
                update(CELLS)
                .where(CELLS.c.id == found.id)
                .values(responses=responses, sums=total.astype("<f8").tobytes())
            )


def _insert_ignore(connection: Connection) -> Any:
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(CELLS).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(CELLS).on_conflict_do_nothing()


def _write(connection: Connection, layout: Layout, day: sums.Summaries, sign: int) -> None:
    """Apply day-grain summaries (and their month roll-up) to the set."""
    _apply(connection, layout, _records(day, layout, "day"), sign)
    _apply(connection, layout, _records(month_cells(day), layout, "month"), sign)


# -- the after-store hook ----------------------------------------------------------------------


def _set_for(connection: Connection, q: Questionnaire) -> Layout:
    layout = current_set(connection, q.id)
    if layout is None:
        # The first response to this questionnaire: nothing to rebuild, an empty set to fill.
        layout = _new_set(connection, q, DEFAULT_ZONE, ready=True)
    return layout


def after_store(connection: Connection, stored: Any) -> None:
    """intake's after-store hook: add the stored response to its day and month cells.

    The sums come from :class:`analysis.summaries.ResponseSums` (no DataFrame: a fraction of
    a millisecond), the same numbers :func:`build_cells` gives for the one row.
    """
    q = current_questionnaire(stored.version.questionnaire.id)
    layout = _set_for(connection, q)
    one = one_response(q)
    if one.columns != layout.columns:
        raise SummariesUnavailable(
            f"the summaries of {q.id} were built with another layout: run `sipas scores rebuild`"
        )
    rule_valid, values = one.vector(dict(stored.answers.codes))
    zone = ZoneInfo(str(layout.basis["timezone"]))
    day = stored.submitted_at.astimezone(zone).date()
    record = {
        "day": day,
        "desk_id": stored.desk_id,
        "unit_id": stored.unit_id,
        "rule_valid": bool(rule_valid),
        "column_valid": bool(stored.answers.valid),
        "flags": ";".join(sorted(set(stored.flags))),
        "decision": "",
        "responses": 1,
        "sums": values.astype("<f8").tobytes(),
    }
    _apply(
        connection,
        layout,
        [
            {
                **record,
                "span": "day",
                "questionnaire_version_id": stored.version.id,
                "channel": stored.channel,
            },
            {
                **record,
                "span": "month",
                "day": day.replace(day=1),
                "questionnaire_version_id": 0,
                "channel": "",
            },
        ],
        1,
    )


# -- review decisions --------------------------------------------------------------------------


def review_changed(
    session: Session, response_id: int, before: str | None, after: str | None
) -> None:
    """Refresh the cells of a response whose review decision changed from ``before`` to
    ``after`` (in the session's transaction, which the caller commits).

    The touched cells (the response's desk on its day, and that desk's month) are summed again
    from the responses rather than adjusted by difference, so they also take in anything else
    changed on those responses since they were stored (e.g. a flag added afterwards).
    """
    if (before or "") == (after or ""):
        return
    connection = session.connection()
    found = connection.execute(
        select(RESPONSES.c.desk_id, RESPONSES.c.submitted_at, _questionnaire_of_response())
        .select_from(_responses_versions())
        .where(RESPONSES.c.id == response_id)
    ).first()
    if found is None:
        return
    q = current_questionnaire(found[2])
    layout = current_set(connection, q.id)
    if layout is None:
        return
    refresh(connection, layout, q, int(found[0]), found[1])


def refresh(
    connection: Connection, layout: Layout, q: Questionnaire, desk_id: int, when: datetime
) -> None:
    """Sum again, from the responses, a desk's cells on the local day of ``when`` and in its
    month (the other cells of the set are left as they are)."""
    zone = ZoneInfo(str(layout.basis["timezone"]))
    day = when.astimezone(zone).date()
    month = day.replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    start = datetime.combine(month, datetime.min.time(), zone)
    end = datetime.combine(following, datetime.min.time(), zone)
    connection.execute(
        delete(CELLS).where(
            CELLS.c.set_id == layout.set_id,
            CELLS.c.desk_id == desk_id,
            or_(
                and_(CELLS.c.span == "day", CELLS.c.day == day),
                and_(CELLS.c.span == "month", CELLS.c.day == month),
            ),
        )
    )
    where = [
        RESPONSES.c.desk_id == desk_id,
        RESPONSES.c.submitted_at >= start,
        RESPONSES.c.submitted_at < end,
    ]
    parts = [
        build_cells(frame, q, str(layout.basis["timezone"]))
        for qid, frame in _rows(connection, where)
        if qid == q.id
    ]
    if not parts:
        return
    days = sums.roll_up(sums.add(*parts), DAY_GRAIN)
    on_day = days.table["day"] == day.isoformat()
    one_day = sums.Summaries(days.table[on_day].reset_index(drop=True), days.basis)
    for span, table in (("day", one_day), ("month", month_cells(days))):
        records = _records(table, layout, span)
        if records:
            connection.execute(insert(CELLS), [{**r, "set_id": layout.set_id} for r in records])


# -- rows from the responses -------------------------------------------------------------------


def _rows(
    connection: Connection, where: Sequence[Any], *, batch: int = 200_000
) -> Iterable[tuple[str, pd.DataFrame]]:
    """Wide rows (as :func:`build_cells` takes them) per questionnaire id, in id batches."""
    from .wide_export import stored_rows

    yield from stored_rows(connection, list(where), batch=batch, scored_items=scored_items)


# -- rebuild -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rebuilt:
    questionnaire: str
    set_id: int
    responses: int
    cells: int


def rebuild(
    engine: Any,
    *,
    zone: str = DEFAULT_ZONE,
    batch: int = 200_000,
    before_swap: Callable[[], None] | None = None,
) -> list[Rebuilt]:
    """Rebuild every questionnaire's summaries from the responses.

    A new generation is filled beside the one in use (committed in batches, not ready), then
    one short transaction adds what arrived meanwhile, marks it ready and drops the old one.
    Anything that stops it before that leaves the old summaries in use; the unfinished
    generation is removed by the next rebuild.
    """
    from .wide_export import decisions_of

    with engine.begin() as connection:
        connection.execute(delete(SETS).where(SETS.c.ready.is_(False)))
        ids = connection.execute(
            select(func.distinct(_questionnaire_of_response())).select_from(_responses_versions())
        ).scalars()
        wanted = sorted(set(ids))
        high = connection.execute(select(func.max(RESPONSES.c.id))).scalar() or 0
        reviews_then = decisions_of(connection)
    done: list[Rebuilt] = []
    for questionnaire_id in wanted:
        q = current_questionnaire(questionnaire_id)
        with engine.begin() as connection:
            layout = _new_set(connection, q, zone, ready=False)
        parts: list[sums.Summaries] = []
        count = 0
        with engine.connect() as connection:
            for _qid, frame in _rows_of(connection, questionnaire_id, high, batch):
                count += len(frame)
                parts.append(build_cells(frame, q, zone))
        day = sums.add(*parts) if parts else _empty_build(q, zone)
        if parts and len(parts) == 1:
            day = sums.roll_up(day, DAY_GRAIN)
        month = month_cells(day)
        with engine.begin() as connection:
            for span, table in (("day", day), ("month", month)):
                records = _records(table, layout, span)
                for start in range(0, len(records), 5000):
                    chunk = records[start : start + 5000]
                    connection.execute(
                        insert(CELLS), [{**r, "set_id": layout.set_id} for r in chunk]
                    )
        done.append(Rebuilt(q.id, layout.set_id, count, len(day.table) + len(month.table)))
        if before_swap is not None:
            before_swap()
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Submissions and decisions wait the few milliseconds of the swap.
                connection.exec_driver_sql(
                    "LOCK TABLE score_summary_cells IN SHARE ROW EXCLUSIVE MODE"
                )
            for _qid, frame in _rows_of(connection, questionnaire_id, None, batch, after=high):
                _write(connection, layout, build_cells(frame, q, zone), 1)
            reviews_now = decisions_of(connection)
            changed = [
                rid
                for rid in set(reviews_then) | set(reviews_now)
                if rid <= high and reviews_then.get(rid, "") != reviews_now.get(rid, "")
            ]
            for rid in changed:
                for qid, frame in _rows(connection, [RESPONSES.c.id == rid]):
                    if qid != questionnaire_id:
                        continue
                    old = build_cells(frame.assign(decision=reviews_then.get(rid, "")), q, zone)
                    new = build_cells(frame.assign(decision=reviews_now.get(rid, "")), q, zone)
                    _write(connection, layout, old, -1)
                    _write(connection, layout, new, 1)
            connection.execute(update(SETS).where(SETS.c.id == layout.set_id).values(ready=True))
            connection.execute(
                delete(SETS).where(
                    SETS.c.questionnaire == questionnaire_id, SETS.c.id != layout.set_id
                )
            )
    return done


def _questionnaire_of_response() -> Any:
    from ..models.tables import VERSIONS

    return VERSIONS.c.questionnaire


def _responses_versions() -> Any:
    from ..models.tables import VERSIONS

    return RESPONSES.join(VERSIONS, VERSIONS.c.id == RESPONSES.c.questionnaire_version_id)


def _rows_of(
    connection: Connection,
    questionnaire_id: str,
    high: int | None,
    batch: int,
    *,
    after: int | None = None,
) -> Iterable[tuple[str, pd.DataFrame]]:
    from ..models.tables import VERSIONS

    where: list[Any] = [VERSIONS.c.questionnaire == questionnaire_id]
    if high is not None:
        where.append(RESPONSES.c.id <= high)
    if after is not None:
        where.append(RESPONSES.c.id > after)
    yield from _rows(connection, where, batch=batch)


# -- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """Cells read back: the official view (exclusions applied) and the kept view."""

    official: sums.Summaries
    kept: sums.Summaries


#: The grain of what :func:`read` returns.
READ_GRAIN = ("unit_code", "desk_code", "day")


def read(
    session: Session,
    q: Questionnaire,
    *,
    zone: str,
    unit_ids: set[int] | None = None,
    desk_ids: set[int] | None = None,
    months: Sequence[date] = (),
    days: tuple[date, date] | None = None,
    score_flagged: str = "exclude",
) -> Read:
    """The cells of these units (or desks) over whole ``months`` (first days) and/or the days
    in ``days`` (inclusive), at the grain unit code × desk code × day (a month cell's day is
    the first of its month, which periods of whole months read correctly).

    The official view counts a cell's responses by ``wide_export.counts_in_default_view`` of
    its flags and review decision under ``score_flagged``, as the rows path does.

    Raises :class:`SummariesUnavailable` when no ready set fits ``q`` and ``zone``.
    """
    connection = session.connection()
    layout = current_set(connection, q.id)
    if layout is None:
        raise SummariesUnavailable(f"no summaries of {q.id}: run `sipas scores rebuild`")
    basis = layout.basis_for(READ_GRAIN)
    if basis.questionnaire != q.key or basis.timezone != zone:
        raise SummariesUnavailable(
            f"the summaries were built for {basis.questionnaire} in {basis.timezone}, "
            f"not {q.key} in {zone}: run `sipas scores rebuild`"
        )
    spans = []
    if months:
        spans.append(and_(CELLS.c.span == "month", CELLS.c.day.in_(sorted(set(months)))))
    if days is not None:
        spans.append(and_(CELLS.c.span == "day", CELLS.c.day.between(*days)))
    where: list[Any] = [CELLS.c.set_id == layout.set_id, or_(*spans) if spans else False]
    if unit_ids is not None:
        where.append(CELLS.c.unit_id.in_(sorted(unit_ids)))
    if desk_ids is not None:
        where.append(CELLS.c.desk_id.in_(sorted(desk_ids)))
    query = (
        select(
            UNITS.c.code.label("unit_code"),
            DESKS.c.code.label("desk_code"),
            CELLS.c.day,
            CELLS.c.rule_valid,
            CELLS.c.column_valid,
            CELLS.c.flags,
            CELLS.c.decision,
            CELLS.c.sums,
        )
        .select_from(
            CELLS.join(UNITS, UNITS.c.id == CELLS.c.unit_id).join(
                DESKS, DESKS.c.id == CELLS.c.desk_id
            )
        )
        .where(*where)
    )
    rows = connection.execute(query).all()
    return _to_read(rows, layout, basis, score_flagged)


def _to_read(
    rows: Sequence[Any], layout: Layout, basis: sums.SummaryBasis, score_flagged: str = "exclude"
) -> Read:
    """The rows as two summary tables sharing their number columns: cells that differ only in
    version or channel are added first (one sparse product), and the number columns are built
    as two blocks (int64 counts, float64 moments), not column by column."""
    columns = layout.columns
    keys = pd.DataFrame(
        {
            "unit_code": [r.unit_code for r in rows],
            "desk_code": [r.desk_code for r in rows],
            "day": [r.day.isoformat() for r in rows],
            "rule_valid": [bool(r.rule_valid) for r in rows],
            "column_valid": [bool(r.column_valid) for r in rows],
            "flags": [r.flags for r in rows],
            "decision": [r.decision for r in rows],
        },
        columns=[*READ_GRAIN, "rule_valid", "column_valid", "flags", "decision"],
    ).astype({name: object for name in (*READ_GRAIN, "flags", "decision")})
    if rows:
        values = np.frombuffer(b"".join(r.sums for r in rows), dtype="<f8").reshape(
            len(rows), len(columns)
        )
        gid = keys.groupby(list(keys.columns), sort=True).ngroup().to_numpy()
        groups = int(gid.max()) + 1
        incidence = sparse.csr_matrix(
            (np.ones(len(rows)), (gid, np.arange(len(rows)))), shape=(groups, len(rows))
        )
        values = np.asarray(incidence @ values)
        first = np.full(groups, -1)
        first[gid[::-1]] = np.arange(len(rows))[::-1]
        keys = keys.iloc[first].reset_index(drop=True)
    else:
        values = np.zeros((0, len(columns)))
    integral = [k for k, c in enumerate(columns) if not c.startswith(("yy", "ya", "ay", "aa", "w"))]
    fractional = [k for k in range(len(columns)) if k not in set(integral)]
    numbers = pd.concat(
        [
            pd.DataFrame(
                np.rint(values[:, integral]).astype(np.int64),
                columns=[columns[k] for k in integral],
            ),
            pd.DataFrame(values[:, fractional], columns=[columns[k] for k in fractional]),
        ],
        axis=1,
    )[columns]
    status = keys.drop(columns=["decision"])
    status["rule_valid"] = status["rule_valid"].astype(bool)
    status["column_valid"] = status["column_valid"].astype(bool)
    counted = np.array(
        [
            counts_in_default_view(
                integrity_state(
                    flags if isinstance(flags, str) else None,
                    decision if isinstance(decision, str) else None,
                ),
                score_flagged,
            )
            for flags, decision in zip(keys["flags"], keys["decision"], strict=True)
        ],
        dtype=bool,
    )
    official = status.copy()
    official["column_valid"] = official["column_valid"].to_numpy() & counted
    return Read(
        sums.Summaries(pd.concat([official, numbers], axis=1), basis),
        sums.Summaries(pd.concat([status, numbers], axis=1), basis),
    )
