"""Decision 766 group 5 counted by the database (services/decision766.py) equals the pandas
reference (analysis/decision766.py) on the same random month, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from flask import Flask
from sqlalchemy import select

from analysis import decision766 as d766
from survey_app.db import get_session
from survey_app.models import Desk, OnestopDossier, OnestopPetition
from survey_app.services import accounts, decision766, periods

from .conftest import Field


def test_sql_counts_equal_the_pandas_reference(app: Flask, field: Field) -> None:
    rng = random.Random(766)
    start = datetime(2026, 4, 30, 17, 0, tzinfo=UTC)  # 1 May 2026 00:00 in Vietnam
    with app.app_context():
        db = get_session()
        desks = {d.code: d for d in db.scalars(select(Desk))}
        frames: dict[str, list[dict[str, object]]] = {"d": [], "p": []}
        for i in range(300):
            desk = desks[rng.choice([field.desk, field.other_desk])]
            received = start + timedelta(hours=rng.uniform(-200, 700))
            due = received + timedelta(days=rng.uniform(0.5, 10)) if rng.random() < 0.9 else None
            returned = received + timedelta(days=rng.uniform(0, 12)) if rng.random() < 0.8 else None
            values = {
                "digest": f"d{i:05d}",
                "desk_id": desk.id,
                "unit_id": desk.unit_id,
                "received_at": received,
                "due_at": due,
                "returned_at": returned,
                "overdue_reported": rng.random() < 0.05,
                "rating": rng.choice([None, "satisfied", "not_satisfied"]),
                "has_petition": rng.random() < 0.1,
                "settled_at": returned or due or received,
            }
            db.add(OnestopDossier(**values))
            frames["d"].append({**values, "unit": desk.unit.code})
        for i in range(80):
            desk = desks[rng.choice([field.desk, field.other_desk])]
            received = start + timedelta(hours=rng.uniform(-100, 700))
            due = received + timedelta(days=rng.uniform(1, 10)) if rng.random() < 0.9 else None
            handled = received + timedelta(days=rng.uniform(0, 12)) if rng.random() < 0.7 else None
            values = {
                "digest": f"p{i:05d}",
                "desk_id": desk.id,
                "unit_id": desk.unit_id,
                "received_at": received,
                "due_at": due,
                "handled_at": handled,
                "repeated": rng.random() < 0.1,
                "satisfied_votes": rng.randint(0, 3),
                "not_satisfied_votes": rng.randint(0, 3),
                "settled_at": handled or due or received,
            }
            db.add(OnestopPetition(**values))
            frames["p"].append({**values, "unit": desk.unit.code})
        db.commit()

        month = periods.parse("2026-05")
        now = datetime(2026, 5, 20, tzinfo=UTC)  # mid-month: unfinished work not yet late
        tree = accounts.unit_tree(db)
        district = tree.by_code["T-DISTRICT"]
        board = decision766.board(
            db,
            tree,
            district,
            month,
            time_zone="Asia/Ho_Chi_Minh",
            settings=d766.Group5Settings(),
            now=now,
        )
    lo, hi = month.utc_bounds("Asia/Ho_Chi_Minh")
    d = pd.DataFrame(frames["d"])
    p = pd.DataFrame(frames["p"])
    d = d[(d["settled_at"] >= lo) & (d["settled_at"] < hi)]
    p = p[(p["settled_at"] >= lo) & (p["settled_at"] < hi)]
    assert len(d) > 50 and len(p) > 10  # the month really holds some of each
    d["scope"] = "T-DISTRICT"
    p["scope"] = "T-DISTRICT"
    pooled = d766.group5(d, p, by=["scope"], as_of=pd.Timestamp(now)).to_frame().iloc[0]
    by_unit = d766.group5(d, p, by=["unit"], as_of=pd.Timestamp(now)).to_frame()
    commune = by_unit.set_index("unit").loc["T-COMMUNE"]
    rows = board.table.set_index("unit_code")
    for column in (*d766.COUNT_COLUMNS, *d766.SCORE_COLUMNS):
        assert rows.loc["T-DISTRICT", column] == pytest.approx(pooled[column], nan_ok=True), column
        assert rows.loc["T-COMMUNE", column] == pytest.approx(commune[column], nan_ok=True), column
