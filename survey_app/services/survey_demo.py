"""Demo data of the province's own survey: a synthetic household frame for the demo communes, a
stored two-stage plan and most of its forms imported as if keyed, so the survey pages have
something to show. Called after ``demo.load_demo`` (by `units` or the lead at merge)."""

from __future__ import annotations

import io
import random

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

import questionnaires

from ..models import RANKED_KINDS, SamplePlan, Unit
from . import paper_keying, sample_plans

#: Villages per commune and households per village in the synthetic frame.
VILLAGES, HOUSEHOLDS = 6, 40
#: Share of drawn households whose form comes back.
RESPONSE_RATE = 0.85


def load_survey_demo(session: Session, *, seed: int = 2026) -> SamplePlan | None:
    """Add a demo plan over every commune with an active desk, and import its returned forms
    (no commit). Returns None when there is no commune to survey."""
    rng = random.Random(seed)
    communes = [
        unit
        for unit in session.scalars(
            select(Unit)
            .where(Unit.kind.in_(RANKED_KINDS), Unit.active.is_(True))
            .order_by(Unit.code)
        )
        if sample_plans.stratum_desk(session, unit.id) is not None
    ]
    if not communes:
        return None
    rows = [
        {"ma_ho": f"{unit.code}-T{v}-{h:03d}", "xa": unit.code, "thon": f"Thôn {v}"}
        for unit in communes
        for v in range(1, VILLAGES + 1)
        for h in range(rng.randint(HOUSEHOLDS // 2, HOUSEHOLDS))
    ]
    frame = sample_plans.read_frame(pd.DataFrame(rows).to_csv(index=False).encode(), "demo.csv")
    request = sample_plans.PlanRequest(
        name="Khảo sát SIPAS hộ gia đình (dữ liệu mẫu)",
        stratum_column="xa",
        unit_column="ma_ho",
        cluster_column="thon",
        margin=0.1,
        seed=seed,
        per_cluster=8,
    )
    plan = sample_plans.store(session, sample_plans.preview(session, frame, request))
    session.flush()
    fields = paper_keying.keying_fields(questionnaires.get(plan.questionnaire))
    keyed = []
    for unit in sample_plans.sample_units(session, plan):
        if rng.random() > RESPONSE_RATE:
            continue
        mood = rng.random()  # some households are happier than others, villages alike
        row: dict[str, str] = {"form_number": str(unit.form_number)}
        for field in fields:
            if field.kind == "choice" and field.code.startswith("Q9_"):
                row[field.code] = str(5 if rng.random() < mood * 0.5 else rng.choice((2, 3, 4, 4)))
            elif field.kind == "choice" and rng.random() < 0.9:
                row[field.code] = str(rng.choice(field.codes))
        keyed.append(row)
    buffer = io.StringIO()
    pd.DataFrame(keyed).fillna("").to_csv(buffer, index=False)
    paper_keying.import_file(session, plan, buffer.getvalue().encode(), "demo-keyed.csv")
    return plan
