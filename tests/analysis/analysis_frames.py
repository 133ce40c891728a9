"""Helpers for analysis/ tests: questionnaires and small wide-format frames built by hand.

A plain module with its own name (not ``conftest``), so importing it cannot collide with
another directory's ``conftest`` when the whole suite runs in pytest's default import mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

import questionnaires
from questionnaires import Questionnaire

SERVICE = questionnaires.get("sipas-service")
KIOSK = questionnaires.get("sipas-kiosk")
FORM_2017 = questionnaires.get("sipas-2017")
FORM_2023 = questionnaires.get("sipas-2023")

#: 1.959963984540054…: the 97.5% normal quantile, written out so hand-worked tests do not
#: borrow it from the code under test.
Z95 = 1.959963984540054


def wide(
    form: Questionnaire,
    answers: Mapping[str, Sequence[Any]],
    /,
    *,
    fill: int | None = None,
    n: int | None = None,
    **system: Sequence[Any],
) -> pd.DataFrame:
    """A wide responses frame: every answer column of the questionnaire ``form``.

    Columns not in ``answers`` hold ``fill`` for satisfaction items (e.g. 4 to make every
    other criterion "Hài lòng") and are empty otherwise. ``system`` adds columns such as
    ``unit_code=[...]``.
    """
    lengths = {len(v) for v in [*answers.values(), *system.values()]} | (
        {n} if n is not None else set()
    )
    if len(lengths) != 1:
        raise ValueError(f"columns of different lengths (or no length): {lengths}")
    n = lengths.pop()
    satisfaction = {i.code for i in form.satisfaction_items}
    frame: dict[str, Any] = dict(system)
    for column in form.answer_columns():
        if column in answers:
            values = answers[column]
        elif column in satisfaction and fill is not None:
            values = [fill] * n
        else:
            values = [None] * n
        frame[column] = pd.array(values, dtype="Int64")
    return pd.DataFrame(frame)


def random_wide(
    rng: np.random.Generator,
    n: int,
    questionnaire: Questionnaire = SERVICE,
    *,
    units: Sequence[str] = ("A", "B", "C"),
    missing: float = 0.1,
    cannot_judge: float = 0.1,
) -> pd.DataFrame:
    """Random responses with correlated answers (a latent satisfaction per respondent)."""
    latent = rng.normal(0, 1, n)
    frame: dict[str, Any] = {"unit_code": rng.choice(list(units), n)}
    for item in questionnaire.items.values():
        for column in item.sub_items():
            if item.scale is None:
                continue
            scale = np.array(item.codes if item.type == "multi" else item.scale.codes)
            if item.role in ("satisfaction", "overall", "question"):
                noisy = latent + rng.normal(0, 1, n)
                codes = np.clip(np.round(noisy + 3.5), 1, 5)
            else:
                codes = rng.choice(scale, n).astype(float)
            if 0 in item.codes:
                codes[rng.random(n) < cannot_judge] = 0
            codes[rng.random(n) < missing] = np.nan
            frame[column] = pd.array(codes, dtype="Float64").astype("Int64")
    return pd.DataFrame(frame)
