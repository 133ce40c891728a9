"""The report of a province's own survey: communes ranked on design-based scores (linearised
intervals and design effects, analysis/design.py), the response rate against the plan, and the
same communes' desk-channel scores beside them, labelled as the different instrument they are.

Responses are read through services/wide_export.py (the one wide reader) and only settled paper
forms count: a form is a stored response only once settled (services/paper_keying.py).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

import questionnaires
from analysis import DataError, ScoringSettings, SurveyDesign, rank_units, score

from ..models import PaperForm, PaperKeying, SamplePlan, SampleUnit, utcnow
from ..models.tables import RESPONSES
from .wide_export import load_responses

#: The desk channels' questionnaire compared with (SIPAS.md §3).
DESK_QUESTIONNAIRE = "sipas-service"
DESK_CHANNELS = ("qr", "web", "kiosk")
#: How far back the desk-channel scores compared with reach.
DESK_WINDOW = timedelta(days=365)
HOUSEHOLD_LABEL = "Khảo sát hộ gia đình của tỉnh (phiếu giấy, chọn mẫu theo thiết kế)"
DESK_LABEL = "Khảo sát tại quầy (QR, web, kiosk; người vừa được phục vụ) — công cụ khác"
#: A stratum with a single sampled village: centred on the grand mean (R's "adjust").
LONELY_PSU: Final = "adjust"


@dataclass(frozen=True)
class SurveyReport:
    """Tables of the report (each a DataFrame, for the page and the XLSX)."""

    plan_id: int
    #: Per commune: index, interval, deff, n, rank (overall SIPAS), then the province row.
    ranking: pd.DataFrame = field(repr=False)
    #: Per stratum: planned, drawn, keyed, settled, response rate.
    response: pd.DataFrame = field(repr=False)
    #: Per commune: household survey index and desk-channel index side by side.
    comparison: pd.DataFrame = field(repr=False)
    #: Every index of the design-based scores (tidy), for the XLSX.
    scores: pd.DataFrame = field(repr=False)
    settled: int
    problem: str = ""


def paper_frame(session: Session, plan: SamplePlan) -> pd.DataFrame:
    """The plan's settled paper responses, wide, with their design columns."""
    questionnaire = questionnaires.get(plan.questionnaire)
    in_plan = RESPONSES.c.id.in_(select(PaperForm.response_id).where(PaperForm.plan_id == plan.id))
    frame = load_responses(session, questionnaire, unit_ids=None, extra_where=[in_plan])
    design = pd.DataFrame(
        session.execute(
            select(
                PaperForm.response_id,
                PaperForm.stratum,
                PaperForm.cluster,
                PaperForm.weight,
                PaperForm.fpc,
            ).where(PaperForm.plan_id == plan.id)
        ).all(),
        columns=["response_id", "stratum", "cluster", "weight", "fpc"],
    )
    return frame.merge(design, on="response_id", how="inner")


def design_of(plan: SamplePlan) -> SurveyDesign:
    return SurveyDesign(
        strata="stratum",
        cluster="cluster" if plan.two_stage else None,
        weight="weight",
        fpc="fpc",
        lonely_psu=LONELY_PSU,
    )


def _response_table(session: Session, plan: SamplePlan, frame: pd.DataFrame) -> pd.DataFrame:
    keyed: dict[str, int] = {}
    keyed_rows = session.execute(
        select(PaperKeying.form_number).where(PaperKeying.plan_id == plan.id).distinct()
    ).all()
    stratum_of = dict(
        session.execute(
            select(SampleUnit.form_number, SampleUnit.stratum).where(SampleUnit.plan_id == plan.id)
        ).all()
    )
    for (number,) in keyed_rows:
        code = stratum_of.get(number)
        if code is not None:
            keyed[code] = keyed.get(code, 0) + 1
    settled = frame.groupby("stratum").size() if not frame.empty else pd.Series(dtype=int)
    rows = []
    for s in plan.strata:
        done = int(settled.get(s.stratum, 0))
        rows.append(
            {
                "stratum": s.stratum,
                "unit_name": s.unit.name,
                "n_required": s.n_required,
                "n_planned": s.n_planned,
                "n_drawn": s.n_drawn,
                "keyed": keyed.get(s.stratum, 0),
                "settled": done,
                "response_rate": done / s.n_drawn if s.n_drawn else float("nan"),
                "of_required": done / s.n_required if s.n_required else float("nan"),
            }
        )
    table = pd.DataFrame(rows)
    total: dict[str, Any] = {
        "stratum": "TỈNH",
        "unit_name": "Toàn tỉnh",
        **{
            c: int(table[c].sum())
            for c in ("n_required", "n_planned", "n_drawn", "keyed", "settled")
        },
    }
    total["response_rate"] = (
        total["settled"] / total["n_drawn"] if total["n_drawn"] else float("nan")
    )
    total["of_required"] = (
        total["settled"] / total["n_required"] if total["n_required"] else float("nan")
    )
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def _overall(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["level"] == "overall"]


def build(session: Session, plan: SamplePlan, *, min_n: int = 30) -> SurveyReport:
    """The report's tables; a design the data cannot carry yet (too few forms) is reported as
    ``problem`` with empty score tables, never as an error page."""
    frame = paper_frame(session, plan)
    response = _response_table(session, plan, frame)
    names = {s.stratum: s.unit.name for s in plan.strata}
    empty = pd.DataFrame()
    problem = ""
    ranking = comparison = scores = empty
    settings = ScoringSettings(min_n=min_n)
    if len(frame) >= 2:
        try:
            by_unit = score(
                frame, plan.questionnaire, by=["unit_code"], design=design_of(plan),
                settings=settings,
            )  # fmt: skip
            province = score(frame, plan.questionnaire, design=design_of(plan), settings=settings)
        except DataError as error:
            problem = str(error)
        else:
            scores = pd.concat(
                [by_unit.to_frame(), province.to_frame().assign(unit_code="TỈNH")],
                ignore_index=True,
            )
            ranks = rank_units(by_unit).to_frame()
            ranks = ranks[ranks["level"] == "overall"][["unit_code", "rank", "status"]]
            overall = _overall(by_unit.to_frame()).merge(ranks, on="unit_code", how="left")
            overall = overall.sort_values(["rank", "index"], ascending=[True, False])
            whole = _overall(province.to_frame()).assign(unit_code="TỈNH", rank=None, status="")
            ranking = pd.concat([overall, whole], ignore_index=True)[
                ["unit_code", "rank", "status", "index", "ci_low", "ci_high", "deff", "n",
                 "min_n_flag"]
            ]  # fmt: skip
            ranking.insert(1, "unit_name", ranking["unit_code"].map(names).fillna("Toàn tỉnh"))
            comparison = _comparison(session, plan, by_unit.to_frame(), names, settings)
    else:
        problem = "Chưa đủ phiếu đã chốt để tính chỉ số (cần ít nhất 2)."
    return SurveyReport(
        plan_id=plan.id,
        ranking=ranking,
        response=response,
        comparison=comparison,
        scores=scores,
        settled=len(frame),
        problem=problem,
    )


def _comparison(
    session: Session,
    plan: SamplePlan,
    household: pd.DataFrame,
    names: dict[str, str],
    settings: ScoringSettings,
) -> pd.DataFrame:
    """Household SIPAS (and, for the 2023 form, its service-delivery aspect II) next to the desk
    channels' SIPAS of the same communes over the last year: two instruments, two columns."""
    unit_ids = {s.unit_id for s in plan.strata}
    since = utcnow() - DESK_WINDOW
    desk = load_responses(
        session,
        questionnaires.get(DESK_QUESTIONNAIRE),
        unit_ids=unit_ids,
        start=since,
        extra_where=[RESPONSES.c.channel.in_(DESK_CHANNELS)],
    )
    rows = []
    desk_scores = pd.DataFrame()
    if not desk.empty:
        desk_scores = _overall(
            score(desk, DESK_QUESTIONNAIRE, by=["unit_code"], settings=settings).to_frame()
        )
    for code in sorted(names):
        mine = household[(household["unit_code"] == code)]
        overall = mine[mine["level"] == "overall"]
        aspect = mine[(mine["code"] == "II")]
        theirs = (
            desk_scores[desk_scores["unit_code"] == code] if not desk_scores.empty else desk_scores
        )
        rows.append(
            {
                "unit_code": code,
                "unit_name": names[code],
                "household_instrument": f"{plan.questionnaire} · {HOUSEHOLD_LABEL}",
                "household_sipas": _first(overall, "index"),
                "household_ci_low": _first(overall, "ci_low"),
                "household_ci_high": _first(overall, "ci_high"),
                "household_n": _first(overall, "n"),
                "household_service_aspect": _first(aspect, "index"),
                "desk_instrument": f"{DESK_QUESTIONNAIRE} · {DESK_LABEL}",
                "desk_sipas": _first(theirs, "index"),
                "desk_ci_low": _first(theirs, "ci_low"),
                "desk_ci_high": _first(theirs, "ci_high"),
                "desk_n": _first(theirs, "n"),
            }
        )
    return pd.DataFrame(rows)


def _first(table: pd.DataFrame, column: str) -> float | None:
    if table.empty or column not in table.columns:
        return None
    value = table[column].iloc[0]
    return None if pd.isna(value) else float(value)


def report_xlsx(report: SurveyReport, plan: SamplePlan) -> bytes:
    """The report as an XLSX: ranking, response rate, comparison, every index."""
    buffer = io.BytesIO()
    note = pd.DataFrame(
        {
            "Ghi chú": [
                f"Kế hoạch {plan.id}: {plan.name}; phiếu {plan.questionnaire}; "
                f"hạt giống {plan.seed}.",
                "Khoảng tin cậy 95% theo thiết kế mẫu (tuyến tính hóa Taylor; tầng = đơn vị, "
                "cụm = thôn, trọng số = nghịch đảo xác suất chọn, hiệu chỉnh tổng thể hữu hạn); "
                "deff = hiệu ứng thiết kế (Kish).",
                "Chỉ các phiếu đã chốt (hai lần nhập khớp nhau hoặc đã đối chiếu) được tính.",
                "Cột khảo sát tại quầy là một công cụ khác (người vừa được phục vụ, không chọn "
                "mẫu): không cộng gộp, không so sánh như cùng một chỉ số.",
            ]
        }
    )
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        note.to_excel(writer, sheet_name="Ghi chú", index=False)
        report.ranking.to_excel(writer, sheet_name="Xếp hạng", index=False)
        report.response.to_excel(writer, sheet_name="Tỷ lệ phản hồi", index=False)
        report.comparison.to_excel(writer, sheet_name="So sánh công cụ", index=False)
        report.scores.to_excel(writer, sheet_name="Mọi chỉ số", index=False)
    return buffer.getvalue()
