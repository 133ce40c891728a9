"""SIPAS scores with n and 95% intervals, from response rows or from a count table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

import questionnaires
from questionnaires import Questionnaire

from .breakdown import DEFAULT_TIMEZONE, PERIOD, Grouping, PeriodSpec, build_grouping
from .design import (
    SurveyDesign,
    design_columns,
    design_estimates,
    design_items,
    design_layout,
)
from .errors import DataError, shown
from .intervals import normal_interval
from .linearisation import node_standard_errors
from .plan import ScoringPlan, build_plan
from .responses import ResponseMatrix, response_matrix
from .settings import ScoringSettings
from .tally import ItemEstimates, ScoredPairs, Tally, item_estimates, scored_pairs, tally_rows
from .tree import NodeIndices, node_indices

#: Columns of the tidy scores table after the grouping columns (SIPAS.md §7).
TIDY_COLUMNS = ("level", "code", "label_vi", "n", "index", "ci_low", "ci_high", "min_n_flag")
#: Columns added where asked, in this order.
OPTIONAL_COLUMNS = ("target", "gap", "rank", "rank_change", "p_change")
#: Extra columns kept for comparisons: the SE (index points), Kish n and the estimator kind.
DETAIL_COLUMNS = ("se", "n_eff", "kind")
#: Added after the tidy columns when scores follow a survey design (Kish's design effect).
DESIGN_COLUMNS = ("deff",)
#: Count-table columns besides the grouping columns.
COUNT_COLUMNS = ("item", "code", "n")
WEIGHT_COLUMNS = ("weight", "weight_sq")


@dataclass(frozen=True)
class ScoreResult:
    """Scores of one questionnaire by group: the tidy table of SIPAS.md §7 and its context.

    Attributes
    ----------
    table : DataFrame
        Grouping columns, ``level, code, label_vi, n, index, ci_low, ci_high, min_n_flag``
        and the detail columns ``se`` (index points; NaN for a Wilson-interval share),
        ``n_eff`` (Kish effective n of a share) and ``kind`` (share / mean / index; a
        share scored under a survey design is ``ratio``). Scored with a design, ``deff``
        (Kish's design effect) follows ``min_n_flag``.
    responses : DataFrame
        Per group: ``received`` responses, ``scored`` ones, and why others were left out
        (``invalid`` by the validity rule, ``marked_not_valid`` in the ``valid`` column,
        ``flagged`` with any integrity flag, ``flag_excluded`` by ``exclude_flags``).
    group_columns : tuple of str
    questionnaire : str
        ``"<id> v<version>"``.
    method : str
        ``top2box`` or ``mean_score``.
    settings : ScoringSettings
    period_order : tuple of str
        Period labels in time order (for changes and rank changes).
    """

    table: pd.DataFrame = field(repr=False)
    responses: pd.DataFrame = field(repr=False)
    group_columns: tuple[str, ...]
    questionnaire: str
    method: str
    settings: ScoringSettings
    period_order: tuple[str, ...] = ()

    def to_frame(self, detail: bool = False) -> pd.DataFrame:
        """The tidy scores table (a copy); ``detail=True`` adds ``se, n_eff, kind``."""
        columns = [*self.group_columns, *TIDY_COLUMNS]
        columns += [c for c in (*DESIGN_COLUMNS, *OPTIONAL_COLUMNS) if c in self.table.columns]
        if detail:
            columns += list(DETAIL_COLUMNS)
        return self.table[columns].copy()

    def index_of(self, code: str) -> pd.DataFrame:
        """The rows of one index or item code, e.g. ``result.index_of("SIPAS")``."""
        return self.to_frame().loc[lambda t: t["code"] == code].reset_index(drop=True)


def resolve_questionnaire(questionnaire: Questionnaire | str) -> Questionnaire:
    if isinstance(questionnaire, Questionnaire):
        return questionnaire
    if isinstance(questionnaire, str):
        return questionnaires.get(questionnaire)
    raise TypeError(
        f"questionnaire must be a Questionnaire or an id such as 'sipas-service', "
        f"got {questionnaire!r}"
    )


def resolve_settings(settings: ScoringSettings | None) -> ScoringSettings:
    if settings is None:
        return ScoringSettings()
    if not isinstance(settings, ScoringSettings):
        raise TypeError(f"settings must be a ScoringSettings, got {settings!r}")
    return settings


@dataclass(frozen=True)
class CheckedRows:
    """Responses checked and grouped: what every respondent-level computation starts from."""

    questionnaire: Questionnaire
    settings: ScoringSettings
    plan: ScoringPlan
    matrix: ResponseMatrix
    grouping: Grouping
    pairs: ScoredPairs


def check_rows(
    responses: pd.DataFrame,
    questionnaire: Questionnaire | str,
    settings: ScoringSettings | None,
    *,
    by: Sequence[str],
    period: PeriodSpec | None,
    weights: str | None,
    units: pd.DataFrame | None,
    unit_column: str,
    time_column: str,
    timezone: str,
) -> CheckedRows:
    """Check ``responses`` against the questionnaire and assign them to groups."""
    q = resolve_questionnaire(questionnaire)
    settings = resolve_settings(settings)
    plan = build_plan(q, settings)
    matrix = response_matrix(responses, plan, settings, weights)
    grouping = build_grouping(
        responses,
        by,
        period=period,
        time_column=time_column,
        timezone=timezone,
        units=units,
        unit_column=unit_column,
    )
    return CheckedRows(q, settings, plan, matrix, grouping, scored_pairs(matrix, grouping))


def score(
    responses: pd.DataFrame,
    questionnaire: Questionnaire | str = "sipas-service",
    *,
    by: Sequence[str] = (),
    period: PeriodSpec | None = None,
    weights: str | None = None,
    units: pd.DataFrame | None = None,
    unit_column: str = "unit_code",
    time_column: str = "submitted_at",
    timezone: str = DEFAULT_TIMEZONE,
    settings: ScoringSettings | None = None,
    intervals: bool = True,
    design: SurveyDesign | None = None,
) -> ScoreResult:
    """Score wide responses: every item, element, aspect and overall index, by group.

    Parameters
    ----------
    responses : DataFrame
        Wide responses (SIPAS.md §7): one column per stored item code of the questionnaire
        (profile items optional), plus the columns that ``by``, ``weights`` and ``period``
        need. ``valid``, ``flags``, ``questionnaire`` and ``questionnaire_version`` are used
        when present. Not modified.
    questionnaire : Questionnaire or str
        The questionnaire answered, or its id.
    by : sequence of str
        Breakdown columns, alone or combined, e.g. ``["unit_code", "period"]``,
        ``["channel"]``, ``["GENDER"]``. ``"period"`` is derived from ``time_column``.
        A missing value forms its own group.
    period : {"month", "quarter", "year"} or sequence of PeriodRange
        How ``"period"`` in ``by`` is formed (default month): local calendar periods in
        ``timezone``, or custom ranges of local dates (inclusive; they may overlap, and a
        response outside every range is not scored).
    weights : str, optional
        A column of positive respondent weights.
    units : DataFrame, optional
        The unit tree as ``unit_code, parent_code`` edges. With it, ``unit_column`` in
        ``by`` rolls up: each unit is scored on the pooled responses of itself and every
        unit below it.
    settings : ScoringSettings, optional
        The method's named settings (validity rule, missing-answer rule, min n, …).
    intervals : bool
        Compute the linearised intervals of nodes (the only respondent-level step).
    design : SurveyDesign, optional
        The survey's strata, clusters, weights and fpc (see :mod:`analysis.design`). Every
        index, items included, then gets the design-based linearised SE, its normal
        interval and a ``deff`` column; its weight column replaces ``weights``. Without
        it the numbers are those of independent respondents, as below.

    Returns
    -------
    ScoreResult
        ``.to_frame()`` is the tidy scores table.

    Raises
    ------
    DataError
        A column is missing, a code is out of range, a weight is not positive, … (the
        message names the row and column).

    Notes
    -----
    For item j of a group, with weights w (1 without a weight column), a_ij = 1 when
    respondent i gave an answer that counts (a scale code; "cannot judge" and empty do not)
    and y_ij its score (top2box: 1 if the code is 4 or 5; mean_score: (code − 1)/4):

    * item index I_j = 100 · Σ w·y_j / Σ w·a_j; n = Σ a_j. Interval: Wilson with the Kish
      effective size n_eff = (Σ w·a_j)² / Σ w²·a_j (= n unweighted); for mean_score a normal
      interval on the linearised SE below.
    * element index = unweighted mean of its item indices; aspect and overall = unweighted
      mean of their children. n = respondents who answered at least one item under it.
    * node SE by linearisation: z_ij = (y_ij − R_j a_ij) / Σ w·a_j, z_i = Σ_j λ_j z_ij with
      λ the node's (nested) mean weights, var = n/(n−1) · Σ_i (w_i z_i)² within the group
      (each group is its own stratum, as R's ``survey`` with ``ids = ~1``); interval
      I ± z_{0.975}·SE clipped to [0, 100], missing when SE is 0 or n < 2.
    * ``min_n_flag`` = n < ``settings.min_n``. Only scored responses (valid and not
      excluded) enter any row; ``ScoreResult.responses`` counts the others.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"HL_TC": [5, 4, 3, 2], "HL_TT": [5, 5, 4, 0],
    ...                      "HL_CC": [4, 4, 4, 4], "HL_KQ": [5, 3, 3, 3],
    ...                      "HL_PA": [0, 0, 5, 1], "HL": [5, 4, 4, 3]})
    >>> table = score(rows, "sipas-kiosk").to_frame()
    >>> table[["code", "n", "index"]].head(3)
        code  n  index
    0  SIPAS  4   65.0
    1     TC  4   50.0
    2  HL_TC  4   50.0
    """
    layout = None
    if design is not None:
        if weights is not None and weights != getattr(design, "weight", None):
            raise ValueError(
                f"weights={weights!r} and design.weight={design.weight!r}: "
                "with a design, give the weight column in the design only"
            )
        layout = design_layout(responses, design)
        weights = design.weight
    rows = check_rows(
        responses,
        questionnaire,
        settings,
        by=by,
        period=period,
        weights=weights,
        units=units,
        unit_column=unit_column,
        time_column=time_column,
        timezone=timezone,
    )
    if layout is not None and layout.derived_weights is not None:
        matrix = replace(rows.matrix, weights=layout.derived_weights)
        rows = replace(rows, matrix=matrix, pairs=scored_pairs(matrix, rows.grouping))
    q, settings, plan, matrix, grouping, pairs = (
        rows.questionnaire,
        rows.settings,
        rows.plan,
        rows.matrix,
        rows.grouping,
        rows.pairs,
    )
    tally = tally_rows(matrix, pairs, plan)
    items = item_estimates(tally, plan, settings.confidence)
    nodes = node_indices(items.share, plan, settings.empty_child)
    estimates = None
    if layout is not None and intervals:
        estimates = design_estimates(layout, matrix, pairs, plan, items, nodes)
        items = design_items(items, estimates, settings.confidence)
        se = estimates.node_se
    elif intervals:
        se = node_standard_errors(matrix, pairs, plan, items, nodes, tally.node_n)
    else:
        se = np.full(nodes.value.shape, np.nan)
    table = tidy_table(grouping.groups, plan, items, nodes, se, tally, settings)
    if estimates is not None:
        table = design_columns(table, report_order(plan), estimates)
    return ScoreResult(
        table=table,
        responses=_response_counts(matrix, grouping),
        group_columns=tuple(grouping.groups.columns),
        questionnaire=q.key,
        method=plan.method,
        settings=settings,
        period_order=grouping.period_order,
    )


def _response_counts(matrix: ResponseMatrix, grouping: Grouping) -> pd.DataFrame:
    rows, g = grouping.row_of_pairs(), grouping.n_groups

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(grouping.gid[mask[rows]], minlength=g)

    out = grouping.groups.copy()
    out["received"] = np.bincount(grouping.gid, minlength=g)
    out["scored"] = count(matrix.scored)
    out["invalid"] = count(~matrix.rule_valid)
    out["marked_not_valid"] = count(~matrix.column_valid)
    out["flagged"] = count(matrix.flagged)
    out["flag_excluded"] = count(matrix.flag_excluded)
    return out


def report_order(plan: ScoringPlan) -> list[tuple[str, int]]:
    """Rows of one group in reading order: each node, an element followed by its items;
    then the overall question, element questions, expectations and perceptions."""
    order: list[tuple[str, int]] = []

    def walk(v: int) -> None:
        node = plan.nodes[v]
        order.append(("node", v))
        order.extend(("measure", m) for m in node.items)
        for child in node.children:
            walk(child)

    walk(0)
    listed = {m for kind, m in order if kind == "measure"}
    rank = {
        "item": 0,
        "overall_question": 1,
        "element_question": 2,
        "expectation": 3,
        "perception": 4,
    }
    rest = sorted(
        (m for m in range(len(plan.measures)) if m not in listed),
        key=lambda m: (rank[plan.measures[m].level], m),
    )
    return order + [("measure", m) for m in rest]


def tidy_table(
    groups: pd.DataFrame,
    plan: ScoringPlan,
    items: ItemEstimates,
    nodes: NodeIndices,
    node_se: np.ndarray,
    tally: Tally,
    settings: ScoringSettings,
) -> pd.DataFrame:
    """Assemble the tidy table: one row per group × reported index, all groups at once."""
    order = report_order(plan)
    g, r = len(groups), len(order)
    index = np.empty((g, r))
    low, high, se, n_eff = (np.empty((g, r)) for _ in range(4))
    n = np.empty((g, r))
    level, code, label, kind = [], [], [], []
    node_n = tally.node_n
    node_low, node_high = normal_interval(100 * nodes.value, 100 * node_se, settings.confidence)
    for k, (what, p) in enumerate(order):
        if what == "node":
            node = plan.nodes[p]
            index[:, k] = 100 * nodes.value[:, p]
            low[:, k], high[:, k] = node_low[:, p], node_high[:, p]
            se[:, k] = 100 * node_se[:, p]
            n_eff[:, k] = np.nan
            n[:, k] = np.where(node_n[:, p] >= 0, node_n[:, p], np.nan)  # −1: not given
            level.append(node.level)
            code.append(node.code)
            label.append(node.label_vi)
            kind.append("index")
        else:
            measure = plan.measures[p]
            index[:, k] = 100 * items.share[:, p]
            low[:, k], high[:, k] = 100 * items.low[:, p], 100 * items.high[:, p]
            se[:, k] = 100 * items.se[:, p] if measure.kind == "mean" else np.nan
            n_eff[:, k] = items.n_eff[:, p]
            n[:, k] = items.n[:, p]
            level.append(measure.level)
            code.append(measure.code)
            label.append(measure.label_vi)
            kind.append(measure.kind)
    take = np.repeat(np.arange(g), r)
    table = (
        groups.iloc[take].reset_index(drop=True)
        if len(groups.columns)
        else pd.DataFrame(index=pd.RangeIndex(g * r))
    )
    # pandas-stubs do not allow float counts into Int64 (pandas does, for whole numbers).
    counts = pd.array(n.ravel(), dtype="Int64")  # type: ignore[call-overload]
    table["level"] = np.tile(np.array(level, dtype=object), g)
    table["code"] = np.tile(np.array(code, dtype=object), g)
    table["label_vi"] = np.tile(np.array(label, dtype=object), g)
    table["n"] = counts
    table["index"] = index.ravel()
    table["ci_low"] = low.ravel()
    table["ci_high"] = high.ravel()
    table["min_n_flag"] = pd.array(counts < settings.min_n, dtype="boolean")
    table["se"] = se.ravel()
    table["n_eff"] = n_eff.ravel()
    table["kind"] = np.tile(np.array(kind, dtype=object), g)
    for column in ("level", "code", "label_vi", "kind"):
        table[column] = table[column].astype("str")
    return table


def count_table(
    responses: pd.DataFrame,
    questionnaire: Questionnaire | str = "sipas-service",
    *,
    by: Sequence[str] = (),
    period: PeriodSpec | None = None,
    weights: str | None = None,
    units: pd.DataFrame | None = None,
    unit_column: str = "unit_code",
    time_column: str = "submitted_at",
    timezone: str = DEFAULT_TIMEZONE,
    settings: ScoringSettings | None = None,
) -> pd.DataFrame:
    """The count table of scored responses: what the app's SQL ``GROUP BY`` produces.

    Parameters are those of :func:`score`.

    Returns
    -------
    DataFrame
        Grouping columns, then ``item`` (stored item code), ``code``, ``n`` (respondents
        with that code), and with ``weights`` also ``weight`` (Σw) and ``weight_sq`` (Σw²).
        Rows whose ``item`` is an index-node code (``SIPAS``, ``TC`` …) have an empty
        ``code`` and count the respondents who answered at least one item under the node
        (the node's ``n``); they are written for every group, so a group whose responses
        were all invalid still appears.

    Notes
    -----
    Only scored responses are counted: the validity rule, ``valid`` column and flag
    settings are applied here (in SQL: a ``WHERE`` on the stored verdicts). Score the table
    with :func:`score_counts` under the same settings.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"HL_TC": [5, 4], "HL_TT": [5, 5], "HL_CC": [4, 1],
    ...                      "HL_KQ": [5, 3], "HL_PA": [0, 0], "HL": [5, 4]})
    >>> count_table(rows, "sipas-kiosk").head(4)
        item  code  n
    0  HL_TC     4  1
    1  HL_TC     5  1
    2  HL_TT     5  2
    3  HL_CC     1  1
    """
    rows = check_rows(
        responses,
        questionnaire,
        settings,
        by=by,
        period=period,
        weights=weights,
        units=units,
        unit_column=unit_column,
        time_column=time_column,
        timezone=timezone,
    )
    plan, grouping = rows.plan, rows.grouping
    tally = tally_rows(rows.matrix, rows.pairs, plan)
    g_idx, c_idx, s_idx = np.nonzero(tally.counts[:, :, 1:])
    item_part = pd.DataFrame(
        {
            "_g": g_idx,
            "item": np.array(plan.columns, dtype=object)[c_idx],
            "code": s_idx.astype(np.int64),
            "n": tally.counts[g_idx, c_idx, s_idx + 1],
        }
    )
    if tally.weight is not None and tally.weight_sq is not None:
        item_part["weight"] = tally.weight[g_idx, c_idx, s_idx + 1]
        item_part["weight_sq"] = tally.weight_sq[g_idx, c_idx, s_idx + 1]
    g_count, v_count = tally.node_n.shape
    node_part = pd.DataFrame(
        {
            "_g": np.repeat(np.arange(g_count), v_count),
            "item": np.tile(np.array([nd.code for nd in plan.nodes], dtype=object), g_count),
            "code": pd.array([pd.NA] * (g_count * v_count), dtype="Int64"),
            "n": tally.node_n.ravel(),
        }
    )
    both = pd.concat([item_part.astype({"code": "Int64"}), node_part], ignore_index=True)
    both = both.sort_values("_g", kind="stable").reset_index(drop=True)
    groups = grouping.groups.iloc[both["_g"].to_numpy()].reset_index(drop=True)
    out = pd.concat([groups, both.drop(columns="_g")], axis=1)
    out["item"] = out["item"].astype("str")
    return out


def score_counts(
    counts: pd.DataFrame,
    questionnaire: Questionnaire | str = "sipas-service",
    *,
    by: Sequence[str] | None = None,
    settings: ScoringSettings | None = None,
) -> ScoreResult:
    """Score a count table (see :func:`count_table`): indices and item intervals only.

    Parameters
    ----------
    counts : DataFrame
        Grouping columns, ``item``, ``code``, ``n`` and optionally ``weight`` (Σw) with
        ``weight_sq`` (Σw², needed for the Kish effective n). Node rows (``item`` = node
        code, empty ``code``) give each node's ``n``; without them node ``n`` is missing.
    by : sequence of str, optional
        The grouping columns; by default every column that is not a count-table column.
    settings : ScoringSettings, optional
        The settings the table was counted under (see :func:`count_table`).

    Returns
    -------
    ScoreResult
        The same indices, ``n`` and item intervals as :func:`score` on the rows.
        Node intervals (``ci_low``/``ci_high`` of element, aspect, overall) are missing:
        they need respondent-level rows (see ``analysis/README.md``).

    Examples
    --------
    >>> import pandas as pd
    >>> counts = pd.DataFrame({"item": ["HL_TC", "HL_TC", "HL_TC"], "code": [5, 3, 0],
    ...                        "n": [6, 2, 1]})
    >>> table = score_counts(counts, "sipas-kiosk").to_frame()
    >>> table.loc[table["code"] == "HL_TC", ["n", "index"]]
       n  index
    2  8   75.0
    """
    q = resolve_questionnaire(questionnaire)
    settings = resolve_settings(settings)
    plan = build_plan(q, settings)
    if not isinstance(counts, pd.DataFrame):
        raise TypeError(f"counts must be a pandas DataFrame, got {type(counts).__name__}")
    for column in COUNT_COLUMNS:
        if column not in counts.columns:
            raise DataError("the count table needs item, code and n", column=column)
    has_weight = "weight" in counts.columns
    if has_weight != ("weight_sq" in counts.columns):
        raise DataError(
            "weight (Σw) and weight_sq (Σw²) go together",
            column="weight" if not has_weight else "weight_sq",
        )
    reserved = {*COUNT_COLUMNS, *WEIGHT_COLUMNS}
    by = [c for c in counts.columns if c not in reserved] if by is None else list(by)
    grouping = build_grouping(counts, by)
    g, c, k = grouping.n_groups, len(plan.columns), plan.slots
    rows = grouping.row_of_pairs()
    gid = grouping.gid

    # Item names are hashed once; each row then finds its column or node by lookup.
    positions, names = pd.factorize(counts["item"], use_na_sentinel=True)
    column_of = {name: j for j, name in enumerate(plan.columns)}
    node_of = {node.code: v for v, node in enumerate(plan.nodes)}
    col_of_name = np.array([column_of.get(str(x), -1) for x in names] + [-1], dtype=np.int64)
    node_of_name = np.array([node_of.get(str(x), -1) for x in names] + [-1], dtype=np.int64)
    col, node = col_of_name[positions], node_of_name[positions]
    unknown = (col < 0) & (node < 0)
    if unknown.any():
        row = counts.index[int(np.flatnonzero(unknown)[0])]
        name = counts["item"].loc[row]
        raise DataError(
            f"{shown(name)} is not an item or index of {q.key}", row=row, column="item", value=name
        )
    n = _whole_numbers(counts, "n")
    code_raw = pd.to_numeric(counts["code"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    is_item = col >= 0
    allowed = np.zeros((c, k), dtype=bool)  # allowed[column, slot]
    for j, codes in enumerate(plan.allowed):
        allowed[j, [code + 1 for code in codes]] = True
    whole = (
        np.isfinite(code_raw)
        & (code_raw == np.round(code_raw))
        & (code_raw >= 0)
        & (code_raw < k - 1)
    )
    slot = np.where(whole, code_raw, -1).astype(np.int64) + 1
    bad = is_item & ~(whole & allowed[np.maximum(col, 0), slot])
    if bad.any():
        row = counts.index[int(np.flatnonzero(bad)[0])]
        raise DataError(
            f"code {shown(counts['code'].loc[row])} is not a code of item "
            f"{plan.columns[col[counts.index.get_loc(row)]]}",
            row=row,
            column="code",
            value=counts["code"].loc[row],
        )
    bad_node = (node >= 0) & ~np.isnan(code_raw)
    if bad_node.any():
        row = counts.index[int(np.flatnonzero(bad_node)[0])]
        raise DataError(
            "a node row (item = an index code) has an empty code", row=row, column="code"
        )

    item_rows = np.flatnonzero(is_item[rows])
    key = (gid[item_rows] * c + col[rows[item_rows]]) * k + slot[rows[item_rows]]
    _no_duplicates(counts, rows[item_rows], key, g * c * k)
    tally_counts = np.bincount(key, n[rows[item_rows]], minlength=g * c * k)
    weight = weight_sq = None
    if has_weight:
        wsum = _positive_sums(counts, "weight")
        w2sum = _positive_sums(counts, "weight_sq")
        size = g * c * k
        weight = np.bincount(key, wsum[rows[item_rows]], size).astype(float).reshape(g, c, k)
        weight_sq = np.bincount(key, w2sum[rows[item_rows]], size).astype(float).reshape(g, c, k)
    node_rows = np.flatnonzero(node[rows] >= 0)
    node_n = np.full((g, len(plan.nodes)), -1, dtype=np.int64)
    if len(node_rows):
        node_key = gid[node_rows] * len(plan.nodes) + node[rows[node_rows]]
        _no_duplicates(counts, rows[node_rows], node_key, g * len(plan.nodes))
        node_n.ravel()[node_key] = n[rows[node_rows]]
    tally = Tally(tally_counts.round().astype(np.int64).reshape(g, c, k), weight, weight_sq, node_n)
    items = item_estimates(tally, plan, settings.confidence)
    nodes = node_indices(items.share, plan, settings.empty_child)
    se = np.full(nodes.value.shape, np.nan)
    table = tidy_table(grouping.groups, plan, items, nodes, se, tally, settings)
    responses = grouping.groups.copy()
    root = node_n[:, 0]  # scored respondents, when the table has node rows
    responses["scored"] = pd.array([int(v) if v >= 0 else pd.NA for v in root], dtype="Int64")
    order = (
        tuple(str(v) for v in grouping.groups[PERIOD].dropna().unique())
        if (PERIOD in grouping.groups.columns)
        else ()
    )
    return ScoreResult(
        table=table,
        responses=responses,
        group_columns=tuple(grouping.groups.columns),
        questionnaire=q.key,
        method=plan.method,
        settings=settings,
        period_order=order,
    )


def _whole_numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~(np.isfinite(values) & (values >= 0) & (values == np.round(values)))
    if bad.any():
        row = frame.index[int(np.flatnonzero(bad)[0])]
        raise DataError(
            f"{shown(frame[column].loc[row])} is not a count (a whole number ≥ 0)",
            row=row,
            column=column,
            value=frame[column].loc[row],
        )
    return values.astype(np.int64)


def _positive_sums(frame: pd.DataFrame, column: str) -> NDArray[np.float64]:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    is_item = frame["code"].notna().to_numpy()
    bad = is_item & ~(np.isfinite(values) & (values > 0))
    if bad.any():
        row = frame.index[int(np.flatnonzero(bad)[0])]
        raise DataError(
            f"{shown(frame[column].loc[row])} is not a positive sum of weights",
            row=row,
            column=column,
            value=frame[column].loc[row],
        )
    summed: NDArray[np.float64] = np.nan_to_num(values)
    return summed


def _no_duplicates(frame: pd.DataFrame, rows: np.ndarray, key: np.ndarray, size: int) -> None:
    times = np.bincount(key, minlength=size)
    if (times > 1).any():
        dup = np.flatnonzero(times > 1)[0]
        row = frame.index[int(rows[np.flatnonzero(key == dup)[1]])]
        raise DataError(
            "this (group, item, code) appears twice in the count table", row=row, column="item"
        )
