"""Properties that hold for any responses (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analysis_frames import KIOSK, SERVICE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analysis
from analysis import ScoringSettings, score
from questionnaires import Questionnaire

UNITS = ("C1", "C2", "C3", "D2")
# P ← D1 ← (C1, C2); P ← D2 ← C3; D2 also has responses of its own.
TREE = pd.DataFrame(
    {
        "unit_code": ["P", "D1", "D2", "C1", "C2", "C3"],
        "parent_code": [None, "P", "P", "D1", "D1", "D2"],
    }
)
BELOW = {
    "P": UNITS,
    "D1": ("C1", "C2"),
    "D2": ("C3", "D2"),
    "C1": ("C1",),
    "C2": ("C2",),
    "C3": ("C3",),
}
FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def responses(
    draw: st.DrawFn,
    questionnaire: Questionnaire = KIOSK,
    weighted: bool = False,
    max_rows: int = 40,
) -> pd.DataFrame:
    """Responses with any mix of answers, "cannot judge" and blanks, in a few units."""
    n = draw(st.integers(1, max_rows))
    frame: dict[str, object] = {
        "unit_code": draw(st.lists(st.sampled_from(UNITS), min_size=n, max_size=n)),
        "submitted_at": [
            f"2025-{m:02d}-15T03:00:00Z"
            for m in draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
        ],
    }
    for item in questionnaire.items.values():
        for column in item.sub_items():
            codes = st.sampled_from([None, *item.codes])
            frame[column] = pd.array(draw(st.lists(codes, min_size=n, max_size=n)), dtype="Int64")
    if weighted:
        frame["w"] = draw(st.lists(st.floats(0.1, 10.0), min_size=n, max_size=n))
    return pd.DataFrame(frame)


def assert_same_scores(a: pd.DataFrame, b: pd.DataFrame, rtol: float = 0.0) -> None:
    pd.testing.assert_frame_equal(
        a.reset_index(drop=True),
        b.reset_index(drop=True),
        check_exact=rtol == 0.0,
        rtol=rtol or 1e-5,
        atol=1e-12,
    )


@FAST
@given(responses(), st.sampled_from(["top2box", "mean_score"]))
def test_indices_and_intervals_lie_in_0_100(frame: pd.DataFrame, method: str) -> None:
    table = score(
        frame, KIOSK, by=["unit_code"], settings=ScoringSettings(method=method)
    ).to_frame()  # type: ignore[arg-type]
    for column in ("index", "ci_low", "ci_high"):
        values = table[column].dropna()
        assert ((values >= 0) & (values <= 100)).all(), column
    both = table.dropna(subset=["ci_low", "ci_high"])
    assert (both["ci_low"] <= both["index"] + 1e-9).all()
    assert (both["index"] <= both["ci_high"] + 1e-9).all()
    # An index is missing exactly where nothing was answered.
    assert (table["index"].isna() == (table["n"] == 0)).all()


@pytest.mark.slow
@FAST
@given(responses(questionnaire=SERVICE, max_rows=25), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(frame: pd.DataFrame, shuffle: object) -> None:
    order = list(range(len(frame)))
    shuffle.shuffle(order)  # type: ignore[attr-defined]
    shuffled = frame.iloc[order].reset_index(drop=True)
    a = score(frame, SERVICE, by=["unit_code", "period"]).to_frame(detail=True)
    b = score(shuffled, SERVICE, by=["unit_code", "period"]).to_frame(detail=True)
    # Counts, indices and Wilson bounds are exact; a linearised SE sums squares in row
    # order, so it may differ in the last bits.
    assert_same_scores(
        a.drop(columns=["se", "ci_low", "ci_high"]), b.drop(columns=["se", "ci_low", "ci_high"])
    )
    assert_same_scores(a, b, rtol=1e-9)


@pytest.mark.slow
@FAST
@given(responses(questionnaire=SERVICE, max_rows=30), st.booleans())
def test_count_route_equals_rows_route(frame: pd.DataFrame, weighted: bool) -> None:
    if weighted:
        frame = frame.assign(w=np.linspace(0.5, 3.0, len(frame)))
    weights = "w" if weighted else None
    by = ["unit_code", "period"]
    rows = score(frame, SERVICE, by=by, weights=weights).to_frame(detail=True)
    counts = analysis.count_table(frame, SERVICE, by=by, weights=weights)
    via_counts = analysis.score_counts(counts, SERVICE).to_frame(detail=True)
    is_node = rows["kind"] == "index"
    # Everything but the node intervals (which need rows) is the same, to the last bit
    # unweighted; weighted, the sums of weights may be added in another order.
    same = ["unit_code", "period", "level", "code", "n", "index", "min_n_flag"]
    assert_same_scores(rows[same], via_counts[same], rtol=1e-12 if weighted else 0.0)
    items = ["ci_low", "ci_high", "n_eff"]
    assert_same_scores(
        rows.loc[~is_node, items], via_counts.loc[~is_node, items], rtol=1e-12 if weighted else 0.0
    )
    assert via_counts.loc[is_node, "ci_low"].isna().all()


@FAST
@given(responses(max_rows=40), st.sampled_from(sorted(BELOW)))
def test_roll_up_equals_scoring_the_pooled_rows(frame: pd.DataFrame, unit: str) -> None:
    rolled = score(frame, KIOSK, by=["unit_code"], units=TREE).to_frame(detail=True)
    pooled_rows = frame[frame["unit_code"].isin(BELOW[unit])]
    mine = rolled[rolled["unit_code"] == unit].drop(columns="unit_code")
    if pooled_rows.empty:
        assert mine.empty
        return
    pooled = score(pooled_rows, KIOSK).to_frame(detail=True)
    assert_same_scores(
        mine.drop(columns=["se", "ci_low", "ci_high"]),
        pooled.drop(columns=["se", "ci_low", "ci_high"]),
    )
    assert_same_scores(mine, pooled, rtol=1e-9)


@FAST
@given(responses(max_rows=30, weighted=True))
def test_weights_of_one_change_nothing(frame: pd.DataFrame) -> None:
    ones = frame.assign(w=1.0)
    a = score(ones, KIOSK, by=["unit_code"], weights="w").to_frame(detail=True)
    b = score(ones, KIOSK, by=["unit_code"]).to_frame(detail=True)
    assert_same_scores(a, b, rtol=1e-12)


@FAST
@given(responses(max_rows=30, weighted=True), st.floats(0.01, 100.0))
def test_scaling_every_weight_changes_no_index(frame: pd.DataFrame, factor: float) -> None:
    a = score(frame, KIOSK, by=["unit_code"], weights="w").to_frame(detail=True)
    b = score(frame.assign(w=frame["w"] * factor), KIOSK, by=["unit_code"], weights="w").to_frame(
        detail=True
    )
    assert_same_scores(a, b, rtol=1e-9)
