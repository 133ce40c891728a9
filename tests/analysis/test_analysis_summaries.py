"""Summaries (issue 10): scores read from additive summary tables equal scores of the rows.

Every index, n, interval, left-out count, rank, p-value and driver from
``score_summaries``/``summary_drivers`` is checked against ``analysis.score`` and the other
public functions on the raw rows: over random data (hypothesis) with weights, exclusions,
invalid responses, missing answers and every breakdown, and on a hand-worked case.
"""

from __future__ import annotations

import math
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from analysis_frames import KIOSK, SERVICE, Z95, wide
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analysis
from analysis import ScoringSettings
from analysis.cli import score as score_command
from analysis.summaries import (
    Summaries,
    add,
    build_summaries,
    number_columns,
    remove,
    roll_up,
    score_summaries,
    summary_drivers,
)
from questionnaires import Questionnaire

#: Weighted sums are added in another order than the rows route adds them.
WEIGHTED_RTOL = 1e-9
UNITS = ("C1", "C2", "C3", "D2")
TREE = pd.DataFrame(
    {
        "unit_code": ["P", "D1", "D2", "C1", "C2", "C3"],
        "parent_code": [None, "P", "P", "D1", "D1", "D2"],
    }
)
FINE = ["unit_code", "desk_code", "channel", "day"]
BREAKDOWNS = (
    [],
    ["unit_code"],
    ["channel"],
    ["period"],
    ["unit_code", "period"],
    ["channel", "unit_code"],
)
PROPERTY = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def responses(
    draw: st.DrawFn, questionnaire: Questionnaire = KIOSK, max_rows: int = 40
) -> pd.DataFrame:
    """Random answers, blanks and "cannot judge", valid marks, flags, weights, times."""
    n = draw(st.integers(1, max_rows))

    def column(values: st.SearchStrategy[object]) -> list[object]:
        return draw(st.lists(values, min_size=n, max_size=n))

    frame: dict[str, object] = {
        "unit_code": column(st.sampled_from(UNITS)),
        "desk_code": column(st.sampled_from(["d1", "d2"])),
        "channel": column(st.sampled_from(["qr", "kiosk"])),
        # Around local midnight too: 16:59Z and 17:00Z are different local days.
        "submitted_at": [
            f"2025-{m:02d}-{d:02d}T{h}Z"
            for m, d, h in zip(
                column(st.integers(1, 4)),
                column(st.sampled_from([1, 15, 28])),
                column(st.sampled_from(["03:00:00", "16:59:59", "17:00:00"])),
                strict=True,
            )
        ],
        "valid": column(st.sampled_from(["1", "1", "1", "0", None])),
        "flags": column(st.sampled_from([None, None, "too_fast", "over_rate;too_fast", ""])),
        "w": column(st.floats(0.1, 10.0)),
    }
    for item in questionnaire.items.values():
        for name in item.sub_items():
            codes = st.sampled_from([None, *item.codes])
            frame[name] = pd.array(column(codes), dtype="Int64")
    return pd.DataFrame(frame)


scoring_settings = st.builds(
    lambda method, cannot_judge, honour, drop, exclude, empty, min_n: ScoringSettings(
        method=method,
        cannot_judge="missing" if method == "mean_score" else cannot_judge,
        honour_valid_column=honour,
        drop_invalid=drop,
        exclude_flags=exclude,
        empty_child=empty,
        min_n=min_n,
    ),
    st.sampled_from(["top2box", "mean_score"]),
    st.sampled_from(["missing", "not_satisfied"]),
    st.booleans(),
    st.booleans(),
    st.sampled_from([frozenset(), frozenset({"*"}), frozenset({"over_rate"})]),
    st.sampled_from(["skip", "nan"]),
    st.sampled_from([0, 2, 5]),
)


def assert_same(a: pd.DataFrame, b: pd.DataFrame, rtol: float) -> None:
    pd.testing.assert_frame_equal(
        a.reset_index(drop=True),
        b.reset_index(drop=True),
        check_exact=False,
        rtol=rtol,
        atol=1e-9,
    )


def both_routes(
    frame: pd.DataFrame,
    q: Questionnaire,
    by: list[str],
    chosen: ScoringSettings,
    weighted: bool,
    roll: bool = False,
) -> tuple[analysis.ScoreResult, analysis.ScoreResult]:
    weights = "w" if weighted else None
    units = TREE if roll else None
    rows = analysis.score(frame, q, by=by, weights=weights, settings=chosen, units=units)
    built = build_summaries(frame, q, by=FINE, weights=weights, settings=chosen)
    read = score_summaries(built, by=by, settings=chosen, units=units)
    return rows, read


@PROPERTY
@given(
    responses(),
    st.sampled_from(BREAKDOWNS),
    scoring_settings,
    st.booleans(),
)
def test_every_index_interval_and_count_equals_the_rows_route(
    frame: pd.DataFrame, by: list[str], chosen: ScoringSettings, weighted: bool
) -> None:
    rows, read = both_routes(frame, KIOSK, by, chosen, weighted)
    rtol = WEIGHTED_RTOL if weighted else 1e-12
    assert_same(rows.to_frame(detail=True), read.to_frame(detail=True), rtol)
    pd.testing.assert_frame_equal(rows.responses, read.responses, check_dtype=False)
    assert rows.group_columns == read.group_columns
    assert rows.period_order == read.period_order


@PROPERTY
@given(responses(questionnaire=SERVICE, max_rows=30), st.booleans())
def test_the_service_form_with_its_nested_tree_and_perceptions(
    frame: pd.DataFrame, weighted: bool
) -> None:
    rows, read = both_routes(frame, SERVICE, ["unit_code"], ScoringSettings(min_n=3), weighted)
    rtol = WEIGHTED_RTOL if weighted else 1e-12
    assert_same(rows.to_frame(detail=True), read.to_frame(detail=True), rtol)


@PROPERTY
@given(responses(), st.booleans(), st.sampled_from([[], ["period"]]))
def test_a_unit_tree_rolls_up_the_same(
    frame: pd.DataFrame, weighted: bool, more: list[str]
) -> None:
    chosen = ScoringSettings(min_n=2)
    rows, read = both_routes(frame, KIOSK, ["unit_code", *more], chosen, weighted, roll=True)
    assert_same(rows.to_frame(detail=True), read.to_frame(detail=True), 1e-9)


@PROPERTY
@given(responses(), st.booleans())
def test_ranks_changes_and_p_values_equal_the_rows_route(
    frame: pd.DataFrame, weighted: bool
) -> None:
    chosen = ScoringSettings(min_n=2)
    rows, read = both_routes(frame, KIOSK, ["unit_code", "period"], chosen, weighted)
    assert_same(analysis.rank_units(rows).to_frame(), analysis.rank_units(read).to_frame(), 1e-9)
    assert_same(
        analysis.compare(rows, holm_correction=True).to_frame(),
        analysis.compare(read, holm_correction=True).to_frame(),
        1e-9,
    )
    base = sorted(frame["unit_code"].unique())[0]
    assert_same(
        analysis.compare(rows, "unit_code", base=base).to_frame(),
        analysis.compare(read, "unit_code", base=base).to_frame(),
        1e-9,
    )


@PROPERTY
@given(responses(), st.sampled_from(BREAKDOWNS), st.booleans())
def test_drivers_equal_the_rows_route(frame: pd.DataFrame, by: list[str], weighted: bool) -> None:
    weights = "w" if weighted else None
    rows = analysis.drivers(frame, KIOSK, by=by, weights=weights)
    built = build_summaries(frame, KIOSK, by=FINE, weights=weights)
    read = summary_drivers(built, by=by)
    assert_same(rows.to_frame(), read.to_frame(), 1e-9)


@PROPERTY
@given(responses(questionnaire=SERVICE, max_rows=30), st.integers(1, 29), st.booleans())
def test_parts_add_up_to_the_summaries_of_the_whole(
    frame: pd.DataFrame, cut: int, weighted: bool
) -> None:
    weights = "w" if weighted else None
    whole = build_summaries(frame, SERVICE, by=FINE, weights=weights)
    cut = min(cut, len(frame))
    parts = [
        build_summaries(part, SERVICE, by=FINE, weights=weights)
        for part in (frame.iloc[:cut], frame.iloc[cut:])
        if len(part)
    ]
    summed = add(*parts)
    if weighted:
        assert_same(whole.table, summed.table, 1e-12)
    else:  # counts: identical, column types included
        pd.testing.assert_frame_equal(whole.table, summed.table, check_exact=True)
    coarse = build_summaries(frame, SERVICE, by=["channel"], weights=weights)
    assert_same(coarse.table, roll_up(whole, ["channel"]).table, 1e-12)


def test_unweighted_columns_are_integers_a_database_sums_exactly() -> None:
    frame = wide(KIOSK, {"HL_TC": [5, 4, 2]}, fill=4, unit_code=["A", "A", "B"])
    table = build_summaries(frame, KIOSK, by=["unit_code"]).table
    names = number_columns(analysis.summaries.build_plan(KIOSK, ScoringSettings()), False, "HL")
    for kind, columns in names.items():
        for column in columns:
            assert table[column].dtype == np.int64, (kind, column)
    # 5 items → 10 pairs × 4 cross-products; 5 items × 25 cells with HL.
    assert len(names["moments"]) == 40
    assert len(names["joint"]) == 125


def test_hand_worked_element_interval() -> None:
    """Three respondents, kiosk form (SIPAS = mean of 5 single-item elements)."""
    # HL_TC: 5, 4, 2 → satisfied 1, 1, 0: R = 2/3. HL_TT: 4, 2, blank → R = 1/2, A = 2.
    # Every other item: 4, 4, 4 → R = 1, residuals 0.
    frame = wide(
        KIOSK,
        {
            "HL_TC": [5, 4, 2],
            "HL_TT": [4, 2, None],
            "HL_CC": [4, 4, 4],
            "HL_KQ": [4, 4, 4],
            "HL_PA": [4, 4, 4],
            "HL": [5, 4, 2],
        },
    )
    table = score_summaries(build_summaries(frame, KIOSK)).to_frame(detail=True)
    sipas = table.loc[table["code"] == "SIPAS"].iloc[0]
    # z_i = 1/5 · (y_TC − 2/3)/3 + 1/5 · (y_TT − 1/2 a_TT)/2:
    z = [
        (1 / 3) / 15 + (1 / 2) / 10,
        (1 / 3) / 15 - (1 / 2) / 10,
        (-2 / 3) / 15 + 0.0,
    ]
    se = math.sqrt(3 / 2 * sum(v * v for v in z))
    index = 100 * (2 / 3 + 1 / 2 + 1 + 1 + 1) / 5
    assert sipas["index"] == pytest.approx(index, rel=1e-15)
    assert sipas["se"] == pytest.approx(100 * se, rel=1e-12)
    assert sipas["ci_low"] == pytest.approx(index - Z95 * 100 * se, rel=1e-12)
    # The cross-products behind it: TC satisfied & TT answered = respondents 1, 2.
    built = build_summaries(frame, KIOSK).table.iloc[0]
    assert built["ya__HL_TC__HL_TT"] == 2
    assert built["yy__HL_TC__HL_TT"] == 1
    assert built["aa__HL_TC__HL_TT"] == 2
    assert built["hl__HL_TC__5__5"] == 1


def test_a_variance_that_cancels_exactly_is_zero_not_rounding_noise() -> None:
    """Two respondents whose TC and TT answers mirror each other: every influence z_i is
    exactly 0 although each item varies, so the interval is empty by both routes."""
    frame = wide(KIOSK, {"HL_TC": [5, 1], "HL_TT": [1, 5]}, fill=4, unit_code=["A", "A"])
    frame = pd.concat([frame] * 37, ignore_index=True)  # not a power of two: real rounding
    rows = analysis.score(frame, KIOSK).to_frame(detail=True)
    read = score_summaries(build_summaries(frame, KIOSK)).to_frame(detail=True)
    for table in (rows, read):
        sipas = table.loc[table["code"] == "SIPAS"].iloc[0]
        assert sipas["se"] == 0.0
        assert pd.isna(sipas["ci_low"]) and pd.isna(sipas["ci_high"])


def test_left_out_responses_are_counted_and_settings_apply_when_reading() -> None:
    frame = wide(
        KIOSK,
        {"HL_TC": [5, 4, 2, None], "HL_TT": [5, 4, 2, None], "HL_CC": [5, 4, 2, 3]},
        flags=["too_fast", None, None, None],
        valid=["1", "0", "1", "1"],
    )
    built = build_summaries(frame, KIOSK)
    for chosen in (
        ScoringSettings(),
        ScoringSettings(exclude_flags=frozenset({"too_fast"})),
        ScoringSettings(honour_valid_column=False),
        ScoringSettings(drop_invalid=False),
    ):
        read = score_summaries(built, settings=chosen)
        rows = analysis.score(frame, KIOSK, settings=chosen)
        pd.testing.assert_frame_equal(rows.responses, read.responses, check_dtype=False)
        assert_same(rows.to_frame(detail=True), read.to_frame(detail=True), 1e-12)


def test_other_item_settings_and_unknown_breakdowns_are_refused() -> None:
    frame = wide(KIOSK, {"HL_TC": [5, 4]}, fill=4, unit_code=["A", "B"])
    built = build_summaries(frame, KIOSK, by=["unit_code"])
    with pytest.raises(ValueError, match="method 'mean_score'"):
        score_summaries(built, settings=ScoringSettings(method="mean_score"))
    with pytest.raises(ValueError, match="cannot_judge"):
        score_summaries(built, settings=ScoringSettings(cannot_judge="not_satisfied"))
    with pytest.raises(ValueError, match="'channel'"):
        score_summaries(built, by=["channel"])
    with pytest.raises(ValueError, match="needs 'day'"):
        score_summaries(built, by=["period"])
    with pytest.raises(TypeError, match="Summaries"):
        score_summaries(built.table)  # type: ignore[arg-type]
    other = build_summaries(
        frame, KIOSK, by=["unit_code"], weights=None, settings=ScoringSettings(satisfied_codes=(5,))
    )
    with pytest.raises(ValueError, match="built differently"):
        add(built, other)


def test_summaries_are_small_beside_the_responses() -> None:
    rng = np.random.default_rng(7)
    n = 2000
    frame = wide(
        SERVICE,
        {c: rng.integers(1, 6, n).tolist() for c in SERVICE.answer_columns()[:16]},
        unit_code=rng.choice(["A", "B"], n).tolist(),
    )
    built = build_summaries(frame, SERVICE, by=["unit_code"])
    assert isinstance(built, Summaries)
    assert len(built.table) == 2
    assert int(built.table["responses"].sum()) == n


@PROPERTY
@given(responses(), st.integers(0, 39))
def test_removing_responses_equals_a_rebuild_without_them(frame: pd.DataFrame, cut: int) -> None:
    cut = min(cut, len(frame) - 1)
    kept, gone = frame.iloc[: cut + 1], frame.iloc[cut + 1 :]
    every = build_summaries(frame, KIOSK, by=FINE)
    left = remove(every, build_summaries(gone, KIOSK, by=FINE)) if len(gone) else every
    pd.testing.assert_frame_equal(
        left.table, build_summaries(kept, KIOSK, by=FINE).table, check_exact=True
    )


def test_an_officer_exclusion_moves_one_response_between_status_cells() -> None:
    frame = wide(KIOSK, {"HL_TC": [5, 4, 2, 1]}, fill=4, valid=["1", "1", "1", "1"])
    cells = build_summaries(frame, KIOSK)
    excluded = frame.iloc[[2]].assign(valid="0")
    cells = add(
        remove(cells, build_summaries(frame.iloc[[2]], KIOSK)), build_summaries(excluded, KIOSK)
    )
    now = frame.copy()
    now.loc[2, "valid"] = "0"
    pd.testing.assert_frame_equal(cells.table, build_summaries(now, KIOSK).table, check_exact=True)
    item = score_summaries(cells).index_of("HL_TC").iloc[0]
    assert item["n"] == 3 and item["index"] == pytest.approx(200 / 3, rel=1e-15)
    with pytest.raises(ValueError, match="below 0"):
        remove(cells, build_summaries(frame, KIOSK))


def test_the_command_refuses_several_csv_files_and_dask_without_parquet(tmp_path: Path) -> None:
    frame = wide(KIOSK, {"HL_TC": [5, 4]}, fill=4)
    path = tmp_path / "a.csv"
    frame.to_csv(path, index=False)
    runner = CliRunner()
    twice = runner.invoke(score_command, [str(path), str(path), "--questionnaire", "sipas-kiosk"])
    assert twice.exit_code == 2
    assert "several files are read only as Parquet" in twice.output
    dask = runner.invoke(score_command, [str(path), "--dask", "tcp://127.0.0.1:5699"])
    assert dask.exit_code == 2
    assert "--dask reads Parquet files" in dask.output


def test_several_parquet_files_score_as_their_union(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    frame = wide(KIOSK, {"HL_TC": [5, 4, 2, 1]}, fill=4, unit_code=["A", "A", "B", "B"])
    frame.iloc[:3].to_parquet(tmp_path / "a.parquet")
    frame.iloc[3:].to_parquet(tmp_path / "b.parquet")
    files = [str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]
    result = CliRunner().invoke(score_command, [*files, "--questionnaire", "sipas-kiosk"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(StringIO(result.output))
    row = table[table["code"] == "HL_TC"].iloc[0]
    assert (row["n"], row["index"]) == (4, 50.0)


@pytest.mark.parametrize(
    "period",
    [
        "quarter",
        "year",
        [
            analysis.PeriodRange("Q1", "2025-01-01", "2025-03-31"),
            analysis.PeriodRange("đến 15/2", "2025-01-01", "2025-02-15"),  # overlaps Q1
        ],
    ],
)
def test_quarters_years_and_overlapping_ranges_are_sums_of_days(period: object) -> None:
    rng = np.random.default_rng(3)
    n = 300
    days = rng.integers(0, 150, n)
    frame = wide(
        KIOSK,
        {c: rng.integers(0, 6, n).tolist() for c in ("HL_TC", "HL_TT", "HL_CC", "HL_KQ")},
        fill=4,
        unit_code=rng.choice(["A", "B"], n).tolist(),
        submitted_at=[
            (
                pd.Timestamp("2024-12-31T16:30:00Z") + pd.Timedelta(days=int(d), hours=int(h))
            ).isoformat()
            for d, h in zip(days, rng.integers(0, 2, n), strict=True)
        ],
    )
    rows = analysis.score(frame, KIOSK, by=["unit_code", "period"], period=period)  # type: ignore[arg-type]
    cells = build_summaries(frame, KIOSK, by=["unit_code", "day"])
    read = score_summaries(cells, by=["unit_code", "period"], period=period)  # type: ignore[arg-type]
    assert_same(rows.to_frame(detail=True), read.to_frame(detail=True), 1e-12)
    assert rows.period_order == read.period_order
