"""Survey designs (strata, clusters, weights, fpc) and the design-based variance of every index.

A household survey samples villages (clusters, the primary sampling units, PSUs) within
communes (strata) with unequal probabilities; its respondents are not independent, so the
intervals of :func:`analysis.score` without a design are too narrow. With a
:class:`SurveyDesign`, every index gets the with-replacement Taylor-linearisation variance
at the first stage, as R's ``survey`` package computes it after
``svydesign(ids = ~cluster, strata = ~stratum, weights = ~w, fpc = ~fpc, nest = TRUE)``,
and Kish's design effect as ``svyratio(..., deff = TRUE)`` reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, get_args

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .errors import DataError, shown
from .intervals import normal_interval, snap_zero_se
from .linearisation import item_influence, node_influences
from .plan import ScoringPlan
from .responses import ResponseMatrix
from .tally import ItemEstimates, ScoredPairs
from .tree import NodeIndices

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

LonelyPsu = Literal["fail", "adjust", "average", "remove", "certainty"]
DeffReference = Literal["without_replacement", "with_replacement"]

#: R's threshold below which a stratum's finite population correction counts as zero
#: (every PSU of the stratum was taken: it adds no variance, lonely or not).
CERTAIN = 1e-7


@dataclass(frozen=True)
class SurveyDesign:
    """The sample design of a survey, as column names of the responses frame.

    Every part is optional: no strata = one stratum; no cluster = each response is its own
    PSU (R's ``ids = ~1``); no weight = equal weights, or, with ``fpc``, the first-stage
    weight N_h/n_h that R derives from it; no fpc = sampling with replacement.

    Parameters
    ----------
    strata : str, optional
        The stratum column (commune, department). Must have no empty cell.
    cluster : str, optional
        The PSU column (village). Codes are read within their stratum (R's ``nest = TRUE``),
        so "Thôn 1" in two communes is two clusters. Must have no empty cell.
    weight : str, optional
        Design weights (inverse inclusion probabilities), each > 0.
    fpc : str, optional
        Finite population correction, constant within a stratum, as R's ``svydesign``
        takes it: if any value is > 1, every value is the number N_h of PSUs in the
        stratum's population (≥ the n_h sampled); otherwise every value is the first-stage
        sampling fraction n_h/N_h (0 < f ≤ 1).
    lonely_psu : {"fail", "adjust", "average", "remove", "certainty"}
        A stratum with a single sampled PSU (and an fpc that does not make it a census),
        as R's ``options(survey.lonely.psu = ...)``: ``fail`` refuses the data (naming the
        stratum); ``adjust`` centres its PSU total on zero, the grand mean of the influence
        totals (they sum to zero for every ratio), instead of the stratum mean;
        ``remove`` and ``certainty`` let it add nothing; ``average`` leaves it out and
        scales the variance up by H / (H − lonely strata), counting the strata a group
        reaches. Whatever the rule, a stratum whose fpc says every PSU was taken
        (f_h < 1e-7) adds no variance and is not lonely.
    deff_reference : {"without_replacement", "with_replacement"}
        The simple random sample the design effect compares with: without replacement
        (R's ``deff = TRUE``) or with replacement (R's ``deff = "replace"``).

    Examples
    --------
    >>> SurveyDesign(strata="commune", cluster="village", weight="w", fpc="villages")
    SurveyDesign(strata='commune', cluster='village', weight='w', fpc='villages', \
lonely_psu='fail', deff_reference='without_replacement')
    """

    strata: str | None = None
    cluster: str | None = None
    weight: str | None = None
    fpc: str | None = None
    lonely_psu: LonelyPsu = "fail"
    deff_reference: DeffReference = "without_replacement"

    def __post_init__(self) -> None:
        for name in ("strata", "cluster", "weight", "fpc"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise TypeError(f"{name} must be a column name or None, got {value!r}")
        if self.lonely_psu not in get_args(LonelyPsu):
            raise ValueError(
                f"lonely_psu must be one of {', '.join(get_args(LonelyPsu))}, "
                f"got {self.lonely_psu!r}"
            )
        if self.deff_reference not in get_args(DeffReference):
            raise ValueError(
                f"deff_reference must be without_replacement or with_replacement, "
                f"got {self.deff_reference!r}"
            )


@dataclass(frozen=True)
class DesignLayout:
    """A design read off one responses frame: integer ids per row and per stratum."""

    stratum: IntArray  # per row: 0 … H − 1
    psu: IntArray  # per row: 0 … P − 1, unique across strata
    stratum_of_psu: IntArray  # per PSU
    psu_count: IntArray  # n_h per stratum
    fpc_factor: FloatArray  # f_h = 1 − n_h/N_h per stratum (1 without fpc)
    derived_weights: FloatArray | None  # N_h/n_h per row when fpc is given without weights
    design: SurveyDesign


def design_layout(responses: pd.DataFrame, design: SurveyDesign) -> DesignLayout:
    """Check the design columns of ``responses`` and number strata and PSUs.

    Raises
    ------
    DataError
        A design column is missing or has an empty cell; fpc is not a positive number,
        varies within a stratum, mixes fractions with sizes, or is smaller than the PSUs
        sampled; a stratum has a single PSU under ``lonely_psu="fail"``. The message names
        the row and the rule.
    """
    if not isinstance(design, SurveyDesign):
        raise TypeError(f"design must be a SurveyDesign, got {type(design).__name__}")
    n = len(responses)
    stratum = np.zeros(n, dtype=np.int64)
    strata_values: pd.Index = pd.Index(["(all)"])
    if design.strata is not None:
        values = _filled(responses, design.strata, "stratum")
        codes, strata_values = pd.factorize(values, sort=True)
        stratum = codes.astype(np.int64)
    if design.cluster is not None:
        clusters, _ = pd.factorize(_filled(responses, design.cluster, "cluster"))
        key = stratum * (int(clusters.max(initial=0)) + 1) + clusters
        _, psu = np.unique(key, return_inverse=True)
    else:
        psu = np.arange(n)
    psu = psu.astype(np.int64).ravel()
    strata_count = len(strata_values)
    stratum_of_psu = np.zeros(int(psu.max(initial=-1)) + 1, dtype=np.int64)
    stratum_of_psu[psu] = stratum
    psu_count = np.bincount(stratum_of_psu, minlength=strata_count).astype(np.int64)
    first_row = _first_rows(stratum, strata_count)
    fpc_factor = np.ones(strata_count)
    derived = None
    if design.fpc is not None:
        population = _population_sizes(
            responses, design.fpc, stratum, psu_count, first_row, strata_values
        )
        fpc_factor = (population - psu_count) / population
        if design.weight is None:
            derived = (population / psu_count)[stratum]
    lonely = (psu_count == 1) & (fpc_factor >= CERTAIN)
    if design.lonely_psu == "fail" and lonely.any():
        h = int(np.flatnonzero(lonely)[0])
        row = responses.index[first_row[h]]
        where = f"stratum {shown(strata_values[h])}" if design.strata else "the sample"
        raise DataError(
            f"{where} has a single cluster (PSU), so its variance cannot be estimated: "
            "merge it with a neighbouring stratum or choose lonely_psu "
            "(adjust, average, remove, certainty)",
            row=row,
            column=design.strata or design.cluster,
        )
    return DesignLayout(stratum, psu, stratum_of_psu, psu_count, fpc_factor, derived, design)


def _filled(frame: pd.DataFrame, column: str, what: str) -> pd.Series:
    if column not in frame.columns:
        raise DataError(f"the design's {what} column is missing", column=column)
    values = frame[column]
    empty = values.isna().to_numpy()
    if empty.any():
        row = frame.index[int(np.flatnonzero(empty)[0])]
        raise DataError(
            f"every response needs its {what}: this one is empty", row=row, column=column
        )
    return values


def _first_rows(stratum: IntArray, strata: int) -> IntArray:
    order = np.argsort(stratum, kind="stable")
    starts = np.searchsorted(stratum[order], np.arange(strata))
    return order[np.minimum(starts, len(order) - 1)].astype(np.int64)


def _population_sizes(
    frame: pd.DataFrame,
    column: str,
    stratum: IntArray,
    psu_count: IntArray,
    first_row: IntArray,
    names: pd.Index,
) -> FloatArray:
    """N_h per stratum from an fpc column of sizes (any value > 1) or fractions (all ≤ 1)."""
    if column not in frame.columns:
        raise DataError("the design's fpc column is missing", column=column)
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    def refuse(position: int, problem: str) -> DataError:
        return DataError(
            problem, row=frame.index[position], column=column, value=raw.iloc[position]
        )

    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise refuse(k, f"fpc {shown(raw.iloc[k])} is not a positive number")
    per_stratum = values[first_row]
    varies = values != per_stratum[stratum]
    if varies.any():
        k = int(np.flatnonzero(varies)[0])
        raise refuse(k, "fpc must be the same on every row of a stratum")
    sizes = bool((values > 1).any())
    if sizes and (values < 1).any():
        k = int(np.flatnonzero(values < 1)[0])
        raise refuse(
            k,
            "fpc mixes population sizes (> 1) with sampling fractions (< 1): "
            "give all as numbers of PSUs in the stratum, or all as fractions",
        )
    population = per_stratum if sizes else psu_count / per_stratum
    small = population < psu_count
    if small.any():
        h = int(np.flatnonzero(small)[0])
        raise refuse(
            int(first_row[h]),
            f"fpc says stratum {shown(names[h])} has {shown(float(population[h]))} PSUs "
            f"but {int(psu_count[h])} were sampled: fpc is the stratum's population of "
            "PSUs (or the fraction sampled), never less than the sample",
        )
    return np.asarray(population, dtype=float)


class FirstStage:
    """The first-stage variance of estimated totals Σ w·z, for every group at once.

    Notes
    -----
    With t_ghc = Σ_{i ∈ group g, PSU c of stratum h} w_i z_i (every PSU of the sample,
    zero where the group has nobody: domain estimation keeps the whole design),

    .. math:: \\hat V_g = \\sum_h f_h \\frac{n_h}{n_h - 1}
              \\sum_{c=1}^{n_h} (t_{ghc} - \\bar t_{gh})^2,
              \\qquad f_h = 1 - n_h/N_h \\; (1 \\text{ without fpc})

    the with-replacement (ultimate cluster) estimator with the first-stage fpc, exactly R's
    ``svyrecvar`` for ``svydesign(ids = ~cluster, strata = ~stratum, fpc = ~fpc)``. A
    stratum with f_h < 1e-7 adds nothing. A lonely stratum (n_h = 1) follows
    ``lonely_psu``: adjust adds f_h·t_gh1²; remove and certainty add 0; average drops it
    and multiplies the sum by H_g / H_g,ok, the strata where group g has scored responses
    over those of them that are not lonely (R's count on the group's subset).
    """

    def __init__(self, layout: DesignLayout, pairs: ScoredPairs) -> None:
        psu = layout.psu if pairs.rows is None else layout.psu[pairs.rows]
        psus = len(layout.stratum_of_psu)
        strata = len(layout.psu_count)
        # Only the (group, PSU) and (group, stratum) cells that hold pairs are kept: a group
        # adds nothing where it has nobody, and dense groups × strata tables would not fit
        # a province scored by commune (the strata) at scale.
        cells, cell_of_pair = np.unique(pairs.gid * psus + psu, return_inverse=True)
        self._cell = cell_of_pair.ravel()
        self._cells = len(cells)
        blocks, block_of_cell = np.unique(
            (cells // psus) * strata + layout.stratum_of_psu[cells % psus], return_inverse=True
        )
        self._block = block_of_cell.ravel()
        self._blocks = len(blocks)
        self._block_group = blocks // strata
        block_stratum = blocks % strata
        self._bins = pairs.bins
        self._groups = pairs.n_groups
        n_h, f_h = layout.psu_count.astype(float), layout.fpc_factor
        lonely = (n_h == 1) & (f_h >= CERTAIN)
        rule = layout.design.lonely_psu
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(n_h > 1, f_h * n_h / (n_h - 1), f_h)
        scale = np.where(f_h < CERTAIN, 0.0, scale)
        if rule in ("remove", "certainty", "average"):
            scale = np.where(lonely, 0.0, scale)
        self._scale = scale[block_stratum]
        self._centre = np.where(lonely & (rule == "adjust"), 0.0, 1.0 / n_h)[block_stratum]
        self._inflate = np.ones(pairs.n_groups)
        if rule == "average" and lonely.any():
            # R counts the strata the group (its subset of the design) reaches: H_g / H_g,ok.
            stratum = layout.stratum if pairs.rows is None else layout.stratum[pairs.rows]
            real = pairs.gid < pairs.n_groups
            reach = (
                np.bincount(
                    pairs.gid[real] * strata + stratum[real], minlength=pairs.n_groups * strata
                ).reshape(pairs.n_groups, strata)
                > 0
            )
            ok = (reach & ~lonely).sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                self._inflate = np.where(ok > 0, reach.sum(axis=1) / ok, np.nan)

    def variance(self, wz: FloatArray) -> FloatArray:
        """V̂_g of the totals Σ_i w_i z_i, one per group (``wz`` holds w_i·z_i per pair)."""
        t = np.bincount(self._cell, wz, minlength=self._cells)
        s1 = np.bincount(self._block, t, minlength=self._blocks)
        s2 = np.bincount(self._block, t * t, minlength=self._blocks)
        spread = np.maximum(s2 - self._centre * s1 * s1, 0.0) * self._scale  # Σ_c (t − t̄)²
        total: FloatArray = (
            np.bincount(self._block_group, spread, minlength=self._bins)[: self._groups]
            * self._inflate
        )
        return total


@dataclass(frozen=True)
class DesignEstimates:
    """Design-based SEs and design effects (0–1 scale SEs; groups × measures, × nodes)."""

    item_se: FloatArray
    item_deff: FloatArray
    node_se: FloatArray
    node_deff: FloatArray


def design_estimates(
    layout: DesignLayout,
    matrix: ResponseMatrix,
    pairs: ScoredPairs,
    plan: ScoringPlan,
    items: ItemEstimates,
    nodes: NodeIndices,
) -> DesignEstimates:
    """SE and design effect of every item ratio and every node, in every group.

    Notes
    -----
    Each index is linearised to a total: item j has influence
    z_ij = (y_ij − R_j a_ij) / Σ w·a_j, a node z_i = Σ_j λ_j z_ij (λ_j its weight in the
    node's nested means), so V̂(index) = V̂_g(Σ w z) of :class:`FirstStage`, as R's
    ``svyratio`` and ``svycontrast`` compute it. The design effect compares it with the
    variance under simple random sampling of the same size from the group (R's
    ``deff(svytotal(z, deff = TRUE))``, which ``svyratio`` reports):

    .. math:: \\mathrm{deff} = \\hat V / \\hat V_{srs}, \\quad
              \\hat V_{srs} = s_z^2 \\, \\hat N^2 \\, \\frac{1 - n/\\hat N}{n}, \\quad
              s_z^2 = \\frac{n}{n-1} \\frac{\\sum_i w_i (z_i - \\bar z)^2}{\\hat N}

    with n the group's scored responses, N̂ = Σ w over them and z̄ = Σ w z / N̂;
    ``deff_reference="with_replacement"`` drops the factor 1 − n/N̂. Missing where
    V̂_srs ≤ 0 (e.g. equal weights of 1: N̂ = n leaves no population to sample from).
    """
    stage = FirstStage(layout, pairs)
    weights = pairs.weights
    groups = pairs.n_groups
    real = pairs.gid < groups
    w = np.ones(len(pairs.gid)) if weights is None else weights
    n = np.bincount(pairs.gid[real], minlength=groups).astype(float)
    total_w = np.bincount(pairs.gid[real], w[real], minlength=groups)
    with_fpc = layout.design.deff_reference == "without_replacement"

    def measure(z: FloatArray, value: FloatArray) -> tuple[FloatArray, FloatArray]:
        wz = w * z
        var = stage.variance(wz)
        sum_wz = np.bincount(pairs.gid, wz, minlength=pairs.bins)[:groups]
        sum_wzz = np.bincount(pairs.gid, wz * z, minlength=pairs.bins)[:groups]
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = n / (n - 1) * (sum_wzz - sum_wz * sum_wz / total_w) / total_w
            srs = s2 * total_w**2 / n
            if with_fpc:
                srs = srs * (total_w - n) / total_w
            deff = np.where(srs > 0, var / srs, np.nan)
        defined = np.isfinite(value)
        se = np.where(defined, snap_zero_se(np.sqrt(var)), np.nan)
        return se, np.where(defined & np.isfinite(deff), deff, np.nan)

    shape_items = (groups, len(plan.measures))
    item_se, item_deff = np.full(shape_items, np.nan), np.full(shape_items, np.nan)
    for m in range(len(plan.measures)):
        z = item_influence(matrix, pairs, plan, items, m)
        item_se[:, m], item_deff[:, m] = measure(z, items.share[:, m])
    shape_nodes = (groups, len(plan.nodes))
    node_se, node_deff = np.full(shape_nodes, np.nan), np.full(shape_nodes, np.nan)

    def visit(v: int, z: FloatArray) -> None:
        node_se[:, v], node_deff[:, v] = measure(z, nodes.value[:, v])

    node_influences(matrix, pairs, plan, items, nodes, visit)
    return DesignEstimates(item_se, item_deff, node_se, node_deff)


def design_items(
    items: ItemEstimates, estimates: DesignEstimates, confidence: float
) -> ItemEstimates:
    """Item estimates with the design SE and its normal interval (R's ``confint``), 0–1."""
    low, high = normal_interval(items.share, estimates.item_se, confidence, (0, 1))
    return replace(items, se=estimates.item_se, low=low, high=high)


def design_columns(
    table: pd.DataFrame,
    order: list[tuple[str, int]],
    estimates: DesignEstimates,
) -> pd.DataFrame:
    """Put the design SE (index points) and ``deff`` on the tidy table's rows.

    ``order`` is the rows of one group (``scoring.report_order``). Shares become kind
    ``ratio``: their interval is the linearised one, and changes use the z-test on SEs.
    """
    se = np.column_stack(
        [
            estimates.node_se[:, p] if what == "node" else estimates.item_se[:, p]
            for what, p in order
        ]
    )
    deff = np.column_stack(
        [
            estimates.node_deff[:, p] if what == "node" else estimates.item_deff[:, p]
            for what, p in order
        ]
    )
    out = table.copy()
    out["se"] = 100 * se.ravel()
    out["deff"] = deff.ravel()
    out["kind"] = out["kind"].where(out["kind"] != "share", "ratio")
    return out
