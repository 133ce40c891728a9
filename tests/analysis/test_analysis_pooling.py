"""The all-channel SIPAS (analysis.pool_forms) against hand-worked examples.

Every expected number below is worked by hand in the comment above it (tolerance 1e-9 unless
said): the rule is README.md "All-channel SIPAS".
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

import analysis
import questionnaires
from analysis import PoolingSettings, pool_forms


def tidy(rows: list[tuple[str, str, int, float, float]], period: str | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["level", "code", "n", "index", "se"]).assign(
        label_vi=lambda t: t["code"]
    )
    return frame.assign(period=period) if period else frame


SERVICE = tidy(
    [
        ("overall", "SIPAS", 40, 72.0, 3.0),
        ("element", "TC", 40, 80.0, 4.0),
        ("element", "TT", 40, 70.0, 5.0),
        ("element", "CC", 40, 60.0, 6.0),
        ("element", "KQ", 40, 75.0, 4.0),
        ("element", "PA", 40, 75.0, 5.0),
        ("overall_question", "HL", 40, 75.0, math.nan),
    ]
)
KIOSK = tidy(
    [
        ("overall", "SIPAS", 10, 56.0, 8.0),
        ("element", "TC", 10, 60.0, 10.0),
        ("element", "TT", 10, 50.0, 10.0),
        ("element", "CC", 10, 40.0, 10.0),
        ("element", "KQ", 10, 70.0, 10.0),
        ("element", "PA", 10, 60.0, 10.0),
        ("overall_question", "HL", 10, 50.0, math.nan),
    ]
)


def row(table: pd.DataFrame, code: str) -> pd.Series:
    return table[table["code"] == code].iloc[0]


def test_respondent_weighting_by_hand() -> None:
    t = pool_forms({"sipas-service": SERVICE, "sipas-kiosk": KIOSK}).table
    # Weights 40/50 = 0.8 and 10/50 = 0.2 on every element.
    # TC: 0.8·80 + 0.2·60 = 76; SE √((0.8·4)² + (0.2·10)²) = √(10.24 + 4) = √14.24.
    tc = row(t, "TC")
    assert tc["index"] == pytest.approx(76.0, abs=1e-9)
    assert tc["se"] == pytest.approx(math.sqrt(14.24), abs=1e-9)
    assert int(tc["n"]) == 50 and tc["forms"] == 2
    z = 1.959963984540054
    assert tc["ci_low"] == pytest.approx(76 - z * math.sqrt(14.24), abs=1e-9)
    # Elements: TT 0.8·70+0.2·50 = 66; CC 48+8 = 56; KQ 60+14 = 74; PA 60+12 = 72.
    assert [row(t, c)["index"] for c in ("TT", "CC", "KQ", "PA")] == pytest.approx(
        [66.0, 56.0, 74.0, 72.0], abs=1e-9
    )
    # SIPAS = (76 + 66 + 56 + 74 + 72) / 5 = 344 / 5 = 68.8 (= 0.8·72 + 0.2·56 = 68.8 as well).
    sipas = row(t, "SIPAS")
    assert sipas["index"] == pytest.approx(68.8, abs=1e-9)
    # SE: √((0.8·3)² + (0.2·8)²) = √(5.76 + 2.56) = √8.32.
    assert sipas["se"] == pytest.approx(math.sqrt(8.32), abs=1e-9)
    assert int(sipas["n"]) == 50
    # HL pooled as one item: (40·75 + 10·50) / 50 = 70 on n = 50. Wilson 95%, z = 1.96:
    # centre (0.7 + z²/100) / (1 + z²/50) = 0.68573,
    # half-width z·√(0.21/50 + z²/10000) / (1 + z²/50) = 0.12324 → 56.25–80.90).
    hl = row(t, "HL")
    assert hl["index"] == pytest.approx(70.0, abs=1e-9)
    assert int(hl["n"]) == 50
    assert (hl["ci_low"], hl["ci_high"]) == pytest.approx((56.25, 80.90), abs=0.01)


def test_equal_weighting_by_hand() -> None:
    s = PoolingSettings(weighting="equal")
    t = pool_forms({"sipas-service": SERVICE, "sipas-kiosk": KIOSK}, settings=s).table
    # TC: (80 + 60) / 2 = 70; SE √((0.5·4)² + (0.5·10)²) = √29.
    assert row(t, "TC")["index"] == pytest.approx(70.0, abs=1e-9)
    assert row(t, "TC")["se"] == pytest.approx(math.sqrt(29), abs=1e-9)
    # SIPAS = (72 + 56) / 2 = 64; SE √((0.5·3)² + (0.5·8)²) = √18.25.
    assert row(t, "SIPAS")["index"] == pytest.approx(64.0, abs=1e-9)
    assert row(t, "SIPAS")["se"] == pytest.approx(math.sqrt(18.25), abs=1e-9)
    # HL stays one item: 70, whatever the weighting.
    assert row(t, "HL")["index"] == pytest.approx(70.0, abs=1e-9)


def test_a_form_missing_in_a_group_and_an_element_without_answers() -> None:
    # Period 05: both forms; period 06: kiosk only, and its PA unanswered.
    service = SERVICE.assign(period="2026-05")
    kiosk = pd.concat(
        [KIOSK.assign(period="2026-05"), KIOSK[KIOSK["code"] != "PA"].assign(period="2026-06")]
    )
    t = pool_forms({"sipas-service": service, "sipas-kiosk": kiosk}, by=["period"]).table
    june = t[t["period"] == "2026-06"]
    # June is the kiosk alone: TC 60 (weight 1), and PA has no index.
    assert row(june, "TC")["index"] == pytest.approx(60.0)
    assert row(june, "TC")["forms"] == 1
    assert math.isnan(row(june, "PA")["index"]) and int(row(june, "PA")["n"]) == 0
    # SIPAS over the 4 elements with an index: (60 + 50 + 40 + 70) / 4 = 55.
    assert row(june, "SIPAS")["index"] == pytest.approx(55.0)
    may = t[t["period"] == "2026-05"]
    assert row(may, "SIPAS")["index"] == pytest.approx(68.8)


def test_parts_record_each_forms_weight() -> None:
    result = pool_forms({"sipas-service": SERVICE, "sipas-kiosk": KIOSK})
    parts = result.parts.set_index(["form", "code"])
    assert parts.loc[("sipas-kiosk", "TC"), "weight"] == pytest.approx(0.2)
    assert parts.loc[("sipas-service", "SIPAS"), "weight"] == pytest.approx(0.8)
    assert parts.loc[("sipas-kiosk", "HL"), "weight"] == pytest.approx(0.2)


def test_single_form_gives_back_its_own_indices() -> None:
    t = pool_forms({"sipas-service": SERVICE}).table
    for code, value in (("SIPAS", 72.0), ("TC", 80.0), ("HL", 75.0)):
        assert row(t, code)["index"] == pytest.approx(value)
    assert row(t, "SIPAS")["se"] == pytest.approx(3.0)


def test_real_scores_pool_like_the_hand_rule() -> None:
    """On analysis.score output: kiosk answers are element questions (HL_TC → TC)."""
    service_q = questionnaires.get("sipas-service")
    kiosk_q = questionnaires.get("sipas-kiosk")
    items = [i for i in service_q.items.values() if i.role == "satisfaction"]
    s_rows = [{**{i.code: 5 for i in items}, "HL": 5}, {**{i.code: 2 for i in items}, "HL": 4}]
    k_codes = [i.code for i in kiosk_q.items.values() if i.role == "satisfaction"]
    k_rows = [{c: 4 for c in k_codes} | {"HL": 2}] * 2
    s_frame = pd.DataFrame(s_rows).reindex(columns=list(service_q.items))
    k_frame = pd.DataFrame(k_rows).reindex(columns=list(kiosk_q.items))
    service = analysis.score(s_frame, service_q).to_frame(detail=True)
    kiosk = analysis.score(k_frame, kiosk_q).to_frame(detail=True)
    t = pool_forms({"sipas-service": service, "sipas-kiosk": kiosk}).table
    # Service: every element 50 (one of two satisfied) on 2; kiosk: every element 100 on 2.
    # Each element: 0.5·50 + 0.5·100 = 75; SIPAS 75; HL (2·100 + 2·0)/4 = 50.
    assert row(t, "SIPAS")["index"] == pytest.approx(75.0)
    assert row(t, "TC")["index"] == pytest.approx(75.0)
    assert row(t, "HL")["index"] == pytest.approx(50.0)
    assert int(row(t, "SIPAS")["n"]) == 4


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one form"):
        pool_forms({})
    with pytest.raises(ValueError, match="lacks the column"):
        pool_forms({"x": SERVICE.drop(columns="se")})
    with pytest.raises(analysis.AnalysisError, match="none of the elements"):
        pool_forms({"x": tidy([("element", "I.A", 5, 50.0, 1.0)])})
    with pytest.raises(ValueError, match="weighting"):
        PoolingSettings(weighting="by_size")  # type: ignore[arg-type]
