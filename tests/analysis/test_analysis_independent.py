"""Numbers checked against independent implementations, with the tolerance stated in each."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from analysis_frames import SERVICE, random_wide
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

import analysis
from analysis import ScoringSettings, score

SATISFACTION = [i.code for i in SERVICE.satisfaction_items]
ELEMENTS = {node.code: node.items for node in SERVICE.index.children}


def item_counts(frame: pd.DataFrame, item: str) -> tuple[int, int]:
    """(satisfied, answered) of one item, counted with pandas: codes 4–5 over 1–5."""
    codes = frame[item]
    answered = int(codes.between(1, 5).sum())
    return int(codes.isin([4, 5]).sum()), answered


def scored_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The validity rule written independently: ≥ 8 of 16 criteria answered with 1–5."""
    answered = frame[SATISFACTION].apply(lambda c: c.between(1, 5)).sum(axis=1)
    return frame[answered >= 8]


def test_wilson_equals_statsmodels_exactly() -> None:
    # Tolerance: none. The arithmetic mirrors statsmodels step by step.
    x = np.arange(0, 201)
    for n in (1, 2, 7, 30, 200):
        xs = x[x <= n]
        low, high = analysis.wilson_interval(xs, n)
        sm_low, sm_high = proportion_confint(xs, n, alpha=0.05, method="wilson")
        np.testing.assert_array_equal(low, sm_low)
        np.testing.assert_array_equal(high, sm_high)
    low, high = analysis.wilson_interval(17, 40, confidence=0.9)
    assert (low, high) == proportion_confint(17, 40, alpha=0.1, method="wilson")


def test_item_rows_equal_statsmodels_wilson(rng: np.random.Generator) -> None:
    # Through score(): item index and interval vs counts made with pandas and statsmodels'
    # Wilson × 100. Tolerance: exact equality.
    frame = random_wide(rng, 500)
    table = score(frame, SERVICE, by=["unit_code"]).to_frame()
    valid = scored_rows(frame)
    for unit, rows in valid.groupby("unit_code"):
        for item in [*SATISFACTION, "HL"]:
            x, n = item_counts(rows, item)
            got = table[(table["unit_code"] == unit) & (table["code"] == item)].iloc[0]
            low, high = proportion_confint(x, n, method="wilson")
            assert got["n"] == n
            assert got["index"] == 100 * (x / n)
            assert got["ci_low"] == 100 * low
            assert got["ci_high"] == 100 * high


def test_two_proportion_test_equals_statsmodels(rng: np.random.Generator) -> None:
    # Item changes between units vs proportions_ztest on the same counts. Tolerance: 1e-12.
    frame = random_wide(rng, 600, units=("A", "B"))
    result = score(frame, SERVICE, by=["unit_code"])
    change = analysis.compare(result, "unit_code", base="A").to_frame()
    valid = scored_rows(frame)
    a, b = valid[valid["unit_code"] == "A"], valid[valid["unit_code"] == "B"]
    for item in SATISFACTION:
        (xb, nb), (xa, na) = item_counts(b, item), item_counts(a, item)
        z, p = proportions_ztest([xb, xa], [nb, na])
        got = change[change["code"] == item].iloc[0]
        assert got["z"] == pytest.approx(z, rel=1e-12)
        assert got["p_value"] == pytest.approx(p, rel=1e-12)


def test_holm_equals_statsmodels(rng: np.random.Generator) -> None:
    # Tolerance: 1e-15 absolute (both are a few multiplications and a running maximum).
    p = rng.uniform(0, 0.2, 40)
    p[[3, 17]] = np.nan
    ours = analysis.holm(p)
    finite = ~np.isnan(p)
    theirs = multipletests(p[finite], method="holm")[1]
    np.testing.assert_allclose(ours[finite], theirs, rtol=0, atol=1e-15)
    assert np.isnan(ours[~finite]).all()


def test_holm_through_compare(rng: np.random.Generator) -> None:
    frame = random_wide(rng, 600, units=("A", "B", "C"))
    change = analysis.compare(
        score(frame, SERVICE, by=["unit_code"]), "unit_code", base="A", holm_correction=True
    ).to_frame()
    p = change["p_value"].to_numpy(dtype=float)
    finite = ~np.isnan(p)
    theirs = multipletests(p[finite], method="holm")[1]
    np.testing.assert_allclose(
        change["p_holm"].to_numpy(dtype=float)[finite], theirs, rtol=0, atol=1e-15
    )


def test_spearman_equals_scipy(rng: np.random.Generator) -> None:
    # Importance from joint frequency tables vs scipy.stats.spearmanr on the pairwise
    # complete rows of each unit. Tolerance: 1e-12 relative.
    frame = random_wide(rng, 900)
    frame["HL"] = frame["HL"].mask(frame["HL"] == 0)  # HL has no "cannot judge"
    view = analysis.drivers(frame, SERVICE, by=["unit_code"]).to_frame()
    valid = scored_rows(frame)
    for unit, rows in valid.groupby("unit_code"):
        for item in SATISFACTION:
            both = rows[rows[item].between(1, 5) & rows["HL"].between(1, 5)]
            expected = stats.spearmanr(both[item].astype(float), both["HL"].astype(float))
            got = view[(view["unit_code"] == unit) & (view["item"] == item)].iloc[0]
            assert got["n_pairs"] == len(both)
            assert got["importance"] == pytest.approx(expected.statistic, rel=1e-12)


def direct_linearised_se(rows: pd.DataFrame, weights: np.ndarray | None = None) -> dict:
    """Node SEs written out per respondent with pandas, the way R's survey linearises a
    ratio (ids = ~1): z_ij = (y_ij − R_j a_ij)/Σ w a_j, node z = mean of the children's z,
    var = n/(n − 1) Σ (w z)² with n the respondents contributing to the node."""
    w = np.ones(len(rows)) if weights is None else weights
    z_item = {}
    for item in SATISFACTION:
        a = rows[item].between(1, 5).fillna(False).to_numpy(dtype=float)
        y = rows[item].isin([4, 5]).fillna(False).to_numpy(dtype=float)
        ratio = (w * y).sum() / (w * a).sum()
        z_item[item] = (y - ratio * a) / (w * a).sum()
    se, z_element = {}, {}
    for element, items in ELEMENTS.items():
        z_element[element] = sum(z_item[i] for i in items) / len(items)
        n = int(rows[list(items)].apply(lambda c: c.between(1, 5)).any(axis=1).sum())
        se[element] = math.sqrt(n / (n - 1) * ((w * z_element[element]) ** 2).sum())
    z = sum(z_element.values()) / len(z_element)
    n = int(rows[SATISFACTION].apply(lambda c: c.between(1, 5)).any(axis=1).sum())
    se["SIPAS"] = math.sqrt(n / (n - 1) * ((w * z) ** 2).sum())
    return {k: 100 * v for k, v in se.items()}


@pytest.mark.parametrize("weighted", [False, True])
def test_linearised_se_equals_a_direct_implementation(
    rng: np.random.Generator, weighted: bool
) -> None:
    # Tolerance: 1e-9 relative (the same formula, computed per respondent in pandas).
    frame = random_wide(rng, 800)
    frame["w"] = rng.gamma(3.0, 1.0, len(frame)) if weighted else 1.0
    table = score(frame, SERVICE, by=["unit_code"], weights="w").to_frame(detail=True)
    valid = scored_rows(frame)
    for unit, rows in valid.groupby("unit_code"):
        expected = direct_linearised_se(rows, rows["w"].to_numpy())
        for code, se in expected.items():
            got = table[(table["unit_code"] == unit) & (table["code"] == code)].iloc[0]
            assert got["se"] == pytest.approx(se, rel=1e-9), (unit, code)


def bootstrap_se(
    rows: pd.DataFrame, weights: np.ndarray, method: str, replicates: int, seed: int
) -> dict[str, float]:
    """Respondent bootstrap: resample respondents with replacement (multinomial counts as
    frequency weights), recompute every index, take the SD over replicates."""
    n = len(rows)
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=replicates)
    fw = counts * weights[None, :]  # replicate × respondent weights
    item_index = {}
    for item in SATISFACTION:
        codes = rows[item].to_numpy(dtype=float, na_value=np.nan)
        a = ((codes >= 1) & (codes <= 5)).astype(float)
        if method == "top2box":
            y = ((codes >= 4) & (codes <= 5)).astype(float)
        else:
            y = np.where(a > 0, (codes - 1) / 4, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            item_index[item] = 100 * (fw @ y) / (fw @ a)
    element = {e: np.mean([item_index[i] for i in items], axis=0) for e, items in ELEMENTS.items()}
    overall = np.mean(list(element.values()), axis=0)
    out = {e: float(np.nanstd(v, ddof=1)) for e, v in element.items()}
    out["SIPAS"] = float(np.std(overall, ddof=1))
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "weighted"), [("top2box", False), ("top2box", True), ("mean_score", False)]
)
def test_linearised_se_agrees_with_a_respondent_bootstrap(
    rng: np.random.Generator, method: str, weighted: bool
) -> None:
    # Tolerance: each linearised SE within 10% of the bootstrap SE, B = 4000 replicates
    # (Monte Carlo error of a bootstrap SE ≈ 1/√(2B) ≈ 1.1%), 500 respondents, fixed seed.
    frame = random_wide(rng, 500, units=("A",), missing=0.05, cannot_judge=0.15)
    frame["w"] = rng.gamma(2.0, 1.0, len(frame)) if weighted else 1.0
    settings = ScoringSettings(method=method, drop_invalid=False)  # type: ignore[arg-type]
    table = score(frame, SERVICE, weights="w", settings=settings).to_frame(detail=True)
    boot = bootstrap_se(frame, frame["w"].to_numpy(), method, replicates=4000, seed=7)
    for code, expected in boot.items():
        got = table.loc[table["code"] == code, "se"].iloc[0]
        assert got == pytest.approx(expected, rel=0.10), code


def test_index_changes_use_the_linearised_ses(rng: np.random.Generator) -> None:
    # Node changes: z = ΔI / √(SE₁² + SE₂²), two-sided normal p (scipy). Tolerance: 1e-12.
    frame = random_wide(rng, 700, units=("A", "B"))
    result = score(frame, SERVICE, by=["unit_code"])
    detail = result.to_frame(detail=True).set_index(["unit_code", "code"])
    change = analysis.compare(result, "unit_code", base="A").to_frame().set_index("code")
    for code in ("SIPAS", "TC", "PA"):
        (ia, sa), (ib, sb) = (detail.loc[(u, code), ["index", "se"]] for u in ("A", "B"))
        z = (ib - ia) / math.sqrt(sa**2 + sb**2)
        assert change.loc[code, "z"] == pytest.approx(z, rel=1e-12)
        assert change.loc[code, "p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-12)
