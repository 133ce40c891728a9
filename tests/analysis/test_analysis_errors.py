"""Bad arguments and bad data: the error type, the argument named, the bad value echoed."""

from __future__ import annotations

import pandas as pd
import pytest
from analysis_frames import KIOSK, wide

import analysis
from analysis import DataError, ScoringSettings, score


@pytest.fixture
def frame() -> pd.DataFrame:
    return wide(
        KIOSK,
        {"HL_TC": [5, 4, 3]},
        fill=4,
        unit_code=["A", "A", "B"],
        submitted_at=["2025-01-01T00:00:00Z"] * 3,
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"method": "median"}, ValueError, "method must be .* got 'median'"),
        ({"satisfied_codes": ()}, ValueError, r"satisfied_codes must be .* got \(\)"),
        ({"validity_min_share": 1.5}, ValueError, "validity_min_share must be .* got 1.5"),
        ({"cannot_judge": "drop"}, ValueError, "cannot_judge must be .* got 'drop'"),
        (
            {"cannot_judge": "not_satisfied", "method": "mean_score"},
            ValueError,
            "cannot_judge='not_satisfied'",
        ),
        ({"empty_child": "zero"}, ValueError, "empty_child must be .* got 'zero'"),
        ({"exclude_flags": "too_fast"}, TypeError, "exclude_flags must be a collection"),
        ({"min_n": -1}, ValueError, "min_n must be .* got -1"),
        ({"confidence": 95}, ValueError, "confidence must be .* got 95"),
    ],
)
def test_settings_are_checked(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        ScoringSettings(**kwargs)


def test_arguments_are_checked(frame: pd.DataFrame) -> None:
    with pytest.raises(TypeError, match="responses must be a pandas DataFrame, got list"):
        score([1, 2], KIOSK)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="questionnaire must be .* got 3"):
        score(frame, 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="settings must be a ScoringSettings"):
        score(frame, KIOSK, settings={"min_n": 3})  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match="period must be one of month, quarter, year .* got 'week'"
    ):
        score(frame, KIOSK, by=["period"], period="week")
    with pytest.raises(ValueError, match="by names a column twice"):
        score(frame, KIOSK, by=["unit_code", "unit_code"])
    with pytest.raises(ValueError, match="timezone must be an IANA zone name, got 'Mars'"):
        score(frame, KIOSK, by=["period"], timezone="Mars")
    with pytest.raises(ValueError, match="ends .* before it starts"):
        analysis.PeriodRange("x", "2025-02-01", "2025-01-01")
    result = score(frame, KIOSK, by=["unit_code"])
    with pytest.raises(ValueError, match="along must be one of .* got 'period'"):
        analysis.compare(result, "period")
    with pytest.raises(ValueError, match="base 'Z' is not a value"):
        analysis.compare(result, "unit_code", base="Z")
    with pytest.raises(ValueError, match="max_points must be a positive number, got 0"):
        analysis.par_index_points(result, 0)
    with pytest.raises(ValueError, match="margin must be between 0 and 1, got 5"):
        analysis.required_sample_size(100, margin=5)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("HL_TC", 6, "row 1, column HL_TC: code 6 is out of range"),
        ("HL_TC", 4.5, "row 1, column HL_TC: 4.5 is not an answer code"),
        ("HL", 0, "row 1, column HL: code 0 is out of range"),
    ],
)
def test_bad_codes_name_row_and_column(
    frame: pd.DataFrame, column: str, value: object, message: str
) -> None:
    frame[column] = frame[column].astype(object)
    frame.loc[1, column] = value
    with pytest.raises(DataError, match=message) as caught:
        score(frame, KIOSK)
    assert (caught.value.row, caught.value.column) == (1, column)


def test_bad_weights(frame: pd.DataFrame) -> None:
    frame["w"] = [1.0, 0.0, 2.0]
    with pytest.raises(DataError, match="row 1, column w: weight 0 is not a positive"):
        score(frame, KIOSK, weights="w")


def test_a_response_of_another_questionnaire_is_refused(frame: pd.DataFrame) -> None:
    frame["questionnaire"] = ["sipas-kiosk", "sipas-service", "sipas-kiosk"]
    with pytest.raises(DataError, match="row 1, column questionnaire: .* 'sipas-service'"):
        score(frame, KIOSK)
    frame["questionnaire"] = "sipas-kiosk"
    frame["questionnaire_version"] = [1, 1, 2]
    with pytest.raises(DataError, match="row 2, column questionnaire_version"):
        score(frame, KIOSK)


def test_unit_tree_problems(frame: pd.DataFrame) -> None:
    cycle = pd.DataFrame({"unit_code": ["A", "B"], "parent_code": ["B", "A"]})
    with pytest.raises(DataError, match="cycle"):
        score(frame, KIOSK, by=["unit_code"], units=cycle)
    orphan = pd.DataFrame({"unit_code": ["A", "B"], "parent_code": [None, "P"]})
    with pytest.raises(DataError, match="parent 'P' of unit 'B' is not a unit"):
        score(frame, KIOSK, by=["unit_code"], units=orphan)
    partial = pd.DataFrame({"unit_code": ["A"], "parent_code": [None]})
    with pytest.raises(DataError, match="row 2, column unit_code: unit 'B' is not in the unit"):
        score(frame, KIOSK, by=["unit_code"], units=partial)
    with pytest.raises(ValueError, match="needs 'unit_code' in by"):
        score(frame, KIOSK, units=partial)


def test_count_table_problems(frame: pd.DataFrame) -> None:
    counts = analysis.count_table(frame, KIOSK)
    bad = counts.copy()
    bad.loc[0, "item"] = "XX"
    with pytest.raises(DataError, match="row 0, column item: 'XX' is not an item"):
        analysis.score_counts(bad, KIOSK)
    bad = counts.copy()
    bad.loc[0, "code"] = 9
    with pytest.raises(DataError, match="column code: code 9 is not a code of item HL_TC"):
        analysis.score_counts(bad, KIOSK)
    bad = counts.copy()
    bad.loc[0, "n"] = -1
    with pytest.raises(DataError, match="column n: -1 is not a count"):
        analysis.score_counts(bad, KIOSK)
    doubled = pd.concat([counts, counts.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataError, match="appears twice"):
        analysis.score_counts(doubled, KIOSK)
    with pytest.raises(DataError, match="weight .* and weight_sq .* go together"):
        analysis.score_counts(counts.assign(weight=1.0), KIOSK)


def test_targets_problems(frame: pd.DataFrame) -> None:
    result = score(frame, KIOSK, by=["unit_code"])
    with pytest.raises(DataError, match="column target: target 120 is not a number from 0"):
        analysis.join_targets(
            result, pd.DataFrame({"unit_code": ["A"], "index": ["SIPAS"], "target": [120]})
        )
    with pytest.raises(DataError, match="has a target already"):
        analysis.join_targets(
            result,
            pd.DataFrame(
                {"unit_code": ["A", "A"], "index": ["SIPAS", "SIPAS"], "target": [80, 90]}
            ),
        )
    with pytest.raises(DataError, match="column index: a targets table needs"):
        analysis.join_targets(result, pd.DataFrame({"unit_code": ["A"], "target": [80]}))
