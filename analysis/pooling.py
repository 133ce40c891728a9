"""An all-channel SIPAS: pool the scores of several questionnaires (the full desk form
``sipas-service`` and the short kiosk form ``sipas-kiosk``) element by element.

The two forms share the five element codes (TC, TT, CC, KQ, PA) and the overall question HL,
but not their items: the full form asks 16 criteria, the kiosk one question per element. So
the forms are pooled at element level, never at item level (README.md, "All-channel SIPAS").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .errors import AnalysisError
from .intervals import critical_value, wilson_from_share

Weighting = Literal["respondents", "equal"]

#: The service-delivery elements every pooled form must report (SIPAS.md §3).
ELEMENTS = ("TC", "TT", "CC", "KQ", "PA")

#: Columns of the pooled table besides the grouping columns.
POOLED_COLUMNS = (
    "level",
    "code",
    "label_vi",
    "n",
    "index",
    "ci_low",
    "ci_high",
    "min_n_flag",
    "se",
    "forms",
)
#: Columns of the per-form parts table besides the grouping columns.
PART_COLUMNS = ("form", "code", "n", "index", "se", "weight")


@dataclass(frozen=True)
class PoolingSettings:
    """How the forms are pooled. The method is not settled by any published source.

    Parameters
    ----------
    weighting : {"respondents", "equal"}
        ``respondents`` (default): each form counts by the number of respondents who answered
        the element (a kiosk answer weighs as much as a full-form answer). ``equal``: each form
        that has answers counts the same, whatever its size.
    elements : tuple of str
        The element codes pooled; SIPAS is their unweighted mean (SIPAS.md §4).
    overall_code : str
        The code of the overall index in the pooled table.
    overall_question : str
        The overall satisfaction question asked on every form (pooled as one item).
    min_n : int
        Below this ``n`` a pooled index is flagged (``min_n_flag``).
    confidence : float
        Coverage of every interval.
    """

    weighting: Weighting = "respondents"
    elements: tuple[str, ...] = ELEMENTS
    overall_code: str = "SIPAS"
    overall_question: str = "HL"
    min_n: int = 30
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if self.weighting not in ("respondents", "equal"):
            raise ValueError(f"weighting must be 'respondents' or 'equal', got {self.weighting!r}")
        if not self.elements:
            raise ValueError("elements must name at least one element code, got ()")
        if isinstance(self.min_n, bool) or not isinstance(self.min_n, int) or self.min_n < 0:
            raise ValueError(f"min_n must be a whole number ≥ 0, got {self.min_n!r}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must be between 0 and 1, got {self.confidence!r}")


@dataclass(frozen=True)
class PooledResult:
    """The all-channel indices by group and what each form contributed.

    Attributes
    ----------
    table : DataFrame
        Grouping columns, then ``level`` (overall / element / overall_question), ``code``,
        ``label_vi``, ``n`` (answers behind the index, summed over forms), ``index``,
        ``ci_low``, ``ci_high``, ``min_n_flag``, ``se`` (index points) and ``forms`` (how
        many forms contributed).
    parts : DataFrame
        Grouping columns, then ``form, code, n, index, se, weight``: each form's own index
        and the weight it received in the pooled one.
    group_columns : tuple of str
    settings : PoolingSettings
    """

    table: pd.DataFrame = field(repr=False)
    parts: pd.DataFrame = field(repr=False)
    group_columns: tuple[str, ...]
    settings: PoolingSettings

    def to_frame(self) -> pd.DataFrame:
        """The pooled table (a copy)."""
        return self.table.copy()


def _weights(n: np.ndarray, usable: np.ndarray, weighting: Weighting) -> np.ndarray:
    """Per form (columns) weights summing to 1 over the usable forms of each row."""
    raw = np.where(usable, n if weighting == "respondents" else 1.0, 0.0)
    total = raw.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, raw / total, 0.0)


def pool_forms(
    parts: Mapping[str, pd.DataFrame],
    *,
    by: Sequence[str] = (),
    settings: PoolingSettings | None = None,
) -> PooledResult:
    """Pool the element indices of several questionnaires into one all-channel SIPAS.

    Parameters
    ----------
    parts : mapping of str to DataFrame
        Form name (e.g. ``"sipas-service"``) → its tidy scores with detail, as
        ``analysis.score(...).to_frame(detail=True)`` returns them: the ``by`` columns,
        ``level, code, label_vi, n, index, se``. Each must hold the element rows of
        ``settings.elements``; a form with no answers in a group may simply lack its rows.
    by : sequence of str
        Grouping columns present in every part (e.g. ``["period"]``).
    settings : PoolingSettings, optional

    Returns
    -------
    PooledResult

    Raises
    ------
    ValueError
        No part, or a part lacking a needed column.
    AnalysisError
        A part scores none of the elements (a form that is not a service-delivery form).

    Notes
    -----
    For a group, element :math:`e` and the forms :math:`f` with an index :math:`E_{f,e}` on
    :math:`n_{f,e} > 0` answers and standard error :math:`s_{f,e}`:

    .. math:: w_{f,e} = \\frac{n_{f,e}}{\\sum_g n_{g,e}} \\ \\text{(respondents)} \\quad
              \\text{or} \\quad \\frac{1}{F_e} \\ \\text{(equal)}

    .. math:: E_e = \\sum_f w_{f,e} E_{f,e}, \\qquad
              SE(E_e) = \\sqrt{\\sum_f w_{f,e}^2 s_{f,e}^2}

    (the forms are answered by different people, so their estimates are independent). The
    pooled SIPAS is the unweighted mean of the pooled elements that have an index,
    :math:`S = \\frac{1}{K}\\sum_e E_e`, as for one form. Its standard error uses each
    form's own SIPAS standard error :math:`s_f` (which carries the correlation of a person's
    answers across elements) and the form's mean weight :math:`\\bar w_f = \\frac{1}{K}
    \\sum_e w_{f,e}`: :math:`SE(S) = \\sqrt{\\sum_f \\bar w_f^2 s_f^2}`. It is exact when a
    form's weight is the same for every element, and otherwise an approximation (item
    non-response makes the weights differ slightly). ``n`` of SIPAS is the sum of the forms'
    SIPAS ``n``.

    The overall question (HL) is the same question on every form, so it is pooled as one
    item whatever the weighting: :math:`p = \\sum_f n_f p_f / \\sum_f n_f` on
    :math:`n = \\sum_f n_f` answers, with a Wilson interval.

    Intervals are :math:`E \\pm z \\cdot SE`, clipped to [0, 100]; missing where the SE is 0
    or unknown.

    Examples
    --------
    >>> import pandas as pd
    >>> service = pd.DataFrame({"level": ["element"], "code": ["TC"], "label_vi": ["Tiếp cận"],
    ...                         "n": [30], "index": [80.0], "se": [4.0]})
    >>> kiosk = pd.DataFrame({"level": ["element"], "code": ["TC"], "label_vi": ["Tiếp cận"],
    ...                       "n": [10], "index": [60.0], "se": [10.0]})
    >>> s = PoolingSettings(elements=("TC",))
    >>> t = pool_forms({"sipas-service": service, "sipas-kiosk": kiosk}, settings=s).table
    >>> t.loc[t["code"] == "TC", ["n", "index", "se"]].round(4).values.tolist()
    [[40, 75.0, 3.9051]]
    """
    s = settings or PoolingSettings()
    if not parts:
        raise ValueError("parts must name at least one form, got none")
    groups = list(by)
    need = {*groups, "level", "code", "n", "index", "se"}
    forms = list(parts)
    frames: list[pd.DataFrame] = []
    for name in forms:
        frame = parts[name]
        missing = sorted(need - set(frame.columns))
        if missing:
            raise ValueError(f"parts[{name!r}] lacks the column(s) {', '.join(missing)}")
        wanted = frame[frame["code"].isin([*s.elements, s.overall_code, s.overall_question])]
        if len(frame) and not wanted["code"].isin(s.elements).any():
            raise AnalysisError(
                f"parts[{name!r}] scores none of the elements {', '.join(s.elements)}: "
                "only service-delivery forms can be pooled"
            )
        wanted = wanted.assign(form=name)
        if "label_vi" not in wanted:
            wanted = wanted.assign(label_vi=wanted["code"])
        frames.append(wanted[[*groups, "form", "level", "code", "label_vi", "n", "index", "se"]])
    long = pd.concat(frames, ignore_index=True)
    long["n"] = pd.to_numeric(long["n"], errors="coerce").astype(float)
    long["index"] = pd.to_numeric(long["index"], errors="coerce").astype(float)
    long["se"] = pd.to_numeric(long["se"], errors="coerce").astype(float)

    if groups:
        keys = long[groups].drop_duplicates().reset_index(drop=True)
    else:
        keys = pd.DataFrame(index=pd.RangeIndex(1 if len(long) else 0))
    labels = long.drop_duplicates("code").set_index("code")["label_vi"].to_dict()
    crit = critical_value(s.confidence)
    out_rows: list[dict[str, object]] = []
    part_rows: list[dict[str, object]] = []

    def grid(code: str, column: str) -> np.ndarray:
        """Rows = groups, columns = forms; NaN where a form lacks the code in a group."""
        rows = long[long["code"] == code]
        if groups:
            table = rows.pivot_table(index=groups, columns="form", values=column, aggfunc="first")
            table = table.reindex(columns=forms)
            index = pd.MultiIndex.from_frame(keys) if len(groups) > 1 else keys[groups[0]]
            table = table.reindex(index)
            return np.asarray(table.to_numpy(dtype=float))
        values = rows.set_index("form")[column].reindex(forms).to_numpy(dtype=float)
        return values.reshape(1, -1)[: len(keys)]

    element_weights: list[np.ndarray] = []
    element_values: list[np.ndarray] = []
    for code in s.elements:
        n, index, se = grid(code, "n"), grid(code, "index"), grid(code, "se")
        usable = np.isfinite(index) & (np.nan_to_num(n) > 0)
        w = _weights(np.nan_to_num(n), usable, s.weighting)
        has = usable.any(axis=1)
        value = np.where(has, np.nansum(np.where(usable, w * index, 0.0), axis=1), np.nan)
        pooled_se = _combined_se(w, se, usable)
        total = np.where(has, np.where(usable, n, 0.0).sum(axis=1), 0.0)
        element_weights.append(w)
        element_values.append(value)
        for g in range(len(keys)):
            out_rows.append(
                _row(
                    keys,
                    groups,
                    g,
                    "element",
                    code,
                    labels.get(code, code),
                    total[g],
                    value[g],
                    pooled_se[g],
                    int(usable[g].sum()),
                    crit,
                    s.min_n,
                )
            )
            for f, form in enumerate(forms):
                if usable[g, f]:
                    part_rows.append(
                        {
                            **_group(keys, groups, g),
                            "form": form,
                            "code": code,
                            "n": int(n[g, f]),
                            "index": index[g, f],
                            "se": se[g, f],
                            "weight": w[g, f],
                        }
                    )

    # SIPAS: the mean of the pooled elements; SE from each form's own SIPAS SE.
    values = np.column_stack(element_values)
    have = np.isfinite(values)
    count = have.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        overall = np.where(count > 0, np.nansum(values, axis=1) / count, np.nan)
    mean_w = np.zeros((len(keys), len(forms)))
    for w, value in zip(element_weights, element_values, strict=True):
        mean_w += np.where(np.isfinite(value)[:, None], w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_w = np.where(count[:, None] > 0, mean_w / count[:, None], 0.0)
    n_all, se_all = grid(s.overall_code, "n"), grid(s.overall_code, "se")
    part_index = grid(s.overall_code, "index")
    contributes = mean_w > 0
    overall_se = _combined_se(mean_w, se_all, contributes)
    overall_n = np.where(contributes, np.nan_to_num(n_all), 0.0).sum(axis=1)
    for g in range(len(keys)):
        out_rows.append(
            _row(
                keys,
                groups,
                g,
                "overall",
                s.overall_code,
                labels.get(s.overall_code, "Chỉ số SIPAS"),
                overall_n[g],
                overall[g],
                overall_se[g],
                int(contributes[g].sum()),
                crit,
                s.min_n,
            )
        )
        for f, form in enumerate(forms):
            if contributes[g, f]:
                part_rows.append(
                    {
                        **_group(keys, groups, g),
                        "form": form,
                        "code": s.overall_code,
                        "n": int(np.nan_to_num(n_all[g, f])),
                        "index": part_index[g, f],
                        "se": se_all[g, f],
                        "weight": mean_w[g, f],
                    }
                )

    # HL: one question on every form, pooled as one item.
    n_hl, p_hl = grid(s.overall_question, "n"), grid(s.overall_question, "index")
    ok = np.isfinite(p_hl) & (np.nan_to_num(n_hl) > 0)
    n_sum = np.where(ok, n_hl, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_sum > 0, np.where(ok, n_hl * p_hl, 0.0).sum(axis=1) / n_sum, np.nan)
    low, high = wilson_from_share(share / 100, n_sum, s.confidence)
    for g in range(len(keys)):
        if n_sum[g] > 0:
            row = _row(
                keys,
                groups,
                g,
                "overall_question",
                s.overall_question,
                labels.get(s.overall_question, s.overall_question),
                n_sum[g],
                share[g],
                np.nan,
                int(ok[g].sum()),
                crit,
                s.min_n,
            )
            row["ci_low"], row["ci_high"] = 100 * low[g], 100 * high[g]
            out_rows.append(row)
            for f, form in enumerate(forms):
                if ok[g, f]:
                    part_rows.append(
                        {
                            **_group(keys, groups, g),
                            "form": form,
                            "code": s.overall_question,
                            "n": int(n_hl[g, f]),
                            "index": p_hl[g, f],
                            "se": np.nan,
                            "weight": n_hl[g, f] / n_sum[g],
                        }
                    )

    level_order = {"overall": 0, "element": 1, "overall_question": 2}
    table = pd.DataFrame(out_rows, columns=[*groups, *POOLED_COLUMNS])
    if len(table):
        table = (
            table.assign(_o=table["level"].map(level_order))
            .sort_values([*groups, "_o"], kind="stable")
            .drop(columns="_o")
            .reset_index(drop=True)
        )
    table["n"] = pd.array(table["n"].to_numpy(), dtype="Int64")
    table["min_n_flag"] = pd.array(table["min_n_flag"].to_numpy(), dtype="boolean")
    parts_table = pd.DataFrame(part_rows, columns=[*groups, *PART_COLUMNS])
    return PooledResult(table, parts_table, tuple(groups), s)


def _combined_se(w: np.ndarray, se: np.ndarray, used: np.ndarray) -> np.ndarray:
    """√Σ w²·se² over the used forms of each row; NaN where a used form's SE is unknown."""
    unknown = (used & ~np.isfinite(se)).any(axis=1) | ~used.any(axis=1)
    var = np.where(used & np.isfinite(se), (w * np.nan_to_num(se)) ** 2, 0.0).sum(axis=1)
    return np.where(unknown, np.nan, np.sqrt(var))


def _group(keys: pd.DataFrame, groups: list[str], g: int) -> dict[str, object]:
    return {c: keys.iloc[g][c] for c in groups}


def _row(
    keys: pd.DataFrame,
    groups: list[str],
    g: int,
    level: str,
    code: str,
    label: str,
    n: float,
    value: float,
    se: float,
    forms: int,
    crit: float,
    min_n: int,
) -> dict[str, object]:
    usable = bool(np.isfinite(value) and np.isfinite(se) and se > 0)
    return {
        **_group(keys, groups, g),
        "level": level,
        "code": code,
        "label_vi": label,
        "n": int(n),
        "index": float(value),
        "ci_low": float(np.clip(value - crit * se, 0, 100)) if usable else np.nan,
        "ci_high": float(np.clip(value + crit * se, 0, 100)) if usable else np.nan,
        "min_n_flag": int(n) < min_n,
        "se": float(se),
        "forms": forms,
    }
