"""Seeded synthetic wide responses of a questionnaire, shaped like the app's export."""

from __future__ import annotations

import numpy as np
import pandas as pd

import questionnaires


def synthetic_responses(
    n: int,
    questionnaire: str = "sipas-service",
    *,
    units: int = 700,
    months: int = 12,
    seed: int = 20250101,
    weights: bool = False,
) -> pd.DataFrame:
    """``n`` responses: unit effects, item effects, "cannot judge" and blanks, a correlated HL.

    Codes are drawn from a latent satisfaction (unit effect + respondent effect + item
    effect) cut into five bands, so items correlate with each other and with HL as real
    answers do. Times are spread over ``months`` months of 2025 (UTC).
    """
    rng = np.random.default_rng(seed)
    q = questionnaires.get(questionnaire)
    unit = rng.integers(0, units, n)
    unit_effect = rng.normal(0.0, 0.5, units)[unit]
    person = rng.normal(0.0, 0.8, n)
    start = np.datetime64("2025-01-01T00:00:00", "s").astype(np.int64)
    seconds = rng.integers(0, months * 30 * 86400, n)
    frame: dict[str, object] = {
        "response_id": np.arange(1, n + 1),
        "submitted_at": pd.to_datetime(start + seconds, unit="s", utc=True),
        "unit_code": pd.array([f"U{u:04d}" for u in range(units)], dtype="str")[unit],
        "desk_code": pd.array([f"D{d:02d}" for d in range(8)], dtype="str")[rng.integers(0, 8, n)],
        "channel": pd.array(["qr", "kiosk", "web", "paper"], dtype="str")[
            rng.choice(4, n, p=[0.6, 0.25, 0.1, 0.05])
        ],
        "questionnaire": q.id,
        "questionnaire_version": q.version,
        "valid": np.ones(n, dtype=np.int8),
        "flags": pd.array(np.where(rng.random(n) < 0.01, "too_fast", None), dtype="str"),
    }
    if weights:
        frame["weight"] = rng.gamma(4.0, 0.25, n)
    cuts = np.array([-1.6, -0.9, 0.0, 1.2])
    latent_base = unit_effect + person + 0.9
    for item in q.items.values():
        for code in item.sub_items():
            if item.role in ("satisfaction", "overall", "question"):
                latent = latent_base + rng.normal(0.0, 0.7, n) + rng.normal(0.0, 0.3)
                codes = (np.searchsorted(cuts, latent) + 1).astype(np.int8)
                if 0 in item.codes:
                    share = 0.35 if code.startswith("PA") else 0.04
                    codes[rng.random(n) < share] = 0
                codes_f = codes.astype(float)
                codes_f[rng.random(n) < 0.02] = np.nan
                frame[code] = pd.array(codes_f, dtype="Float64").astype("Int8")
            elif item.role in ("expectation", "perception", "profile") and item.scale:
                options = np.array(item.codes if item.type == "multi" else item.scale.codes)
                values = rng.choice(options, n).astype(float)
                values[rng.random(n) < 0.4] = np.nan
                frame[code] = pd.array(values, dtype="Float64").astype("Int8")
    frame["comment"] = pd.array([None] * n, dtype="str")
    return pd.DataFrame(frame)
