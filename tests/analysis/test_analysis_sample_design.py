"""The sample plan's mathematics: required n per stratum, allocation, and the seeded draw."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analysis_frames import SERVICE, Z95
from scipy import optimize

from analysis import (
    DataError,
    allocate,
    draw_sample,
    margin_sample_size,
    required_sample_size,
    score,
    stratum_sample_sizes,
)

STRATA = pd.DataFrame(
    {
        "stratum": ["Ninh Hòa", "Vạn Ninh", "Cam Lâm", "Khánh Sơn", "Trường Sa"],
        "population": [24000, 9000, 6000, 1200, 150],
        "p": [0.92, 0.75, 0.55, 0.6, 0.5],
    }
)


def variance(n: np.ndarray, sizes: np.ndarray, p: np.ndarray) -> float:
    """V(n) of the province's share under stratified SRS, written out here."""
    w = sizes / sizes.sum()
    s2 = sizes / (sizes - 1) * p * (1 - p)
    return float(np.sum(w**2 * (1 - n / sizes) * s2 / n))


def test_required_n_by_the_ministry_and_by_a_margin() -> None:
    sizes = np.array([1000, 250, 50000])
    assert stratum_sample_sizes(sizes).tolist() == required_sample_size(sizes).tolist()
    # Cochran with fpc, by hand: n0 = 1.959964² · 0.25 / 0.05² = 384.146; N = 1000:
    # 384.146 / (1 + 383.146/1000) = 277.74 → 278.
    n0 = Z95**2 * 0.25 / 0.05**2
    assert margin_sample_size([1000]).tolist() == [int(np.ceil(n0 / (1 + (n0 - 1) / 1000)))]
    assert margin_sample_size([1000]).tolist() == [278]
    # A design effect of 2 doubles n0; p = 0.9 needs fewer; N small caps at N.
    assert margin_sample_size([10**9], deff=2.0).tolist() == [int(np.ceil(2 * n0))]
    assert margin_sample_size([10**9], p=0.9).tolist() == [int(np.ceil(Z95**2 * 0.09 / 0.0025))]
    assert margin_sample_size([5], margin=0.01).tolist() == [5]
    with pytest.raises(ValueError, match="margin must be between 0 and 1"):
        margin_sample_size([100], margin=5)
    with pytest.raises(ValueError, match="rule must be ministry or margin"):
        stratum_sample_sizes([100], rule="guess")  # type: ignore[arg-type]


@pytest.mark.parametrize("minimum", [0, 120])
def test_neyman_allocation_minimises_the_province_margin(minimum: int) -> None:
    sizes = STRATA["population"].to_numpy(dtype=float)
    p = STRATA["p"].to_numpy()
    total = 1500
    low = np.maximum(np.minimum(minimum, sizes), 2)
    # An independent optimum: SLSQP on V(n) under Σ n = total, low_h ≤ n_h ≤ N_h.
    best = optimize.minimize(
        lambda n: 1e6 * variance(n, sizes, p),  # scaled so the solver's tolerances bite
        x0=np.full(len(sizes), total / len(sizes)),
        method="SLSQP",
        bounds=list(zip(low, sizes, strict=True)),
        constraints=[{"type": "eq", "fun": lambda n: n.sum() - total}],
        options={"ftol": 1e-16, "maxiter": 500},
    )
    assert best.success
    neyman = allocate(STRATA, total, method="neyman", p="p", minimum=minimum)
    result = neyman.to_frame()
    assert result["n"].sum() == total
    assert (result["n"] >= np.minimum(minimum, sizes)).all()
    assert np.abs(result["n"].to_numpy() - best.x).max() < 1.0  # rounding only
    for other in ("equal", "proportional"):
        margin = allocate(STRATA, total, method=other, p="p", minimum=minimum).province_margin
        assert neyman.province_margin < margin
    # The margin reported is z·√V, V written out above.
    expected = Z95 * np.sqrt(variance(result["n"].to_numpy(dtype=float), sizes, p))
    assert neyman.province_margin == pytest.approx(expected, rel=1e-12)


def test_equal_and_proportional_allocations_by_hand() -> None:
    strata = pd.DataFrame({"stratum": ["A", "B", "C"], "population": [600, 300, 100]})
    assert allocate(strata, 100, method="proportional").to_frame()["n"].tolist() == [60, 30, 10]
    assert allocate(strata, 100, method="equal").to_frame()["n"].tolist() == [34, 33, 33]
    # Equal shares beyond a stratum's size: it is taken whole, the rest shared again.
    assert allocate(strata, 500, method="equal").to_frame()["n"].tolist() == [200, 200, 100]
    table = allocate(strata, 100, method="proportional").to_frame()
    # Stratum A: z·√((1 − 60/600)·600/599·0.25/60).
    a = Z95 * np.sqrt((1 - 60 / 600) * 600 / 599 * 0.25 / 60)
    assert table["margin"].iloc[0] == pytest.approx(a, rel=1e-12)


@pytest.mark.parametrize(
    ("strata", "total", "message"),
    [
        (pd.DataFrame({"stratum": ["A", "A"], "population": [5, 6]}), 3, "row 1.*listed twice"),
        (pd.DataFrame({"stratum": ["A", "B"], "population": [5, 0]}), 3, "row 1.*not a whole"),
        (pd.DataFrame({"stratum": ["A"], "population": [-2]}), 1, "row 0.*not a whole number"),
    ],
)
def test_bad_strata_are_refused(strata: pd.DataFrame, total: int, message: str) -> None:
    with pytest.raises(DataError, match=message):
        allocate(strata, total)


def test_a_sample_larger_than_the_population_is_refused() -> None:
    with pytest.raises(ValueError, match="more than the population"):
        allocate(pd.DataFrame({"stratum": ["A"], "population": [5]}), 6)
    with pytest.raises(ValueError, match="cannot give every stratum its minimum 30"):
        allocate(pd.DataFrame({"stratum": ["A", "B"], "population": [500, 500]}), 50, minimum=30)


def household_frame(rng: np.random.Generator) -> pd.DataFrame:
    """Communes → villages of unequal size → households."""
    rows = []
    for commune, villages in {"C1": 9, "C2": 5, "C3": 3}.items():
        for v in range(villages):
            for h in range(int(rng.integers(15, 60))):
                rows.append(
                    {"household": f"{commune}-{v}-{h}", "commune": commune, "village": f"V{v}"}
                )
    return pd.DataFrame(rows)


def test_the_draw_is_reproducible_and_independent_of_row_order(rng: np.random.Generator) -> None:
    frame = household_frame(rng)
    sizes = {"C1": 40, "C2": 25, "C3": 12}
    kwargs = {"stratum": "commune", "unit": "household", "cluster": "village"}
    first = draw_sample(frame, sizes, seed=2025, **kwargs).to_frame()
    shuffled = frame.sample(frac=1, random_state=1)
    again = draw_sample(shuffled, sizes, seed=2025, **kwargs).to_frame()
    assert first["household"].tolist() == again["household"].tolist()
    other = draw_sample(frame, sizes, seed=2026, **kwargs).to_frame()
    assert first["household"].tolist() != other["household"].tolist()
    # Changing one stratum's n leaves the others' draws as they were.
    changed = draw_sample(frame, {**sizes, "C3": 20}, seed=2025, **kwargs).to_frame()
    same = changed["commune"] != "C3"
    assert (
        changed.loc[same, "household"].tolist()
        == first.loc[first["commune"] != "C3", "household"].tolist()
    )
    assert first.groupby("commune").size().to_dict() == sizes
    # A stratum given n = 0 is listed with nothing drawn.
    none = draw_sample(frame, {**sizes, "C3": 0}, seed=2025, **kwargs)
    assert "C3" not in set(none.to_frame()["commune"])
    assert none.strata.set_index("stratum").loc["C3", "n_drawn"] == 0


def test_two_stage_weights_are_inverse_inclusion_probabilities(rng: np.random.Generator) -> None:
    frame = household_frame(rng)
    drawn = draw_sample(
        frame,
        {"C1": 40, "C2": 25, "C3": 12},
        seed=9,
        stratum="commune",
        unit="household",
        cluster="village",
        per_cluster=8,
    )
    table = drawn.to_frame()
    villages_in_frame = frame.groupby("commune")["village"].nunique()
    households = frame.groupby(["commune", "village"]).size()
    villages_drawn = table.groupby("commune")["village"].nunique()
    taken = table.groupby(["commune", "village"]).size()
    for _, row in table.iterrows():
        c, v = row["commune"], row["village"]
        probability = (villages_drawn[c] / villages_in_frame[c]) * (
            taken[(c, v)] / households[(c, v)]
        )
        assert row["design_weight"] == pytest.approx(1 / probability, rel=1e-12)
        assert row["design_fpc"] == villages_in_frame[c]
    assert (villages_drawn >= 2).all()  # every stratum can estimate its variance
    assert drawn.design.weight == "design_weight" and drawn.design.cluster == "village"
    assert drawn.strata["n_drawn"].tolist() == [40, 25, 12]


def test_weights_estimate_the_number_of_households_without_bias(rng: np.random.Generator) -> None:
    frame = household_frame(rng)
    kwargs = {"stratum": "commune", "unit": "household", "cluster": "village", "per_cluster": 6}
    totals = [
        draw_sample(frame, {"C1": 18, "C2": 12, "C3": 6}, seed=s, **kwargs)
        .to_frame()["design_weight"]
        .sum()
        for s in range(150)
    ]
    # Horvitz–Thompson is unbiased: the mean estimate is near the true count (4 SEs).
    assert abs(np.mean(totals) - len(frame)) < 4 * np.std(totals) / np.sqrt(len(totals))


def test_one_stage_draw_of_dossiers(rng: np.random.Generator) -> None:
    frame = pd.DataFrame(
        {"dossier": range(300), "department": ["Tư pháp"] * 200 + ["Xây dựng"] * 100}
    )
    drawn = draw_sample(
        frame, {"Tư pháp": 50, "Xây dựng": 20}, seed=1, stratum="department", unit="dossier"
    )
    table = drawn.to_frame()
    assert table.groupby("department")["design_weight"].sum().to_dict() == {
        "Tư pháp": 200.0,
        "Xây dựng": 100.0,
    }
    assert drawn.design.cluster is None and table["dossier"].is_unique


@pytest.mark.parametrize(
    ("change", "sizes", "message"),
    [
        (
            "duplicate",
            {"C1": 5},
            r"row 7, column household: unit 'C1-0-0' is listed twice \(first at row 0\)",
        ),
        (None, {"C3": 10**6}, r"stratum 'C3' has \d+ units in the frame but its sample is 1000000"),
        (None, {"C9": 3}, r"sizes, row C9, column stratum: stratum 'C9' is not in the frame"),
        (None, {"C1": -1}, r"n -1 is not a whole number"),
    ],
)
def test_bad_frames_are_refused_naming_row_and_rule(
    rng: np.random.Generator, change: str | None, sizes: dict[str, int], message: str
) -> None:
    frame = household_frame(rng)
    if change == "duplicate":
        frame.loc[7, "household"] = frame.loc[0, "household"]
    with pytest.raises(DataError, match=message):
        draw_sample(frame, sizes, seed=1, stratum="commune", unit="household", cluster="village")


def test_a_drawn_sample_is_scored_with_its_design(rng: np.random.Generator) -> None:
    frame = household_frame(rng)
    sizes = allocate(
        pd.DataFrame(
            {
                "stratum": ["C1", "C2", "C3"],
                "population": frame.groupby("commune").size().to_numpy(),
            }
        ),
        90,
        method="proportional",
    ).to_frame()
    drawn = draw_sample(
        frame, sizes, seed=3, stratum="commune", unit="household", cluster="village"
    )
    sample = drawn.to_frame()
    for column in SERVICE.answer_columns():
        item = SERVICE.items.get(column)
        answers = (
            rng.integers(1, 6, len(sample))
            if item and item.role == "satisfaction"
            else [None] * len(sample)
        )
        sample[column] = pd.array(answers, dtype="Int64")
    table = score(sample, SERVICE, by=["commune"], design=drawn.design).to_frame()
    assert table["deff"].notna().any() and table["ci_low"].notna().any()


@pytest.mark.slow
def test_design_intervals_cover_the_population_index_where_naive_ones_do_not() -> None:
    # A known population of households in villages with strong village effects; repeated
    # draws by the plan, each scored with its design and, naively, with weights alone.
    rng = np.random.default_rng(5)
    rows = []
    for c in range(4):
        for v in range(20):
            effect = rng.normal(0, 1.0)
            for h in range(int(rng.integers(30, 80))):
                latent = effect + rng.normal(0.8, 1)
                answers = {
                    code: int(np.clip(np.round(3 + latent + rng.normal(0, 0.7)), 1, 5))
                    for code in ("HL_TC", "HL_TT", "HL_CC", "HL_KQ", "HL_PA", "HL")
                }
                rows.append(
                    {"household": f"{c}-{v}-{h}", "commune": f"C{c}", "village": f"V{v}", **answers}
                )
    population = pd.DataFrame(rows)
    truth = score(population, "sipas-kiosk").index_of("SIPAS")["index"].iloc[0]
    reps, design_hits, naive_hits = 80, 0, 0
    for seed in range(reps):
        drawn = draw_sample(
            population,
            {f"C{c}": 60 for c in range(4)},
            seed=seed,
            stratum="commune",
            unit="household",
            cluster="village",
        )
        sample = drawn.to_frame()
        ours = score(sample, "sipas-kiosk", design=drawn.design).index_of("SIPAS").iloc[0]
        naive = score(sample, "sipas-kiosk", weights="design_weight").index_of("SIPAS").iloc[0]
        design_hits += ours["ci_low"] <= truth <= ours["ci_high"]
        naive_hits += naive["ci_low"] <= truth <= naive["ci_high"]
    # 95% intended; with 80 draws, 0.88 is about 3 binomial SEs below. Measured with 150
    # draws: 95.3% with the design, 76% assuming independent respondents.
    assert design_hits / reps >= 0.88
    assert naive_hits < design_hits
