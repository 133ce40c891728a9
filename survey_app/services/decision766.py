"""Decision 766 group 5 of a unit and its communes for a period (a reference calculation,
analysis/decision766.py), with its own targets (code ``D766``, in points out of 18) and ranks,
and each desk's survey response rate against its dossiers (transactions).

The counts are made by the database (one GROUP BY over the period's dossiers and one over its
petitions: a month of a million dossiers stays fast) and scored by analysis/."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from analysis import decision766 as d766

from ..models import Desk, OnestopDossier, OnestopPetition, Response, Target, Unit
from .accounts import UnitTree
from .periods import Period

#: The target code of group 5 in the index plan (a value in points, 0–18).
TARGET_CODE = "D766"
#: Unit kinds ranked as communes: today's commune level (SIPAS.md §8) and the old communes.
COMMUNE_KINDS = ("commune", "ward", "special_zone")


def settings_from(config: Mapping[str, Any]) -> d766.Group5Settings:
    return d766.Group5Settings(
        full_rate=float(config["D766_FULL_RATE"]),
        points=float(config["D766_POINTS"]),
        empty_earns_full=bool(config["D766_EMPTY_EARNS_FULL"]),
    )


@dataclass(frozen=True)
class DeskRate:
    """A desk's transactions (dossiers returned in the period) and survey responses."""

    desk_code: str
    desk_name: str
    unit_code: str
    dossiers: int
    responses: int

    @property
    def rate(self) -> float | None:
        """Responses per 100 dossiers (None without dossiers)."""
        return 100 * self.responses / self.dossiers if self.dossiers else None


@dataclass(frozen=True)
class Board:
    """Group 5 for ``unit`` (pooled) and each commune under it, ranked, with targets."""

    unit: Unit
    period: Period
    table: pd.DataFrame = field(repr=False)
    desks: list[DeskRate]
    settings: d766.Group5Settings
    label: str = d766.LABEL

    @property
    def has_data(self) -> bool:
        """Whether any dossier or petition of the unit counts in the period."""
        first = self.table.iloc[0]
        return bool(first["dossiers"] or first["petitions"])

    def rows(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for record in self.table.to_dict(orient="records"):
            out.append({str(k): (None if _missing(v) else v) for k, v in record.items()})
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "unit_code": self.unit.code,
            "period": self.period.label,
            "reference_calculation": True,
            "label": self.label,
            "settings": {
                "full_rate": self.settings.full_rate,
                "points": self.settings.points,
                "empty_earns_full": self.settings.empty_earns_full,
            },
            "rows": [
                {
                    k: (round(v, 4) if isinstance(v, float) else v)
                    for k, v in row.items()
                    if k != "unit_id"
                }
                for row in self.rows()
            ],
            "desks": [
                {
                    "desk_code": d.desk_code,
                    "unit_code": d.unit_code,
                    "dossiers": d.dossiers,
                    "responses": d.responses,
                    "response_rate": None if d.rate is None else round(d.rate, 4),
                }
                for d in self.desks
            ],
        }


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def counts_by_unit(
    session: Session, start: datetime, end: datetime, as_of: datetime, unit_ids: set[int]
) -> tuple[pd.DataFrame, dict[int, int]]:
    """The tally of analysis.decision766 per ``unit_id`` (the unit that received each dossier
    or petition), counted by the database with the same rules as ``tally``; and the dossiers
    returned in the period per desk id (from the same pass over the month's dossiers)."""
    D, P = OnestopDossier, OnestopPetition
    overdue = or_(
        D.overdue_reported.is_(True),
        D.returned_at > D.due_at,
        and_(D.returned_at.is_(None), D.due_at < as_of),
    )
    flagged = or_(D.rating == "not_satisfied", D.has_petition.is_(True))
    # A returned dossier's settled_at is its returned_at: "returned in the period" is
    # "settled in the period and returned".
    dossier_rows = session.execute(
        select(
            D.unit_id,
            D.desk_id,
            func.count(),
            func.sum(case((overdue, 1), else_=0)),
            func.sum(case((flagged, 1), else_=0)),
            func.sum(case((D.returned_at.is_not(None), 1), else_=0)),
        )
        .where(D.settled_at >= start, D.settled_at < end, D.unit_id.in_(sorted(unit_ids)))
        .group_by(D.unit_id, D.desk_id)
    ).all()
    on_time = and_(P.handled_at.is_not(None), or_(P.due_at.is_(None), P.handled_at <= P.due_at))
    failing = or_(
        P.not_satisfied_votes > P.satisfied_votes,
        P.repeated.is_(True),
        P.handled_at > P.due_at,
        and_(P.handled_at.is_(None), P.due_at < as_of),
    )
    petition_rows = session.execute(
        select(
            P.unit_id,
            func.count(),
            func.sum(case((on_time, 1), else_=0)),
            func.sum(case((failing, 1), else_=0)),
        )
        .where(P.settled_at >= start, P.settled_at < end, P.unit_id.in_(sorted(unit_ids)))
        .group_by(P.unit_id)
    ).all()
    by_desk = pd.DataFrame(
        dossier_rows, columns=["unit_id", "desk_id", *d766.COUNT_COLUMNS[:3], "returned"]
    )
    returned = by_desk.groupby("desk_id")["returned"].sum()
    d = by_desk.groupby("unit_id", as_index=False)[list(d766.COUNT_COLUMNS[:3])].sum()
    p = pd.DataFrame(petition_rows, columns=["unit_id", *d766.COUNT_COLUMNS[3:]])
    merged = d.merge(p, on="unit_id", how="outer").fillna(0)
    counts = merged.astype({c: "int64" for c in ("unit_id", *d766.COUNT_COLUMNS)})
    per_desk = {
        int(desk): int(n) for desk, n in zip(returned.index, returned.to_numpy(), strict=True)
    }
    return counts, per_desk


def _desk_rates(
    session: Session,
    tree: UnitTree,
    unit_ids: set[int],
    start: datetime,
    end: datetime,
    dossiers: dict[int, int],
) -> list[DeskRate]:
    desks = session.execute(
        select(Desk.id, Desk.code, Desk.name, Desk.unit_id).where(
            Desk.unit_id.in_(sorted(unit_ids))
        )
    ).all()
    ids = [d.id for d in desks]
    responses: dict[int, int] = dict(
        session.execute(
            select(Response.desk_id, func.count())
            .where(
                Response.desk_id.in_(ids),
                Response.submitted_at >= start,
                Response.submitted_at < end,
            )
            .group_by(Response.desk_id)
        ).all()
    )
    out = [
        DeskRate(
            d.code,
            d.name,
            tree.units[d.unit_id].code if d.unit_id in tree.units else "",
            int(dossiers.get(d.id, 0)),
            int(responses.get(d.id, 0)),
        )
        for d in desks
    ]
    return sorted(
        (r for r in out if r.dossiers or r.responses), key=lambda r: (r.unit_code, r.desk_code)
    )


def _targets(session: Session, unit_ids: set[int], period: Period) -> dict[int, float]:
    """The D766 target of each unit: this period's, else the unit's every-period one."""
    rows = session.execute(
        select(Target.unit_id, Target.period, Target.value).where(
            Target.code == TARGET_CODE,
            Target.unit_id.in_(sorted(unit_ids)),
            Target.period.in_([period.label, ""]),
        )
    ).all()
    chosen: dict[int, float] = {}
    for unit_id, _label, value in sorted(rows, key=lambda r: r.period == period.label):
        chosen[unit_id] = value
    return chosen


def board(
    session: Session,
    tree: UnitTree,
    unit: Unit,
    period: Period,
    *,
    time_zone: str,
    settings: d766.Group5Settings,
    now: datetime | None = None,
) -> Board:
    """Group 5 of ``unit`` (everything under it pooled) and of each commune under it (ranked
    among themselves), for ``period``; dossiers count in the month they were returned (or
    fell due), petitions in the month they were handled (or fell due)."""
    start, end = period.utc_bounds(time_zone)
    as_of = min(end, now or datetime.now(UTC))
    subtree = tree.subtree_ids(unit.id)
    counts, returned = counts_by_unit(session, start, end, as_of, subtree)
    counts = counts.set_index("unit_id")
    communes = [
        u for uid in subtree if (u := tree.units[uid]).kind in COMMUNE_KINDS and u.id != unit.id
    ]
    chosen = [unit, *sorted(communes, key=lambda u: u.name)]
    columns = list(d766.COUNT_COLUMNS)
    rows = []
    for u in chosen:
        ids = sorted(tree.subtree_ids(u.id) & set(counts.index))
        totals = counts.loc[ids, columns].sum() if ids else pd.Series(0, index=columns)
        rows.append({"unit_id": u.id, "unit_code": u.code, "unit_name": u.name, **totals})
    tally = pd.DataFrame(rows, columns=["unit_id", "unit_code", "unit_name", *columns])
    tally = tally.astype({c: "int64" for c in columns})
    scored = d766.score_tally(tally, settings).to_frame()
    scored["level"] = ["unit", *(["commune"] * (len(scored) - 1))]
    ranked = scored["level"] == "commune"
    scored["rank"] = pd.array([pd.NA] * len(scored), dtype="Int64")
    if ranked.any():
        scored.loc[ranked, "rank"] = (
            scored.loc[ranked, "points"].rank(method="min", ascending=False).astype("int64")
        )
    targets = _targets(session, {u.id for u in chosen}, period)
    scored["target"] = [targets.get(uid) for uid in scored["unit_id"]]
    scored["gap"] = scored["points"] - pd.to_numeric(scored["target"], errors="coerce")
    return Board(
        unit,
        period,
        scored,
        _desk_rates(session, tree, subtree, start, end, returned),
        settings,
    )
