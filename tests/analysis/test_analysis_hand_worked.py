"""Small tables scored by hand: the arithmetic is written out in each test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from analysis_frames import FORM_2017, FORM_2023, KIOSK, SERVICE, Z95, wide

import analysis
from analysis import ScoringSettings, score


def row(table: pd.DataFrame, code: str, **where: object) -> pd.Series:
    """The one row of ``code`` (within the groups named in ``where``)."""
    mask = table["code"] == code
    for column, value in where.items():
        mask &= table[column] == value
    found = table[mask]
    assert len(found) == 1, f"{code} {where}: {len(found)} rows"
    return found.iloc[0]


def wilson(x: float, n: float) -> tuple[float, float]:
    """The Wilson interval written out (0–100 scale)."""
    p = x / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 / (1 + Z95**2 / n) * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n))
    return 100 * max(centre - half, 0), 100 * min(centre + half, 1)


# Element TC of sipas-service, six respondents. Every other criterion is 4 (Hài lòng), so
# TT, CC, KQ and PA are 100. Respondent 6 answers only TC1–TC3: 3 of 16 < 8, invalid.
TC_CASE = {
    "TC1": [5, 4, 3, 0, None, 1],
    "TC2": [4, 4, 4, 4, 2, 1],
    "TC3": [1, 5, None, 5, 5, 1],
}


@pytest.fixture
def tc_case() -> pd.DataFrame:
    frame = wide(SERVICE, TC_CASE, fill=4)
    other = [i.code for i in SERVICE.satisfaction_items if i.code not in TC_CASE]
    frame.loc[5, other] = pd.NA  # respondent 6 answered nothing else
    return frame


def test_top2box_items_elements_and_overall_by_hand(tc_case: pd.DataFrame) -> None:
    table = score(tc_case, SERVICE).to_frame()
    # TC1: valid answers 5, 4, 3 (0 = cannot judge and empty left out; respondent 6 is
    # invalid) → 2 satisfied of 3.
    assert row(table, "TC1")["n"] == 3
    assert row(table, "TC1")["index"] == pytest.approx(100 * 2 / 3, abs=1e-12)
    # TC2: 4, 4, 4, 4, 2 → 4 of 5. TC3: 1, 5, 5, 5 → 3 of 4.
    assert row(table, "TC2")["index"] == pytest.approx(80.0, abs=1e-12)
    assert row(table, "TC3")["index"] == pytest.approx(75.0, abs=1e-12)
    tc = (200 / 3 + 80 + 75) / 3  # = 73.888…
    assert row(table, "TC")["index"] == pytest.approx(tc, abs=1e-12)
    # Element n: valid respondents who answered at least one TC item: respondents 1–5.
    assert row(table, "TC")["n"] == 5
    assert row(table, "TT")["index"] == 100.0
    sipas = (tc + 100 + 100 + 100 + 100) / 5  # = 94.777…
    assert row(table, "SIPAS")["index"] == pytest.approx(sipas, abs=1e-12)
    assert row(table, "SIPAS")["n"] == 5


def test_invalid_response_is_counted_but_not_scored(tc_case: pd.DataFrame) -> None:
    result = score(tc_case, SERVICE)
    counts = result.responses.iloc[0]
    assert (counts["received"], counts["scored"], counts["invalid"]) == (6, 5, 1)
    # Switching the validity rule off lets respondent 6's three 1s in: TC1 = 2 of 4.
    loose = score(tc_case, SERVICE, settings=ScoringSettings(drop_invalid=False)).to_frame()
    assert row(loose, "TC1")["index"] == pytest.approx(50.0)
    assert row(loose, "TC1")["n"] == 4


def test_validity_threshold_is_the_apps_rule() -> None:
    # The app decides validity at submission with questionnaires.is_valid_response; scoring
    # must agree for every number of answered criteria.
    from questionnaires import is_valid_response

    satisfaction = [i.code for i in SERVICE.satisfaction_items]
    for answered in range(len(satisfaction) + 1):
        codes = {c: (4 if k < answered else 0) for k, c in enumerate(satisfaction)}
        frame = wide(SERVICE, {c: [v] for c, v in codes.items()})
        scored = score(frame, SERVICE).responses["scored"].iloc[0]
        assert bool(scored) == is_valid_response(SERVICE, codes), answered


def test_wilson_interval_of_an_item_by_hand(tc_case: pd.DataFrame) -> None:
    table = score(tc_case, SERVICE).to_frame()
    # TC1: x = 2, n = 3.
    low, high = wilson(2, 3)
    assert row(table, "TC1")["ci_low"] == pytest.approx(low, abs=1e-9)
    assert row(table, "TC1")["ci_high"] == pytest.approx(high, abs=1e-9)
    assert low == pytest.approx(20.765, abs=1e-3)  # a number to read in the test report


def test_linearised_interval_of_an_element_by_hand(tc_case: pd.DataFrame) -> None:
    table = score(tc_case, SERVICE).to_frame()
    # Ratios (0–1) and denominators of TC1, TC2, TC3 among the 5 valid respondents.
    r = [2 / 3, 4 / 5, 3 / 4]
    d = [3, 5, 4]
    # y (satisfied) and a (answered) per respondent, from TC_CASE rows 1–5.
    y = [[1, 1, 0], [1, 1, 1], [0, 1, None], [None, 1, 1], [None, 0, 1]]
    z = []
    for answers in y:
        parts = [
            0.0 if yj is None else (yj - r[j]) / d[j]  # z_ij = (y − R·a) / Σa
            for j, yj in enumerate(answers)
        ]
        z.append(sum(parts) / 3)  # TC = mean of its 3 items
    n = 5
    se = math.sqrt(n / (n - 1) * sum(v * v for v in z))
    tc = row(table, "TC")
    assert tc["index"] - Z95 * 100 * se == pytest.approx(tc["ci_low"], abs=1e-9)
    assert tc["index"] + Z95 * 100 * se == pytest.approx(tc["ci_high"], abs=1e-9)
    # TT: every answer is 4, so the SE is 0: the interval is reported as missing.
    assert math.isnan(row(table, "TT")["ci_low"])
    assert math.isnan(row(table, "TT")["ci_high"])
    # SIPAS influence = mean over elements; only TC varies: SE(SIPAS) = SE(TC) / 5.
    sipas = row(table, "SIPAS")
    assert sipas["ci_high"] - sipas["index"] == pytest.approx(Z95 * 100 * se / 5, abs=1e-9)


def test_linearised_interval_skips_an_item_nobody_answered() -> None:
    # PA3 is "cannot judge" for everyone: PA = mean(PA1, PA2), and its influence is the
    # mean of those two items' influences only.
    frame = wide(SERVICE, {"PA1": [5, 4, 2, 1], "PA2": [4, 4, 4, 2], "PA3": [0, 0, 0, 0]}, fill=4)
    table = score(frame, SERVICE).to_frame(detail=True)
    assert row(table, "PA")["index"] == pytest.approx((50 + 75) / 2)
    r1, r2 = 2 / 4, 3 / 4
    y1, y2 = [1, 1, 0, 0], [1, 1, 1, 0]
    z = [((a - r1) / 4 + (b - r2) / 4) / 2 for a, b in zip(y1, y2, strict=True)]
    se = math.sqrt(4 / 3 * sum(v * v for v in z))
    assert row(table, "PA")["se"] == pytest.approx(100 * se, rel=1e-12)
    # And SIPAS: the other elements never vary, so SE(SIPAS) = SE(PA) / 5.
    assert row(table, "SIPAS")["se"] == pytest.approx(100 * se / 5, rel=1e-12)


def test_single_item_linearised_se_is_the_textbook_one() -> None:
    # One item, all answered: var = n/(n−1) · Σ(y − p)²/n² = p(1 − p)/(n − 1).
    codes = [5, 4, 4, 2, 1, 3, 5, 5]  # 5 satisfied of 8
    frame = wide(KIOSK, {c: codes for c in ("HL_TC", "HL_TT", "HL_CC", "HL_KQ", "HL_PA")})
    table = score(frame, KIOSK).to_frame()
    p, n = 5 / 8, 8
    se = math.sqrt(p * (1 - p) / (n - 1))
    tc = row(table, "TC")
    assert tc["ci_high"] - tc["index"] == pytest.approx(Z95 * 100 * se, abs=1e-9)


def test_missing_item_gives_nan_never_zero() -> None:
    frame = wide(
        KIOSK,
        {"HL_TC": [5, 4], "HL_TT": [4, 4], "HL_CC": [3, 4], "HL_KQ": [0, 0], "HL_PA": [None, None]},
    )
    table = score(frame, KIOSK).to_frame()
    for code in ("HL_KQ", "KQ", "HL_PA", "PA"):
        assert row(table, code)["n"] == 0
        assert math.isnan(row(table, code)["index"]), code
        assert math.isnan(row(table, code)["ci_low"]), code
    # SIPAS averages the elements that have an index (setting empty_child="skip"):
    # TC 100, TT 100, CC 50.
    assert row(table, "SIPAS")["index"] == pytest.approx(250 / 3)
    strict = score(frame, KIOSK, settings=ScoringSettings(empty_child="nan")).to_frame()
    assert math.isnan(row(strict, "SIPAS")["index"])


def test_influences_that_cancel_give_a_zero_se_not_rounding_noise() -> None:
    # Found by hypothesis. KQ and PA are answered by the same three people with opposite
    # verdicts, so KQ + PA = 100 in every resample and SIPAS = (0 + 0 + KQ + PA)/4 = 25
    # with a variance of exactly 0 — which floating point computes as ~1e-16.
    frame = wide(
        KIOSK,
        {"HL_TT": [None, 1, None], "HL_CC": [1, None, 1], "HL_KQ": [1, 4, 1], "HL_PA": [4, 1, 4]},
    )
    frame["w"] = [1.0, 1.0, 6.238281]
    table = score(
        frame, KIOSK, weights="w", settings=ScoringSettings(validity_min_share=0.2)
    ).to_frame(detail=True)
    sipas = row(table, "SIPAS")
    assert sipas["index"] == pytest.approx(25.0)
    assert sipas["se"] == 0.0
    assert math.isnan(sipas["ci_low"]) and math.isnan(sipas["ci_high"])


def test_one_respondent() -> None:
    frame = wide(
        KIOSK, {"HL_TC": [5], "HL_TT": [2], "HL_CC": [4], "HL_KQ": [4], "HL_PA": [4], "HL": [5]}
    )
    table = score(frame, KIOSK).to_frame()
    assert row(table, "SIPAS")["index"] == pytest.approx(80.0)
    assert row(table, "SIPAS")["n"] == 1
    assert math.isnan(row(table, "SIPAS")["ci_low"])  # n/(n−1) undefined at n = 1
    low, high = wilson(1, 1)  # Wilson is defined at n = 1
    assert row(table, "HL_TC")["ci_low"] == pytest.approx(low)
    assert row(table, "HL_TC")["ci_high"] == pytest.approx(high)


def test_weights_by_hand() -> None:
    frame = wide(
        KIOSK,
        {
            "HL_TC": [5, 4, 2, 1],
            "HL_TT": [5, 5, 5, 5],
            "HL_CC": [5, 5, 5, 5],
            "HL_KQ": [5, 5, 5, 5],
            "HL_PA": [5, 5, 5, 5],
            "HL": [5, 1, 1, 1],
        },
    )
    frame["weight"] = [3.0, 1.0, 1.0, 1.0]
    table = score(frame, KIOSK, weights="weight").to_frame(detail=True)
    # HL_TC satisfied: respondents 1 and 2 → Σw·y / Σw = (3 + 1) / 6.
    tc = row(table, "HL_TC")
    assert tc["index"] == pytest.approx(100 * 4 / 6)
    assert tc["n"] == 4  # n counts respondents, not weight
    # Kish: (Σw)² / Σw² = 36 / 12 = 3, and Wilson is taken at p = 2/3, n = 3.
    assert tc["n_eff"] == pytest.approx(3.0)
    low, high = wilson(2, 3)
    assert (tc["ci_low"], tc["ci_high"]) == pytest.approx((low, high))
    # HL: 3/6 = 50.
    assert row(table, "HL")["index"] == pytest.approx(50.0)
    # Element TC SE by hand: z_i = (y_i − R)/Σw, var = n/(n−1) Σ (w_i z_i)².
    r = 4 / 6
    z = [(1 - r) / 6, (1 - r) / 6, (0 - r) / 6, (0 - r) / 6]
    w = [3, 1, 1, 1]
    se = math.sqrt(4 / 3 * sum((wi * zi) ** 2 for wi, zi in zip(w, z, strict=True)))
    assert row(table, "TC")["se"] == pytest.approx(100 * se)


def test_mean_score_method_by_hand() -> None:
    frame = wide(
        KIOSK,
        {
            "HL_TC": [5, 4, 3, 0],
            "HL_TT": [1, 2, None, 2],
            "HL_CC": [5, 5, 5, 5],
            "HL_KQ": [3, 3, 3, 3],
            "HL_PA": [4, 4, 5, 5],
            "HL": [5, 4, 4, 2],
        },
    )
    result = score(frame, KIOSK, settings=ScoringSettings(method="mean_score"))
    table = result.to_frame()
    assert result.method == "mean_score"
    # HL_TC: mean code of 5, 4, 3 = 4 → (4 − 1)/4 × 100 = 75.
    assert row(table, "HL_TC")["index"] == pytest.approx(75.0)
    # HL_TT: 1, 2, 2 → 5/3 → (5/3 − 1)/4 × 100 = 16.67.
    assert row(table, "HL_TT")["index"] == pytest.approx((5 / 3 - 1) / 4 * 100)
    # CC 100, KQ 50, PA (4.5 − 1)/4 = 87.5; SIPAS = mean of the five.
    sipas = (75 + (5 / 3 - 1) / 4 * 100 + 100 + 50 + 87.5) / 5
    assert row(table, "SIPAS")["index"] == pytest.approx(sipas)
    # Mean-score items get a normal interval on the linearised SE: for HL_TC, scores
    # 1, 0.75, 0.5 (mean 0.75): var = 3/2 · Σ(s − 0.75)² / 3² = 3/2 · 0.125 / 9.
    se = math.sqrt(1.5 * 0.125 / 9)
    assert row(table, "HL_TC")["ci_low"] == pytest.approx(75 - Z95 * 100 * se)
    assert row(table, "HL_TC")["ci_high"] == 100.0  # 103.3, clipped to the scale
    # The questionnaire's own method is the default.
    assert score(frame, KIOSK).method == "top2box"


def test_cannot_judge_as_not_satisfied() -> None:
    frame = wide(
        KIOSK,
        {
            "HL_TC": [5, 4, 0, 0],
            "HL_TT": [4] * 4,
            "HL_CC": [4] * 4,
            "HL_KQ": [4] * 4,
            "HL_PA": [4] * 4,
        },
    )
    table = score(frame, KIOSK, settings=ScoringSettings(cannot_judge="not_satisfied")).to_frame()
    assert row(table, "HL_TC")["index"] == pytest.approx(50.0)  # 2 of 4
    assert row(table, "HL_TC")["n"] == 4
    default = score(frame, KIOSK).to_frame()
    assert row(default, "HL_TC")["index"] == pytest.approx(100.0)  # 2 of 2


def test_overall_question_is_beside_the_index_not_in_it() -> None:
    frame = wide(
        KIOSK, {"HL_TC": [5], "HL_TT": [5], "HL_CC": [5], "HL_KQ": [5], "HL_PA": [5], "HL": [1]}
    )
    table = score(frame, KIOSK).to_frame()
    assert row(table, "SIPAS")["index"] == 100.0
    hl = row(table, "HL")
    assert (hl["level"], hl["index"]) == ("overall_question", 0.0)


def test_sipas_2017_element_questions_are_reported_beside() -> None:
    answers = {i.code: [4, 2] for i in FORM_2017.satisfaction_items}
    answers["HL_TC"] = [1, 1]
    frame = wide(FORM_2017, answers)
    table = score(frame, FORM_2017).to_frame()
    assert row(table, "TC")["index"] == 50.0  # its 4 criteria only
    assert row(table, "HL_TC")["level"] == "element_question"
    assert row(table, "HL_TC")["index"] == 0.0
    levels = table["level"].unique().tolist()
    assert levels == ["overall", "element", "item", "overall_question", "element_question"]


def test_expectations_and_their_ranking() -> None:
    frame = wide(
        SERVICE, {"Q10_5": [4, 3, 2, 1], "Q10_6": [1, 1, 1, 3], "Q10_8": [4, 4, 4, None]}, fill=4
    )
    result = score(frame, SERVICE)
    table = result.to_frame()
    # Share answering 3 or 4 (Mong muốn, Rất mong muốn).
    assert row(table, "Q10_5")["index"] == 50.0
    assert row(table, "Q10_6")["index"] == 25.0
    assert row(table, "Q10_8")["index"] == 100.0
    assert row(table, "Q10_8")["n"] == 3
    assert row(table, "Q10_8")["level"] == "expectation"
    ranked = analysis.expectation_ranking(result).to_frame()
    assert ranked["code"].tolist()[:3] == ["Q10_8", "Q10_5", "Q10_6"]
    assert ranked["priority"].tolist()[:3] == [1, 2, 3]


def test_perceptions_as_shares() -> None:
    frame = wide(
        FORM_2023,
        {
            "Q5": [1, 1, 2, 3],  # report option 1 "Không có": 2 of 4
            "Q2_1": [1, 2, 2, None],  # multi sub-item: chosen 1 of 3 answering
            "Q4": [1, 1, 4, 2],  # no report option: one row per option
        },
        fill=4,
    )
    table = score(frame, FORM_2023).to_frame()
    assert row(table, "Q5")["index"] == 50.0
    assert row(table, "Q5")["level"] == "perception"
    assert row(table, "Q2_1")["index"] == pytest.approx(100 / 3)
    assert row(table, "Q4:1")["index"] == 50.0
    assert row(table, "Q4:4")["index"] == 25.0
    assert row(table, "Q4:3")["index"] == 0.0


def test_sipas_2023_aspects() -> None:
    answers = {i.code: [4, 4] for i in FORM_2023.satisfaction_items}
    answers["Q9_1"] = [1, 1]  # I.A = mean(0, 100) = 50
    frame = wide(FORM_2023, answers)
    table = score(frame, FORM_2023).to_frame()
    assert row(table, "I.A")["index"] == 50.0
    aspect_i = (50 + 100 + 100 + 100) / 4  # mean of I.A, I.B, I.C, I.D
    assert row(table, "I")["index"] == pytest.approx(aspect_i)
    assert row(table, "II")["index"] == 100.0
    assert row(table, "SIPAS")["index"] == pytest.approx((aspect_i + 100) / 2)
    assert row(table, "I")["level"] == "aspect"


def test_groups_min_n_and_ranks_with_ties() -> None:
    codes = {"A": [5, 4, 4, 1], "B": [4, 4, 5, 2], "C": [5, 5, 5, 5], "D": [1, 5, 5]}
    units = [u for u, v in codes.items() for _ in v]
    tc = [c for v in codes.values() for c in v]
    frame = wide(
        KIOSK, {k: tc for k in ("HL_TC", "HL_TT", "HL_CC", "HL_KQ", "HL_PA")}, unit_code=units
    )
    result = score(frame, KIOSK, by=["unit_code"], settings=ScoringSettings(min_n=4))
    ranks = analysis.rank_units(result).to_frame()
    sipas = ranks[ranks["code"] == "SIPAS"].set_index("unit_code")
    # A: 3 of 4 = 75, B: 75, C: 100 → C first, A and B tie at 2. D has n = 3 < 4.
    assert sipas.loc["C", "rank"] == 1
    assert sipas.loc["A", "rank"] == 2 and sipas.loc["B", "rank"] == 2
    assert pd.isna(sipas.loc["D", "rank"])
    assert sipas.loc["D", "status"] == "not ranked"
    assert bool(sipas.loc["D", "min_n_flag"]) is True
    assert sipas.loc["D", "index"] == pytest.approx(200 / 3)  # still shown


def test_ranks_among_a_list_of_units_only() -> None:
    codes = {"A": [5, 4, 4, 1], "B": [4, 4, 5, 2], "C": [5, 5, 5, 5]}
    units = [u for u, v in codes.items() for _ in v]
    tc = [c for v in codes.values() for c in v]
    frame = wide(
        KIOSK, {k: tc for k in ("HL_TC", "HL_TT", "HL_CC", "HL_KQ", "HL_PA")}, unit_code=units
    )
    result = score(frame, KIOSK, by=["unit_code"], settings=ScoringSettings(min_n=4))
    # C (100) did not exist in the period asked: A and B (75 each) tie for first, C is shown
    # but not ranked.
    ranks = analysis.rank_units(result, among=["A", "B"]).to_frame()
    sipas = ranks[ranks["code"] == "SIPAS"].set_index("unit_code")
    assert sipas.loc["A", "rank"] == 1 and sipas.loc["B", "rank"] == 1
    assert pd.isna(sipas.loc["C", "rank"]) and sipas.loc["C", "status"] == "not ranked"
    assert sipas.loc["C", "index"] == pytest.approx(100.0)


def test_responses_without_a_unit_are_not_ranked() -> None:
    frame = wide(KIOSK, {"HL_TC": [5, 1]}, fill=4, unit_code=["A", None])
    ranks = analysis.rank_units(
        score(frame, KIOSK, by=["unit_code"], settings=ScoringSettings(min_n=1))
    ).to_frame()
    sipas = ranks[ranks["code"] == "SIPAS"]
    assert sipas["status"].tolist() == ["ranked", "not ranked"]


def test_rank_change_against_the_previous_period() -> None:
    times = ["2025-01-10T03:00:00Z"] * 4 + ["2025-02-10T03:00:00Z"] * 4
    units = ["A", "A", "B", "B"] * 2
    tc = [5, 5, 1, 1, 1, 1, 5, 5]  # A leads in January, B in February
    frame = wide(
        KIOSK,
        {k: tc for k in ("HL_TC", "HL_TT", "HL_CC", "HL_KQ", "HL_PA")},
        unit_code=units,
        submitted_at=times,
    )
    result = score(frame, KIOSK, by=["unit_code", "period"], settings=ScoringSettings(min_n=1))
    ranks = analysis.rank_units(result).to_frame()
    feb = ranks[(ranks["code"] == "SIPAS") & (ranks["period"] == "2025-02")].set_index("unit_code")
    assert feb.loc["B", "rank"] == 1 and feb.loc["B", "rank_previous"] == 2
    assert feb.loc["B", "rank_change"] == 1  # moved up one place
    assert feb.loc["A", "rank_change"] == -1


def test_ranks_of_a_single_period_have_no_previous_rank() -> None:
    # One month only: no period before it, so every rank change is empty (not an error).
    frame = wide(
        KIOSK,
        {"HL_TC": [5, 1]},
        fill=4,
        unit_code=["A", "B"],
        submitted_at=["2025-01-10T03:00:00Z"] * 2,
    )
    result = score(frame, KIOSK, by=["unit_code", "period"], settings=ScoringSettings(min_n=1))
    ranks = analysis.rank_units(result).to_frame()
    sipas = ranks[ranks["code"] == "SIPAS"].set_index("unit_code")
    assert sipas["rank"].tolist() == [1, 2]
    assert sipas["rank_change"].isna().all()


def test_periods_are_local_vietnam_time() -> None:
    # 2025-03-31T20:00Z is 2025-04-01 03:00 in Hà Nội: April, Q2.
    times = ["2025-03-31T20:00:00Z", "2025-03-31T16:59:59Z", "2024-12-31T17:00:00+00:00"]
    frame = wide(KIOSK, {"HL_TC": [5, 4, 3]}, fill=4, submitted_at=times)
    months = score(frame, KIOSK, by=["period"]).to_frame()
    assert months["period"].unique().tolist() == ["2025-01", "2025-03", "2025-04"]
    quarters = score(frame, KIOSK, by=["period"], period="quarter").to_frame()
    assert quarters["period"].unique().tolist() == ["2025-Q1", "2025-Q2"]
    years = score(frame, KIOSK, by=["period"], period="year").to_frame()
    assert years["period"].unique().tolist() == ["2025"]
    utc = score(frame, KIOSK, by=["period"], timezone="UTC").to_frame()
    assert utc["period"].unique().tolist() == ["2024-12", "2025-03"]


def test_custom_periods_may_overlap() -> None:
    times = ["2025-01-15T03:00:00Z", "2025-05-15T03:00:00Z", "2025-08-15T03:00:00Z"]
    frame = wide(KIOSK, {"HL_TC": [5, 1, 5]}, fill=4, submitted_at=times)
    ranges = [
        analysis.PeriodRange("6 tháng đầu năm", "2025-01-01", "2025-06-30"),
        ("Năm 2025", "2025-01-01", "2025-12-31"),
    ]
    table = score(frame, KIOSK, by=["period"], period=ranges).to_frame()
    assert row(table, "HL_TC", period="6 tháng đầu năm")["index"] == 50.0
    assert row(table, "HL_TC", period="Năm 2025")["index"] == pytest.approx(200 / 3)


def test_unit_roll_up_pools_the_units_below() -> None:
    tree = pd.DataFrame(
        {
            "unit_code": ["P", "D1", "D2", "C1", "C2", "TTHC"],
            "parent_code": [None, "P", "P", "D1", "D1", "D2"],
        }
    )
    units = ["C1", "C1", "C2", "TTHC", "D1"]
    tc = [5, 1, 5, 1, 5]
    frame = wide(KIOSK, {"HL_TC": tc}, fill=4, unit_code=units)
    table = score(frame, KIOSK, by=["unit_code"], units=tree).to_frame()
    # C1: 1 of 2; C2: 1 of 1; D1 = C1 + C2 + D1's own: 3 of 4; D2 = TTHC: 0 of 1;
    # P = everyone: 3 of 5.
    expected = {"C1": 50.0, "C2": 100.0, "D1": 75.0, "D2": 0.0, "TTHC": 0.0, "P": 60.0}
    for unit, value in expected.items():
        assert row(table, "HL_TC", unit_code=unit)["index"] == pytest.approx(value), unit
    assert row(table, "TC", unit_code="P")["n"] == 5


def test_demographic_and_channel_breakdowns_combined() -> None:
    # sipas-kiosk asks no demographics; any column can be a breakdown all the same.
    frame = wide(
        KIOSK,
        {"HL_TC": [5, 1, 5, 5, 1]},
        fill=4,
        channel=["qr", "qr", "qr", "kiosk", "kiosk"],
        GENDER=pd.array([1, 1, 2, None, 2], dtype="Int64"),
    )
    table = score(frame, KIOSK, by=["channel", "GENDER"]).to_frame()
    tc = table[table["code"] == "HL_TC"].set_index(["channel", "GENDER"])["index"]
    # kiosk: GENDER 2 → 0 of 1; not stated → 1 of 1. qr: GENDER 1 → 1 of 2; 2 → 1 of 1.
    assert tc.to_dict() == {
        ("kiosk", 2): 0.0,
        ("kiosk", pd.NA): 100.0,
        ("qr", 1): 50.0,
        ("qr", 2): 100.0,
    }


def test_flags_and_officer_exclusions() -> None:
    frame = wide(
        KIOSK,
        {"HL_TC": [5, 1, 1, 5]},
        fill=4,
        flags=[None, "too_fast", "too_fast;over_rate", ""],
        valid=["1", "1", "1", "0"],
    )

    def tc(settings: ScoringSettings) -> float:
        return float(row(score(frame, KIOSK, settings=settings).to_frame(), "HL_TC")["index"])

    # Default: flagged responses count; valid = 0 (invalid or excluded by an officer) does not.
    assert tc(ScoringSettings()) == pytest.approx(100 / 3)
    assert tc(ScoringSettings(exclude_flags={"over_rate"})) == pytest.approx(50.0)
    assert tc(ScoringSettings(exclude_flags={analysis.ANY_FLAG})) == 100.0
    assert tc(ScoringSettings(honour_valid_column=False)) == 50.0
    counts = score(frame, KIOSK, settings=ScoringSettings(exclude_flags={"*"})).responses
    assert counts[["received", "scored", "marked_not_valid", "flagged", "flag_excluded"]].iloc[
        0
    ].tolist() == [4, 1, 1, 2, 2]


def test_targets_gap_and_par_points() -> None:
    frame = wide(
        KIOSK,
        {k: [5, 5, 5, 2, 5, 2] for k in ("HL_TC", "HL_TT", "HL_CC", "HL_KQ", "HL_PA")},
        unit_code=["X", "X", "Y", "Y", "Z", "Z"],
    )
    result = score(frame, KIOSK, by=["unit_code"])
    plan = pd.DataFrame(
        {
            "unit_code": ["*", "Y", "X"],
            "index": ["SIPAS", "SIPAS", "TC"],
            "period": ["", "", ""],
            "target": [85, 40, 99.5],
        }
    )
    joined = analysis.join_targets(result, plan).to_frame().set_index(["unit_code", "code"])
    # X: SIPAS 100 vs the "*" target 85 → gap 15; TC 100 vs 99.5 → 0.5.
    assert joined.loc[("X", "SIPAS"), "gap"] == 15.0
    assert joined.loc[("X", "TC"), "gap"] == 0.5
    # Y has its own target 40, which beats "*": 50 − 40 = 10.
    assert joined.loc[("Y", "SIPAS"), "target"] == 40.0
    assert joined.loc[("Z", "SIPAS"), "gap"] == -35.0
    assert not joined.loc[("Z", "SIPAS"), "met"]
    points = analysis.par_index_points(result, max_points=2.0).to_frame()
    assert points["points"].tolist() == [2.0, 1.0, 1.0]  # 100, 50, 50 % of 2 points


def test_required_sample_size_by_hand() -> None:
    # n = N / (1 + N·0.05²): 500 / 2.25 = 222.2 → 223; 10000 / 26 = 384.6 → 385;
    # 400 / 2 = 200 exactly.
    assert analysis.required_sample_size([500, 10000, 400]).tolist() == [223, 385, 200]
    assert analysis.required_sample_size([500], margin=0.1).tolist() == [84]  # 500/6


def test_sample_plan() -> None:
    frame = wide(KIOSK, {"HL_TC": [5] * 6}, fill=4, unit_code=["X"] * 4 + ["Y"] * 2)
    frame.loc[5, ["HL_TC", "HL_TT", "HL_CC", "HL_KQ", "HL_PA"]] = pd.NA  # answers nothing
    result = score(frame, KIOSK, by=["unit_code"])
    plan = (
        analysis.sample_plan(
            result, pd.DataFrame({"unit_code": ["X", "Y"], "transactions": [20, 2]})
        )
        .to_frame()
        .set_index("unit_code")
    )
    # X: 20/(1 + 20·0.0025) = 19.05 → 20 required, 4 achieved, rate 4/20.
    assert plan.loc["X", "required_n"] == 20
    assert plan.loc["X", "achieved_n"] == 4
    assert plan.loc["X", "response_rate"] == pytest.approx(0.2)
    assert plan.loc["X", "shortfall"] == 16
    # Y: received 2 (rate 1.0), one valid.
    assert (plan.loc["Y", "received"], plan.loc["Y", "achieved_n"]) == (2, 1)


def test_inputs_are_not_modified(tc_case: pd.DataFrame) -> None:
    before = tc_case.copy(deep=True)
    tc_case["unit_code"] = ["A", "A", "B", "B", "B", "A"]
    before["unit_code"] = ["A", "A", "B", "B", "B", "A"]
    result = score(tc_case, SERVICE, by=["unit_code"])
    analysis.count_table(tc_case, SERVICE, by=["unit_code"])
    analysis.drivers(tc_case.assign(HL=[5, 4, 3, 2, 1, 5]), SERVICE, by=["unit_code"])
    pd.testing.assert_frame_equal(tc_case, before)
    frame = result.to_frame()
    frame.loc[:, "index"] = -1.0  # a caller's edits never reach the result
    assert (result.to_frame()["index"].dropna() >= 0).all()


def test_results_are_frozen(tc_case: pd.DataFrame) -> None:
    result = score(tc_case, SERVICE)
    with pytest.raises(AttributeError):
        result.method = "mean_score"  # type: ignore[misc]


def test_drivers_by_hand() -> None:
    # HL_TC moves with HL exactly (rho 1); HL_CC does not vary with it (rho 0).
    frame = wide(
        KIOSK,
        {
            "HL_TC": [1, 2, 4, 5],
            "HL_TT": [5, 5, 5, 4],
            "HL_CC": [4, 2, 2, 4],
            "HL_KQ": [2, 2, 4, 4],
            "HL_PA": [1, 1, 1, 1],
            "HL": [1, 2, 4, 5],
        },
    )
    view = analysis.drivers(frame, KIOSK).to_frame().set_index("item")
    assert view.loc["HL_TC", "importance"] == pytest.approx(1.0)
    assert view.loc["HL_CC", "importance"] == pytest.approx(0.0)
    assert math.isnan(view.loc["HL_PA", "importance"])  # constant: no correlation
    # The crosshair is the mean over the criteria that have both values (PA has no
    # importance): performance (50 + 100 + 50 + 50)/4 = 62.5; importance mean of the four
    # rhos (1, −0.77, 0, 0.89) = 0.28.
    assert view.loc["HL_TC", "quadrant"] == "fix_first"  # important, below the mean
    assert view.loc["HL_CC", "quadrant"] == "low_priority"
    assert view.loc["HL_TC", "priority"] == 1


def test_no_overall_question_for_drivers_is_an_analysis_error() -> None:
    frame = wide(FORM_2023, {}, fill=4, n=2)
    with pytest.raises(analysis.AnalysisError, match="no overall question"):
        analysis.drivers(frame, FORM_2023)


def test_every_level_appears_in_reading_order() -> None:
    table = score(wide(SERVICE, {}, fill=4, n=3), SERVICE).to_frame()
    assert table["code"].tolist()[:6] == ["SIPAS", "TC", "TC1", "TC2", "TC3", "TT"]
    assert table["level"].unique().tolist() == [
        "overall",
        "element",
        "item",
        "overall_question",
        "expectation",
    ]
    assert list(table.columns) == [
        "level",
        "code",
        "label_vi",
        "n",
        "index",
        "ci_low",
        "ci_high",
        "min_n_flag",
    ]
    assert np.isnan(row(table, "Q10_5")["index"])  # nobody answered the optional part
