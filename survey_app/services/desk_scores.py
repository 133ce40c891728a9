"""Every desk's scores in a unit and everything below it, for a period (the reports' desks
sheet at any level: a district's report lists its communes' desks too)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

import analysis
from questionnaires import Questionnaire

from ..models import Unit
from .accounts import UnitTree
from .desk_drops import local_dates
from .periods import Period
from .wide_export import load_responses

DESK_COLUMNS = (
    "unit_code",
    "desk_code",
    "level",
    "code",
    "label_vi",
    "n",
    "index",
    "ci_low",
    "ci_high",
    "min_n_flag",
)


def desk_scores(
    session: Session,
    tree: UnitTree,
    unit: Unit,
    period: Period,
    questionnaire: Questionnaire,
    *,
    min_n: int = 30,
    zone: str = "Asia/Ho_Chi_Minh",
) -> pd.DataFrame:
    """Tidy scores by desk (SIPAS and elements) of every desk at or below ``unit``, each with
    the unit it belongs to; an empty table when no desk has a response in the period."""
    start, end = period.utc_bounds(zone)
    rows = load_responses(
        session, questionnaire, unit_ids=tree.subtree_ids(unit.id), start=start, end=end
    )
    if len(rows):
        rows = rows[local_dates(rows, zone).between(period.start, period.end)]
    if not len(rows):
        return pd.DataFrame(columns=list(DESK_COLUMNS))
    table = analysis.score(
        rows, questionnaire, by=["desk_code"], settings=analysis.ScoringSettings(min_n=min_n)
    ).to_frame()
    table = table[table["level"].isin(["overall", "element", "overall_question"])]
    owner = rows.drop_duplicates("desk_code").set_index("desk_code")["unit_code"]
    table = table.assign(unit_code=table["desk_code"].map(owner))
    return table[list(DESK_COLUMNS)].reset_index(drop=True)
