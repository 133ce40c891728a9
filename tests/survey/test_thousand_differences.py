"""Double-entry adjudication at the issue's scale: 1,000 forms keyed twice with differences are
listed on one page, and one submission of that page settles them all."""

from __future__ import annotations

import re
import time

import pytest
from flask import Flask
from sqlalchemy import func, insert, select

from survey_app.db import get_session
from survey_app.models import Officer, PaperForm, PaperKeying, Response
from survey_app.services import sample_plans

from .conftest import Province, frame_csv
from .test_survey_pages import signed_in

FORMS = 1000


@pytest.fixture
def big_plan(app: Flask, province: Province) -> int:
    rows = [{"ma_ho": f"H{k:05d}", "xa": "X-AN", "thon": f"T{k % 20}"} for k in range(1200)]
    with app.app_context():
        session = get_session()
        frame = sample_plans.read_frame(frame_csv(rows), "khung.csv")
        request = sample_plans.PlanRequest(
            name="1000", stratum_column="xa", unit_column="ma_ho", seed=1, sizes={"X-AN": FORMS}
        )
        plan = sample_plans.store(session, sample_plans.preview(session, frame, request))
        clerks = dict(session.execute(select(Officer.username, Officer.id)).all())
        base = {f"Q9_{k}": 4 for k in range(1, 40)}
        session.execute(
            insert(PaperKeying),
            [
                {
                    "plan_id": plan.id,
                    "form_number": n,
                    "clerk_id": clerks[name],
                    "answers": {**base, "Q9_5": 5 if name == "thu2" else 4},
                }
                for n in range(1, FORMS + 1)
                for name in ("thu1", "thu2")
            ],  # fmt: skip
        )
        session.commit()
        return plan.id


def test_one_page_lists_and_settles_a_thousand_forms(app: Flask, big_plan: int) -> None:
    client = signed_in(app, "thu3")
    start = time.perf_counter()
    page = client.get(f"/officer/survey/{big_plan}/differences")
    listed_in = time.perf_counter() - start
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    boxes = re.findall(r'name="d-(\d+)-Q9_5"', body)
    assert len(boxes) == FORMS and "1000 phiếu có chênh lệch" in body
    start = time.perf_counter()
    answer = client.post(
        f"/officer/survey/{big_plan}/differences", data={f"d-{n}-Q9_5": "5" for n in boxes}
    )
    settled_in = time.perf_counter() - start
    assert answer.status_code == 302
    with app.app_context():
        session = get_session()
        assert session.scalar(select(func.count()).select_from(Response)) == FORMS
        assert session.scalar(select(func.count()).select_from(PaperForm)) == FORMS
    after = client.get(f"/officer/survey/{big_plan}/differences").get_data(as_text=True)
    assert "0 phiếu có chênh lệch" in after
    print(f"1,000 forms: listed in {listed_in:.2f} s, settled in {settled_in:.2f} s")
