"""Sample plans of the province's own survey: required n per stratum, allocation, the seeded draw
from an uploaded frame, and the stored plan whose drawn units carry the design weights.

The numbers come from ``analysis`` (:func:`analysis.stratum_sample_sizes`,
:func:`analysis.allocate`, :func:`analysis.draw_sample`); this module reads the frame, checks it
row by row (messages name the spreadsheet row and the rule), links strata to the app's units and
stores the plan. Nothing here commits: the caller does, once the whole plan is added.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

import questionnaires
from analysis import DataError, allocate, draw_sample, stratum_sample_sizes

from ..models import (
    SERVICE_POINT_KINDS,
    Desk,
    Officer,
    SamplePlan,
    SampleStratum,
    SampleUnit,
    Unit,
)
from ..models.household_survey import ALLOCATIONS, FRAME_KINDS

#: Questionnaires a paper survey may use.
PAPER_QUESTIONNAIRES = ("sipas-2023", "sipas-service")
RULES = ("ministry", "margin")
#: The largest frame read (a province's households run to a few hundred thousand).
MAX_FRAME_ROWS = 500_000
#: The first data row of a spreadsheet (row 1 holds the column names).
FIRST_ROW = 2


class PlanError(ValueError):
    """The frame or the request breaks a rule; the message names the row and the rule."""

    def __init__(self, message: str, *, row: int | None = None, rule: str = "") -> None:
        super().__init__(message)
        self.row, self.rule = row, rule


@dataclass(frozen=True)
class PlanRequest:
    """What an officer asks for. ``sizes`` (stratum → n) replaces the computed allocation."""

    name: str
    questionnaire: str = "sipas-2023"
    frame_kind: str = "households"
    stratum_column: str = "stratum"
    unit_column: str = "unit"
    cluster_column: str | None = None
    rule: str = "ministry"
    margin: float = 0.05
    allocation: str = "required"
    total: int | None = None
    minimum: int = 0
    seed: int = 1
    per_cluster: int = 10
    sizes: Mapping[str, int] | None = None


@dataclass(frozen=True)
class PlanPreview:
    """A plan computed but not stored: per stratum sizes and margins, and the drawn units."""

    request: PlanRequest
    strata: pd.DataFrame = field(repr=False)
    drawn: pd.DataFrame = field(repr=False)
    total: int
    province_margin: float | None
    frame_rows: int
    frame_sha256: str

    def shortfalls(self) -> list[tuple[str, int, int]]:
        """(stratum, drawn, planned) where the drawn villages hold fewer units than planned."""
        short = self.strata[self.strata["n_drawn"] < self.strata["n_planned"]]
        return [
            (str(s), int(d), int(p))
            for s, d, p in zip(short["stratum"], short["n_drawn"], short["n_planned"], strict=True)
        ]


def read_frame(data: bytes, filename: str) -> pd.DataFrame:
    """A CSV (UTF-8, with or without BOM) or XLSX frame as text cells, indexed by the row number
    a person sees in the spreadsheet (the first data row is 2)."""
    name = filename.lower()
    try:
        if name.endswith(".xlsx"):
            frame = pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl")
        elif name.endswith(".csv"):
            text = data.decode("utf-8-sig")
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
            frame = pd.read_csv(io.StringIO(text), dtype=str, sep=dialect.delimiter)
        else:
            raise PlanError("Tệp khung mẫu phải là .csv hoặc .xlsx.", rule="file_type")
    except PlanError:
        raise
    except (ValueError, UnicodeDecodeError, csv.Error, OSError, KeyError) as error:
        raise PlanError(f"Không đọc được tệp {filename}: {error}", rule="unreadable") from error
    if len(frame) > MAX_FRAME_ROWS:
        raise PlanError(
            f"Khung mẫu có {len(frame)} dòng, nhiều hơn giới hạn {MAX_FRAME_ROWS}.",
            rule="too_many_rows",
        )
    frame.columns = [str(c).strip() for c in frame.columns]
    stripped: pd.DataFrame = frame.apply(lambda column: column.str.strip())
    stripped.index = pd.RangeIndex(FIRST_ROW, FIRST_ROW + len(stripped))
    return stripped


def _check_request(request: PlanRequest, frame: pd.DataFrame) -> None:
    if request.questionnaire not in PAPER_QUESTIONNAIRES:
        raise PlanError(
            f"Phiếu “{request.questionnaire}” không dùng cho khảo sát giấy "
            f"(chọn {', '.join(PAPER_QUESTIONNAIRES)}).",
            rule="questionnaire",
        )
    if request.frame_kind not in FRAME_KINDS:
        raise PlanError(f"Loại khung mẫu “{request.frame_kind}” không hợp lệ.", rule="frame_kind")
    if request.rule not in RULES:
        raise PlanError(f"Cách tính cỡ mẫu “{request.rule}” không hợp lệ.", rule="rule")
    if request.allocation not in ALLOCATIONS:
        raise PlanError(f"Cách phân bổ “{request.allocation}” không hợp lệ.", rule="allocation")
    if not 0 < request.margin < 1:
        raise PlanError("Sai số e phải nằm giữa 0 và 1 (ví dụ 0,05).", rule="margin")
    if request.seed < 0 or request.seed >= 2**31:
        raise PlanError("Hạt giống ngẫu nhiên phải là số nguyên từ 0 đến 2³¹ − 1.", rule="seed")
    if request.per_cluster < 1 or request.minimum < 0:
        raise PlanError("Số hộ mỗi thôn ≥ 1 và cỡ mẫu tối thiểu ≥ 0.", rule="bounds")
    if not request.name.strip():
        raise PlanError("Kế hoạch cần có tên.", rule="name")
    wanted = [request.stratum_column, request.unit_column]
    if request.cluster_column:
        wanted.append(request.cluster_column)
    for column in wanted:
        if column not in frame.columns:
            raise PlanError(
                f"Khung mẫu thiếu cột “{column}” (có các cột: {', '.join(frame.columns)}).",
                rule="missing_column",
            )
        empty = frame[column].isna() | (frame[column] == "")
        if empty.any():
            row = int(frame.index[int(np.flatnonzero(empty.to_numpy())[0])])
            raise PlanError(
                f"Dòng {row}, cột “{column}”: ô trống — mỗi dòng phải có đủ mã.",
                row=row,
                rule="empty_cell",
            )
    ids = frame[request.unit_column]
    twice = ids.duplicated()
    if twice.any():
        row = int(frame.index[int(np.flatnonzero(twice.to_numpy())[0])])
        value = ids.loc[row]
        first = int(frame.index[int(np.flatnonzero((ids == value).to_numpy())[0])])
        raise PlanError(
            f"Dòng {row}, cột “{request.unit_column}”: mã “{value}” đã có ở dòng {first} — "
            "mỗi hộ hoặc hồ sơ chỉ được liệt kê một lần trong khung mẫu.",
            row=row,
            rule="duplicate_id",
        )


def _units_by_code(session: Session, codes: set[str]) -> dict[str, Unit]:
    found = session.scalars(select(Unit).where(Unit.code.in_(sorted(codes)))).all()
    return {unit.code: unit for unit in found}


def stratum_desk(session: Session, unit_id: int) -> Desk | None:
    """The active desk a stratum's paper forms are stored at: the unit's own, else one at its
    service points (since 2025 a commune's desks sit at its branch and reception points)."""
    level = [unit_id]
    for _ in range(3):  # the unit, its branches, their reception points
        found = session.scalar(
            select(Desk)
            .where(Desk.unit_id.in_(level), Desk.active.is_(True))
            .order_by(Desk.code)
            .limit(1)
        )
        if found is not None:
            return found
        level = list(
            session.scalars(
                select(Unit.id).where(
                    Unit.parent_id.in_(level),
                    Unit.kind.in_(SERVICE_POINT_KINDS),
                    Unit.active.is_(True),
                )
            )
        )
        if not level:
            return None
    return None


def preview(session: Session, frame: pd.DataFrame, request: PlanRequest) -> PlanPreview:
    """Compute the plan (sizes, allocation, the seeded draw) without storing anything.

    Raises :class:`PlanError` naming the row and the rule: a missing column or an empty cell,
    an id listed twice, a stratum that is not a unit of the app (or has no active desk to
    store its forms at), a stratum with fewer units than its sample.
    """
    _check_request(request, frame)
    frame = frame.copy()
    frame[request.stratum_column] = frame[request.stratum_column].str.upper()
    strata_col = frame[request.stratum_column]
    units = _units_by_code(session, set(strata_col))
    for row, code in strata_col.items():
        if code not in units:
            raise PlanError(
                f"Dòng {row}, cột “{request.stratum_column}”: “{code}” không phải mã đơn vị "
                "nào trong hệ thống — mỗi tầng (xã, phòng ban) phải là một đơn vị đã khai báo.",
                row=int(str(row)),
                rule="unknown_unit",
            )
    for code, unit in units.items():
        if stratum_desk(session, unit.id) is None:
            raise PlanError(
                f"Đơn vị “{code}” chưa có quầy đang hoạt động: phiếu giấy được lưu tại một quầy "
                "của đơn vị, hãy tạo quầy trước.",
                rule="no_desk",
            )
    counts = strata_col.value_counts().sort_index()
    population = counts.to_numpy()
    required = stratum_sample_sizes(population, rule=request.rule, margin=request.margin)  # type: ignore[arg-type]
    table = pd.DataFrame(
        {"stratum": counts.index.to_list(), "population": population, "n_required": required}
    )
    if request.cluster_column:
        table["clusters"] = (
            frame.groupby(request.stratum_column)[request.cluster_column]
            .nunique()
            .reindex(table["stratum"])
            .to_numpy()
        )
    else:
        table["clusters"] = table["population"]
    province_margin: float | None = None
    margins: Any = np.full(len(table), np.nan)
    if request.sizes is not None:
        sizes = {str(k).strip().upper(): int(v) for k, v in request.sizes.items()}
        for code in sizes:
            if code not in set(table["stratum"]):
                raise PlanError(
                    f"Tầng “{code}” trong bảng cỡ mẫu không có trong khung mẫu.",
                    rule="unknown_stratum",
                )
        planned = table["stratum"].map(lambda s: sizes.get(s, 0)).to_numpy()
    elif request.allocation == "required":
        planned = required
    else:
        total = request.total if request.total is not None else int(required.sum())
        try:
            result = allocate(
                table[["stratum", "population"]],
                total,
                method=request.allocation,  # type: ignore[arg-type]
                minimum=request.minimum,
            )
        except (DataError, ValueError) as error:
            raise PlanError(f"Không phân bổ được mẫu: {error}", rule="allocation") from error
        planned = result.to_frame()["n"].to_numpy()
        margins = result.to_frame()["margin"].to_numpy()
        province_margin = result.province_margin
    table["n_planned"] = planned.astype(np.int64)
    table["margin"] = margins
    for code, n_h, n_pop in zip(
        table["stratum"], table["n_planned"], table["population"], strict=True
    ):
        if n_h > n_pop:
            first = int(frame.index[int(np.flatnonzero((strata_col == code).to_numpy())[0])])
            raise PlanError(
                f"Tầng “{code}” (từ dòng {first}) chỉ có {n_pop} đơn vị trong khung mẫu nhưng cỡ "
                f"mẫu là {n_h}: một tầng không thể cho nhiều đơn vị hơn số nó có.",
                row=first,
                rule="stratum_too_small",
            )
    try:
        drawn = draw_sample(
            frame,
            dict(zip(table["stratum"], table["n_planned"].astype(int), strict=True)),
            seed=request.seed,
            stratum=request.stratum_column,
            unit=request.unit_column,
            cluster=request.cluster_column or None,
            per_cluster=request.per_cluster,
        )
    except DataError as error:
        raise PlanError(f"Không rút được mẫu: {error}", rule="draw") from error
    summary = drawn.strata.set_index("stratum")
    table["n_drawn"] = table["stratum"].map(summary["n_drawn"]).fillna(0).astype(np.int64)
    table["clusters_drawn"] = (
        table["stratum"].map(summary["clusters_drawn"]).fillna(0).astype(np.int64)
    )
    rows = drawn.to_frame()
    out = pd.DataFrame(
        {
            "form_number": np.arange(1, len(rows) + 1),
            "frame_id": rows[request.unit_column].astype(str).to_numpy(),
            "stratum": rows[request.stratum_column].astype(str).to_numpy(),
            "cluster": (
                rows[request.cluster_column].astype(str).to_numpy()
                if request.cluster_column
                else [None] * len(rows)
            ),
            "weight": rows["design_weight"].astype(float).to_numpy(),
            "fpc": rows["design_fpc"].astype(float).to_numpy(),
        }
    )
    digest = hashlib.sha256(
        frame.to_csv(index=False).encode("utf-8")  # the frame as read, whatever the file type
    ).hexdigest()
    return PlanPreview(
        request=request,
        strata=table,
        drawn=out,
        total=int(table["n_planned"].sum()),
        province_margin=province_margin,
        frame_rows=len(frame),
        frame_sha256=digest,
    )


def store(session: Session, plan: PlanPreview, officer: Officer | None = None) -> SamplePlan:
    """Add the plan, its strata and its drawn units to the session (the caller commits)."""
    request = plan.request
    units = _units_by_code(session, set(plan.strata["stratum"]))
    row = SamplePlan(
        name=request.name.strip()[:120],
        questionnaire=request.questionnaire,
        frame_kind=request.frame_kind,
        rule=request.rule,
        margin=float(request.margin),
        allocation="fixed" if request.sizes is not None else request.allocation,
        total=plan.total,
        minimum=request.minimum,
        seed=request.seed,
        two_stage=bool(request.cluster_column),
        per_cluster=request.per_cluster,
        frame_rows=plan.frame_rows,
        frame_sha256=plan.frame_sha256,
        province_margin=plan.province_margin,
        created_by=officer,
    )
    for record in plan.strata.to_dict("records"):
        margin = record["margin"]
        row.strata.append(
            SampleStratum(
                stratum=record["stratum"],
                unit_id=units[record["stratum"]].id,
                population=int(record["population"]),
                clusters=int(record["clusters"]),
                n_required=int(record["n_required"]),
                n_planned=int(record["n_planned"]),
                n_drawn=int(record["n_drawn"]),
                clusters_drawn=int(record["clusters_drawn"]),
                margin=None if pd.isna(margin) else float(margin),
            )
        )
    session.add(row)
    session.flush()
    session.execute(
        insert(SampleUnit),
        [
            {"plan_id": row.id, **{str(k): v for k, v in record.items()}}
            for record in plan.drawn.to_dict("records")
        ],
    )
    return row


def plans(session: Session) -> list[SamplePlan]:
    return list(session.scalars(select(SamplePlan).order_by(SamplePlan.id.desc())))


def plan_or_none(session: Session, plan_id: int) -> SamplePlan | None:
    return session.get(SamplePlan, plan_id)


def sample_units(session: Session, plan: SamplePlan) -> list[SampleUnit]:
    return list(
        session.scalars(
            select(SampleUnit).where(SampleUnit.plan_id == plan.id).order_by(SampleUnit.form_number)
        )
    )


def form_code(plan_id: int, form_number: int) -> str:
    """The printed form number: plan and sequence, e.g. ``KH7-00123``."""
    return f"KH{plan_id}-{form_number:05d}"


def strata_frame(plan: SamplePlan) -> pd.DataFrame:
    """The plan's strata as a table (for pages and the command)."""
    return pd.DataFrame(
        [
            {
                "stratum": s.stratum,
                "population": s.population,
                "clusters": s.clusters,
                "n_required": s.n_required,
                "n_planned": s.n_planned,
                "clusters_drawn": s.clusters_drawn,
                "n_drawn": s.n_drawn,
                "margin": s.margin,
            }
            for s in plan.strata
        ]
    )


def questionnaire_title(plan: SamplePlan) -> str:
    return questionnaires.get(plan.questionnaire).title.vi


def sizes_from_table(table: pd.DataFrame) -> dict[str, int]:
    """Fixed sizes per stratum from a table with ``stratum`` and ``n`` columns."""
    for column in ("stratum", "n"):
        if column not in table.columns:
            raise PlanError(f"Bảng cỡ mẫu thiếu cột “{column}”.", rule="missing_column")
    out: dict[str, int] = {}
    for row, code, n in zip(table.index, table["stratum"], table["n"], strict=True):
        text = str(n).strip()
        if not text.isdigit():
            raise PlanError(
                f"Dòng {row}, cột “n”: “{n}” không phải số nguyên ≥ 0.", row=int(row), rule="n"
            )
        out[str(code).strip().upper()] = int(text)
    return out
