"""The tidy scores table of SIPAS.md §7, with the optional columns a report asks for."""

from __future__ import annotations

import pandas as pd

from .comparison import ChangeResult
from .ranking import RankResult
from .scoring import DESIGN_COLUMNS, OPTIONAL_COLUMNS, TIDY_COLUMNS, ScoreResult
from .targets import TargetResult


def tidy_scores(
    scores: ScoreResult,
    *,
    targets: TargetResult | None = None,
    ranks: RankResult | None = None,
    changes: ChangeResult | None = None,
) -> pd.DataFrame:
    """The tidy scores table: grouping columns, ``level … min_n_flag``, ``deff`` when scored
    with a survey design, then where asked
    ``target, gap`` (from :func:`join_targets`), ``rank, rank_change`` (from
    :func:`rank_units`) and ``p_change`` (from :func:`compare`; Holm-adjusted when the
    comparison was made with ``holm_correction=True``).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis import score, rank_units
    >>> rows = pd.DataFrame({"unit_code": ["A", "B"], "HL_TC": [5, 3], "HL_TT": [5, 3],
    ...     "HL_CC": [5, 3], "HL_KQ": [5, 3], "HL_PA": [5, 3], "HL": [5, 3]})
    >>> result = score(rows, "sipas-kiosk", by=["unit_code"])
    >>> table = tidy_scores(result, ranks=rank_units(result))
    >>> list(table.columns)[-3:]
    ['min_n_flag', 'rank', 'rank_change']
    """
    if not isinstance(scores, ScoreResult):
        raise TypeError(f"scores must be a ScoreResult, got {type(scores).__name__}")
    table = scores.to_frame()
    keys = [*scores.group_columns, "level", "code"]
    if targets is not None:
        found = targets.to_frame()[[*keys, "target", "gap"]]
        table = table.merge(found, on=keys, how="left")
    if ranks is not None:
        found = ranks.to_frame()[[*keys, "rank", "rank_change"]]
        table = table.merge(found, on=keys, how="left")
    if changes is not None:
        frame = changes.to_frame()
        p = "p_holm" if changes.holm else "p_value"
        found = frame[[*keys, p]].rename(columns={p: "p_change"})
        table = table.merge(found, on=keys, how="left")
    columns = [*scores.group_columns, *TIDY_COLUMNS]
    columns += [c for c in (*DESIGN_COLUMNS, *OPTIONAL_COLUMNS) if c in table.columns]
    return table[columns]
