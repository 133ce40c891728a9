"""Summaries of raw microdata on a Dask cluster: each partition summed where it lies, then added.

Responses never leave the workers; only summary tables travel (a few thousand rows per
partition at a desk × day grain), and they add up to exactly the table
:func:`analysis.summaries.build_summaries` builds from the whole frame in one process.
Dask is an optional dependency (``pip install 'sipas[scale]'``), imported only here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from questionnaires import Questionnaire

from .breakdown import DEFAULT_TIMEZONE, PeriodSpec
from .scoring import resolve_questionnaire
from .settings import ScoringSettings
from .summaries import Summaries, add, build_summaries

#: How many partial summaries one task adds together (a tree of additions, not a chain).
FAN_IN = 8


def _partition_summaries(
    part: pd.DataFrame, questionnaire: Questionnaire, options: dict[str, Any]
) -> Summaries:
    return build_summaries(part, questionnaire, **options)


def build_summaries_dask(
    responses: Any,
    questionnaire: Questionnaire | str = "sipas-service",
    *,
    by: Sequence[str] = (),
    period: PeriodSpec | None = None,
    weights: str | None = None,
    overall_item: str | None = None,
    time_column: str = "submitted_at",
    timezone: str = DEFAULT_TIMEZONE,
    settings: ScoringSettings | None = None,
) -> Summaries:
    """:func:`analysis.summaries.build_summaries` of a Dask DataFrame, partition by partition.

    Parameters
    ----------
    responses : dask.dataframe.DataFrame
        Wide responses (e.g. ``dask.dataframe.read_parquet("responses/*.parquet")``).
        The computation runs on the active ``dask.distributed`` client if there is one,
        else on Dask's default local scheduler.
    questionnaire, by, period, weights, overall_item, time_column, timezone, settings
        As for :func:`analysis.summaries.build_summaries`.

    Returns
    -------
    Summaries
        Without weights, identical (every column, bit for bit) to ``build_summaries`` of
        the whole frame computed in one process; with weights equal up to the order in
        which floating-point sums are added (relative 1e-12).

    Notes
    -----
    Each partition is summed by ``build_summaries`` on its worker; the partial tables are
    then added ``FAN_IN`` at a time in a tree (:func:`analysis.summaries.add`), so no task
    holds more than a few summary tables. A data error names the partition's own row label.
    """
    from dask.delayed import delayed  # optional dependency: only this path needs it

    q = resolve_questionnaire(questionnaire)
    options: dict[str, Any] = {
        "by": tuple(by),
        "period": period,
        "weights": weights,
        "overall_item": overall_item,
        "time_column": time_column,
        "timezone": timezone,
        "settings": settings,
    }
    build = delayed(_partition_summaries, pure=True)
    combine = delayed(add, pure=True)
    level = [build(part, q, options) for part in responses.to_delayed()]
    while len(level) > 1:
        level = [combine(*level[k : k + FAN_IN]) for k in range(0, len(level), FAN_IN)]
    result = level[0].compute()
    if not isinstance(result, Summaries):
        raise TypeError(f"a partition gave {type(result).__name__}, not Summaries")
    return result
