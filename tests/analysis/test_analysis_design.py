"""Design-based scores (strata, clusters, weights, fpc) against R's ``survey`` package.

Each scenario draws a two-stage sample (communes = strata, villages = clusters drawn by SRS,
households by SRS within a village, so weights are unequal), answers with a village effect
(so the design effect is real) and missing answers, scores it with :func:`analysis.score`
and runs R once: ``svydesign(ids = ~cluster, strata = ~stratum, weights = ~w, fpc = …,
nest = TRUE)``, then ``svyratio`` for each item and ``svycontrast`` for each element and the
SIPAS. Index, SE, interval and design effect must agree to 1e-8 index points.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from analysis_frames import FORM_2023, SERVICE
from click.testing import CliRunner
from r_survey import r_design_scores, require_r
from scipy import stats
from survey_samples import compared_items, two_stage_sample

from analysis import AnalysisError, DataError, ScoringSettings, SurveyDesign, compare, score
from analysis.cli import score as cli_score
from questionnaires import IndexNode, Questionnaire

#: Scores written by the code before designs existed (see the no-design test).
REFERENCE = Path(__file__).parent / "reference" / "scores_before_designs.csv"
#: Agreement with R, in index points (0–100), and for design effects (a ratio).
TOLERANCE = 1e-8
#: Largest absolute difference found per scenario (printed with ``pytest -s``).
LARGEST: dict[str, float] = {}


def r_input(
    frame: pd.DataFrame, questionnaire: Questionnaire, method: str = "top2box"
) -> tuple[pd.DataFrame, list[str]]:
    """What R is given, computed here from the codes, not by analysis/: ``a`` = 1 for an
    answer 1–5, ``y`` = 1 for 4 or 5 (top2box) or (code − 1)/4 (mean_score)."""
    satisfaction = [i.code for i in questionnaire.satisfaction_items]
    items = compared_items(questionnaire)
    data = frame.drop(columns=items).copy()
    answered_items = np.zeros(len(frame), dtype=int)
    for code in items:
        codes = frame[code].astype("float").to_numpy()
        answered = np.isin(codes, [1, 2, 3, 4, 5])
        data[f"a_{code}"] = answered.astype(int)
        if method == "mean_score":
            data[f"y_{code}"] = np.where(answered, (codes - 1) / 4, 0.0)
        else:
            data[f"y_{code}"] = np.isin(codes, [4, 5]).astype(int)
        if code in satisfaction:
            answered_items += answered
    needed = math.ceil(questionnaire.validity_min_share * len(satisfaction))
    data["scored"] = (answered_items >= needed).astype(int)
    return data, items


def node_parts(node: IndexNode) -> tuple[dict[str, float], str]:
    """A node's item weights λ and its R expression, from the questionnaire's tree."""
    if node.items:
        terms = [f"y_{c}/a_{c}" for c in node.items]
        return {c: 1 / len(node.items) for c in node.items}, f"({' + '.join(terms)})/{len(terms)}"
    weights: dict[str, float] = {}
    terms = []
    for child in node.children:
        child_weights, expression = node_parts(child)
        terms.append(expression)
        for code, value in child_weights.items():
            weights[code] = weights.get(code, 0.0) + value / len(node.children)
    return weights, f"({' + '.join(terms)})/{len(terms)}"


def tree_nodes(node: IndexNode) -> Iterator[IndexNode]:
    yield node
    for child in node.children:
        yield from tree_nodes(child)


def against_r(
    frame: pd.DataFrame,
    tmp_path: Path,
    design: SurveyDesign,
    *,
    by: tuple[str | None, ...],
    lonely: tuple[str, ...] = ("fail",),
    questionnaire: Questionnaire = SERVICE,
    method: str = "top2box",
) -> float:
    """Score by each breakdown (None = the whole sample) under each lonely rule and compare
    with one R run; the largest difference found."""
    require_r()
    data, items = r_input(frame, questionnaire, method)
    lambdas, expressions = {}, {}
    for node in tree_nodes(questionnaire.index):
        lambdas[node.code], expressions[node.code] = node_parts(node)
    r = r_design_scores(
        data,
        tmp_path,
        items=items,
        lambdas=lambdas,
        expressions=expressions,
        strata=design.strata,
        cluster=design.cluster,
        weight=design.weight,
        fpc=design.fpc,
        domains=[b or "ALL" for b in by],
        lonely=lonely,
        deff=design.deff_reference,
    )
    # R agrees with itself: a node's svycontrast SE is the SE of its linearised total.
    nodes = r["se_total"].notna()
    assert np.allclose(r.loc[nodes, "se"], r.loc[nodes, "se_total"], rtol=1e-10, atol=0)
    largest = 0.0
    for rule, breakdown in itertools.product(lonely, by):
        ours = score(
            frame,
            questionnaire,
            by=[breakdown] if breakdown else [],
            settings=ScoringSettings(method=method),  # type: ignore[arg-type]
            design=SurveyDesign(
                strata=design.strata,
                cluster=design.cluster,
                weight=design.weight,
                fpc=design.fpc,
                lonely_psu=rule,  # type: ignore[arg-type]
                deff_reference=design.deff_reference,
            ),
        ).to_frame(detail=True)
        theirs = r[(r["lonely"] == rule) & (r["domain"] == (breakdown or "ALL"))]
        theirs = theirs.add_prefix("r_").rename(columns={"r_code": "code"})
        theirs["key"] = theirs["r_value"]
        ours["key"] = ours[breakdown].astype(str) if breakdown else "ALL"
        merged = theirs.merge(ours, on=["key", "code"], how="left", validate="one_to_one")
        assert len(merged) == len(theirs) == len(items + list(lambdas)) * theirs["key"].nunique()
        assert merged["index"].notna().all()
        # Our interval is R's clipped to [0, 100], and missing where the SE is 0 (SIPAS.md:
        # an interval of one point would claim certainty).
        zero = merged["r_se"] == 0
        assert merged.loc[zero, ["ci_low", "ci_high"]].isna().all().all()
        merged = merged[~zero]
        for bound in ("r_low", "r_high"):
            merged[bound] = merged[bound].clip(0, 1)
        pairs = [
            ("index", "r_estimate", 100),
            ("se", "r_se", 100),
            ("ci_low", "r_low", 100),
            ("ci_high", "r_high", 100),
            ("deff", "r_deff", 1),
        ]
        for mine, r_column, scale in pairs:
            difference = (merged[mine] - scale * merged[r_column]).abs()
            assert difference.notna().all(), (rule, mine)
            worst = float(difference.max())
            assert worst <= TOLERANCE, (rule, mine, worst)
            largest = max(largest, worst)
        assert (merged["deff"] > 0).all()
    return largest


def record(name: str, largest: float) -> None:
    LARGEST[name] = largest
    print(f"\n{name}: largest |ours − R| = {largest:.3g}")


def test_stratified_clustered_weighted_equals_r(rng: np.random.Generator, tmp_path: Path) -> None:
    frame = two_stage_sample(rng)
    design = SurveyDesign(strata="commune", cluster="village", weight="w")
    record("strata+clusters+weights", against_r(frame, tmp_path, design, by=(None, "sex")))
    overall = score(frame, SERVICE, design=design).index_of("SIPAS")
    assert overall["deff"].iloc[0] > 1  # the village effect makes the design count


def test_fpc_as_population_sizes_by_commune_equals_r(
    rng: np.random.Generator, tmp_path: Path
) -> None:
    frame = two_stage_sample(rng)
    design = SurveyDesign(strata="commune", cluster="village", weight="w", fpc="villages_total")
    record("fpc as N_h, by commune", against_r(frame, tmp_path, design, by=("commune",)))


def test_fpc_as_fractions_and_lonely_psu_rules_equal_r(
    rng: np.random.Generator, tmp_path: Path
) -> None:
    villages = {"C1": (12, 3), "C2": (6, 1), "C3": (9, 2), "C4": (20, 5)}  # C2: one village
    frame = two_stage_sample(rng, villages=villages)
    design = SurveyDesign(strata="commune", cluster="village", weight="w", fpc="village_share")
    rules = ("adjust", "average", "remove", "certainty")
    largest = against_r(frame, tmp_path, design, by=(None, "sex"), lonely=rules)
    record("fpc as fractions, lonely PSU", largest)


def test_clusters_without_weights_take_them_from_the_fpc(
    rng: np.random.Generator, tmp_path: Path
) -> None:
    # Without weights R derives them from the fpc (N_h/n_h): so must we.
    frame = two_stage_sample(rng, villages={"C1": (30, 8)})
    design = SurveyDesign(cluster="village", fpc="villages_total")
    record("clusters + fpc, no weights", against_r(frame, tmp_path, design, by=("sex",)))


def test_strata_and_weights_without_clusters_equal_r(
    rng: np.random.Generator, tmp_path: Path
) -> None:
    frame = two_stage_sample(rng)
    design = SurveyDesign(strata="commune", weight="w", deff_reference="with_replacement")
    record(
        "strata + weights, ids = ~1, deff vs SRSWR", against_r(frame, tmp_path, design, by=(None,))
    )


def test_mean_score_with_aspects_equals_r(rng: np.random.Generator, tmp_path: Path) -> None:
    # sipas-2023: items → groups → aspects → SIPAS (three levels of means), scored as means.
    frame = two_stage_sample(rng, FORM_2023, villages={"C1": (12, 3), "C2": (15, 4)})
    design = SurveyDesign(strata="commune", cluster="village", weight="w", fpc="villages_total")
    largest = against_r(
        frame, tmp_path, design, by=(None,), questionnaire=FORM_2023, method="mean_score"
    )
    record("sipas-2023 mean_score, aspects", largest)


def test_no_design_gives_todays_numbers_exactly() -> None:
    # The reference was written by the scoring code as it was before designs existed
    # (commit f289cb4, run from a copy of that tree on this very frame), every float with
    # 17 significant digits, so reading it back gives the same bits.
    frame = two_stage_sample(np.random.default_rng(20250101))
    before = pd.read_csv(REFERENCE, dtype={"commune": str}, keep_default_na=False, na_values=[""])
    cases = {"plain": ([], None), "by_commune": (["commune"], None)}
    cases["weighted_by_commune"] = (["commune"], "w")
    for case, (by, weights) in cases.items():
        now = score(frame, SERVICE, by=by, weights=weights).to_frame(detail=True)
        again = score(frame, SERVICE, by=by, weights=weights, design=None).to_frame(detail=True)
        pd.testing.assert_frame_equal(again, now)
        assert "deff" not in now.columns
        then = before[before["case"] == case].reset_index(drop=True)
        assert len(then) == len(now)
        if by:
            assert then["commune"].tolist() == now["commune"].tolist()
        for column in ("level", "code", "label_vi", "kind"):
            assert then[column].tolist() == now[column].tolist(), column
        assert then["min_n_flag"].tolist() == now["min_n_flag"].tolist()
        for column in ("n", "index", "ci_low", "ci_high", "se", "n_eff"):
            old = then[column].to_numpy(dtype=float)
            new = now[column].to_numpy(dtype=float, na_value=np.nan)
            assert np.array_equal(old, new, equal_nan=True), (case, column)


def test_a_design_of_independent_equal_weights_keeps_the_indices(
    rng: np.random.Generator,
) -> None:
    frame = two_stage_sample(rng)
    plain = score(frame, SERVICE, by=["commune"]).to_frame(detail=True)
    designed = score(frame, SERVICE, by=["commune"], design=SurveyDesign()).to_frame(detail=True)
    assert np.array_equal(plain["index"], designed["index"], equal_nan=True)
    assert np.array_equal(plain["n"], designed["n"])
    # ids = ~1, one stratum of all N rows: a commune is a domain, whose influence totals
    # sum to 0, so V_design = N/(N − 1) · Σ_g (w z)², where the independent-respondents
    # formula has n/(n − 1) · Σ_g (w z)² with the node's own n. Exactly that factor apart.
    nodes = (plain["kind"] == "index").to_numpy()
    big_n = len(frame)
    n = plain.loc[nodes, "n"].to_numpy(dtype=float)
    expected = (big_n / (big_n - 1)) / (n / (n - 1))
    ratio = (designed.loc[nodes, "se"] / plain.loc[nodes, "se"]).to_numpy() ** 2
    assert np.allclose(ratio, expected, rtol=1e-10, atol=0)
    assert set(designed["kind"]) == {"index", "ratio"}


def test_design_rows_carry_deff_and_linearised_intervals(rng: np.random.Generator) -> None:
    frame = two_stage_sample(rng)
    design = SurveyDesign(strata="commune", cluster="village", weight="w")
    table = score(frame, SERVICE, design=design).to_frame(detail=True)
    assert list(table.columns)[8] == "deff"
    items = table[table["level"] == "item"]
    assert (items["kind"] == "ratio").all()
    half = (items["ci_high"] - items["ci_low"]) / 2
    assert np.allclose(half, 1.959963984540054 * items["se"], rtol=1e-12)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"commune": {3: None}}, "row 3, column commune: every response needs its stratum"),
        ({"village": {5: None}}, "row 5, column village: every response needs its cluster"),
        ({"w": {2: 0}}, "row 2, column w: weight 0 is not a positive number"),
        ({"villages_total": {4: -1}}, "row 4, column villages_total: fpc -1 is not a positive"),
        ({"villages_total": {1: 13}}, "fpc must be the same on every row of a stratum"),
    ],
)
def test_bad_design_data_is_refused_naming_row_and_rule(
    rng: np.random.Generator, change: dict[str, dict[int, Any]], message: str
) -> None:
    frame = two_stage_sample(rng)
    for column, cells in change.items():
        frame[column] = frame[column].astype(object)
        for row, value in cells.items():
            frame.loc[row, column] = value
    design = SurveyDesign(strata="commune", cluster="village", weight="w", fpc="villages_total")
    with pytest.raises(DataError, match=message.replace("(", r"\(")):
        score(frame, SERVICE, design=design)


def test_fpc_smaller_than_the_sample_and_a_lonely_psu_are_refused(
    rng: np.random.Generator,
) -> None:
    frame = two_stage_sample(rng, villages={"C1": (12, 3), "C2": (6, 1)})
    frame["tiny"] = frame["commune"].map({"C1": 2, "C2": 6})
    with pytest.raises(DataError, match="fpc says stratum 'C1' has 2 PSUs but 3 were sampled"):
        score(frame, SERVICE, design=SurveyDesign("commune", "village", "w", "tiny"))
    with pytest.raises(DataError, match="stratum 'C2' has a single cluster") as caught:
        score(frame, SERVICE, design=SurveyDesign("commune", "village", "w"))
    assert caught.value.row == int(np.flatnonzero(frame["commune"] == "C2")[0])
    assert isinstance(caught.value, AnalysisError)
    frame["mixed"] = frame["commune"].map({"C1": 0.25, "C2": 6})
    with pytest.raises(DataError, match="row 0, column mixed: fpc mixes population sizes"):
        score(frame, SERVICE, design=SurveyDesign("commune", "village", "w", "mixed"))
    # A census stratum (every village taken) is not lonely: it adds no variance.
    frame["census"] = frame["commune"].map({"C1": 12, "C2": 1})
    table = score(frame, SERVICE, design=SurveyDesign("commune", "village", "w", "census"))
    assert table.index_of("SIPAS")["ci_low"].notna().all()


def test_design_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="lonely_psu must be one of"):
        SurveyDesign(lonely_psu="drop")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="strata must be a column name"):
        SurveyDesign(strata=3)  # type: ignore[arg-type]
    frame = pd.DataFrame({"HL_TC": [5], "HL_TT": [5], "HL_CC": [5], "HL_KQ": [5], "HL_PA": [5]})
    frame["w"] = 1.0
    with pytest.raises(ValueError, match="give the weight column in the design only"):
        score(frame, "sipas-kiosk", weights="w", design=SurveyDesign(weight="x"))


def test_the_score_command_takes_a_design_and_prints_deff(
    rng: np.random.Generator, tmp_path: Path
) -> None:
    frame = two_stage_sample(rng)
    path = tmp_path / "survey.csv"
    frame.to_csv(path, index=False)
    design = ["--strata", "commune", "--cluster", "village", "--weight", "w"]
    done = CliRunner().invoke(
        cli_score, [str(path), "--by", "commune", *design, "--fpc", "villages_total"]
    )
    assert done.exit_code == 0, done.output
    table = pd.read_csv(io.StringIO(done.stdout))
    assert list(table.columns)[9] == "deff"
    expected = score(
        frame,
        SERVICE,
        by=["commune"],
        design=SurveyDesign("commune", "village", "w", "villages_total"),
    ).to_frame()
    assert np.allclose(table["deff"], expected["deff"].round(2), equal_nan=True)
    assert np.allclose(table["ci_low"], expected["ci_low"].round(2), equal_nan=True)
    # A commune with one village: refused, naming the spreadsheet row, unless a rule is chosen.
    village = frame.loc[frame["commune"] == "C3", "village"].iloc[0]
    lonely = frame[(frame["commune"] != "C3") | (frame["village"] == village)]
    lonely.to_csv(path, index=False)
    done = CliRunner().invoke(cli_score, [str(path), *design])
    first = int(np.flatnonzero(lonely["commune"].to_numpy() == "C3")[0]) + 2
    assert done.exit_code == 2
    assert f"row {first}, column commune: stratum 'C3' has a single cluster" in done.stderr
    done = CliRunner().invoke(cli_score, [str(path), *design, "--lonely-psu", "adjust"])
    assert done.exit_code == 0, done.output


def test_a_rolled_up_unit_is_the_domain_of_its_pooled_responses(rng: np.random.Generator) -> None:
    frame = two_stage_sample(rng)
    frame["unit_code"] = frame["commune"]
    tree = pd.DataFrame(
        {"unit_code": ["P", "C1", "C2", "C3", "C4"], "parent_code": [None, *"PPPP"]}
    )
    design = SurveyDesign(strata="commune", cluster="village", weight="w", fpc="villages_total")
    columns = ["code", "n", "index", "ci_low", "ci_high", "deff"]
    rolled = score(frame, SERVICE, by=["unit_code"], units=tree, design=design).to_frame()
    whole = score(frame, SERVICE, design=design).to_frame()[columns]
    province = rolled[rolled["unit_code"] == "P"][columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(province, whole, check_exact=False, rtol=1e-12, atol=1e-12)
    flat = score(frame, SERVICE, by=["unit_code"], design=design).to_frame()
    communes = rolled[rolled["unit_code"] != "P"].sort_values(["unit_code"], kind="stable")
    pd.testing.assert_frame_equal(
        communes[columns].reset_index(drop=True),
        flat.sort_values(["unit_code"], kind="stable")[columns].reset_index(drop=True),
        check_exact=False,
        rtol=1e-12,
        atol=1e-12,
    )


def test_changes_between_communes_use_the_design_ses(rng: np.random.Generator) -> None:
    frame = two_stage_sample(rng)
    design = SurveyDesign(strata="commune", cluster="village", weight="w")
    result = score(frame, SERVICE, by=["commune"], design=design)
    table = result.to_frame(detail=True).set_index(["commune", "code"])
    change = compare(result, "commune", base="C1").to_frame().set_index(["commune", "code"])
    for code in ("TC1", "SIPAS"):  # an item (kind ratio) and the overall index
        a, b = table.loc[("C2", code)], table.loc[("C1", code)]
        z = (a["index"] - b["index"]) / np.hypot(a["se"], b["se"])
        assert change.loc[("C2", code), "z"] == pytest.approx(z, rel=1e-12)
        assert change.loc[("C2", code), "p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_scaling_the_weights_keeps_indices_and_ses(rng: np.random.Generator) -> None:
    frame = two_stage_sample(rng)
    frame["w10"] = frame["w"] * 10
    kwargs: dict[str, Any] = {"cluster": "village", "deff_reference": "with_replacement"}
    one = score(frame, SERVICE, design=SurveyDesign("commune", weight="w", **kwargs))
    ten = score(frame, SERVICE, design=SurveyDesign("commune", weight="w10", **kwargs))
    columns = ["index", "se", "deff"]
    pd.testing.assert_frame_equal(
        one.to_frame(detail=True)[columns], ten.to_frame(detail=True)[columns], rtol=1e-10
    )
