"""Generated two-stage survey samples for the design tests (a plain module: no analysis/).

It imports only ``questionnaires``, so the frozen copy of the scoring code that wrote
``reference/scores_before_designs.csv`` could build the very same frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import questionnaires
from questionnaires import Questionnaire

SERVICE = questionnaires.get("sipas-service")


def two_stage_sample(
    rng: np.random.Generator,
    questionnaire: Questionnaire = SERVICE,
    *,
    villages: dict[str, tuple[int, int]] | None = None,
    households: tuple[int, int] = (6, 12),
    missing: float = 0.12,
) -> pd.DataFrame:
    """Communes → villages (SRS of n_h of N_h) → households (SRS of m of M), answered.

    ``villages[commune] = (N_h, n_h)``. Columns: ``commune, village, w`` (inverse
    inclusion probability), ``villages_total`` (N_h), ``village_share`` (n_h/N_h), ``sex``,
    and the answer columns; a few respondents answer almost nothing (invalid).
    """
    villages = villages or {"C1": (12, 3), "C2": (15, 4), "C3": (9, 2), "C4": (20, 5)}
    rows: list[dict[str, Any]] = []
    satisfaction = [i.code for i in questionnaire.satisfaction_items]
    for commune, (population, sampled) in villages.items():
        chosen = rng.choice(population, size=sampled, replace=False)
        for v in chosen:
            size = int(rng.integers(40, 160))
            m = int(rng.integers(*households))
            effect = rng.normal(0, 0.8)  # the village effect that makes clusters matter
            for _ in range(m):
                latent = effect + rng.normal(0.6, 1)
                row: dict[str, Any] = {
                    "commune": commune,
                    "village": f"{commune}-V{v:02d}",
                    "w": (population / sampled) * (size / m),
                    "villages_total": population,
                    "village_share": sampled / population,
                    "sex": str(rng.choice(["nam", "nu"])),
                }
                for code in compared_items(questionnaire):
                    value = int(np.clip(np.round(3 + latent + rng.normal(0, 0.9)), 1, 5))
                    draw = rng.random()
                    judge = 0 in questionnaire.items[code].codes and draw < missing + 0.04
                    row[code] = None if draw < missing else (0 if judge else value)
                rows.append(row)
    frame = pd.DataFrame(rows)
    for k in rng.choice(len(frame), size=4, replace=False):  # invalid: 3 answers of 16
        frame.loc[k, satisfaction[3:]] = None
    for code in questionnaire.answer_columns():
        # Items not compared with R (expectations, profile) are left unanswered.
        frame[code] = pd.array(
            frame[code] if code in frame.columns else [None] * len(frame), dtype="Int64"
        )
    return frame


def compared_items(questionnaire: Questionnaire) -> list[str]:
    """The items compared with R: satisfaction items and the overall question if any."""
    return [i.code for i in questionnaire.items.values() if i.role in ("satisfaction", "overall")]
