"""The survey report's numbers against a hand-worked case, the response rate, and the desk
channels kept apart as another instrument."""

from __future__ import annotations

import math
import uuid

import pandas as pd
import pytest
from flask import Flask
from sqlalchemy import select

from survey_app.db import get_session
from survey_app.models import Desk
from survey_app.services import intake, paper_keying, sample_plans, survey_report
from survey_app.services.integrity import Circumstances
from survey_app.services.questionnaire_store import current_version

from ..conftest import full_answers
from .conftest import Province, frame_csv
from .test_paper_keying import keyed_file


def test_one_stage_commune_index_interval_and_deff_by_hand(app: Flask, province: Province) -> None:
    with app.app_context():
        session = get_session()
        frame = sample_plans.read_frame(frame_csv(), "khung.csv")
        request = sample_plans.PlanRequest(
            name="tay", stratum_column="xa", unit_column="ma_ho", seed=9, sizes={"X-BINH": 4}
        )
        plan = sample_plans.store(session, sample_plans.preview(session, frame, request))
        session.commit()
        # Three households satisfied with everything (4), one dissatisfied (2).
        rows = [
            {"form_number": str(n), **{f"Q9_{k}": "2" if n == 4 else "4" for k in range(1, 40)}}
            for n in (1, 2, 3, 4)
        ]
        data, name = keyed_file(rows)
        assert paper_keying.import_file(session, plan, data, name).stored == 4
        # Three people just served at X-BINH's desk answer the desk form (all criteria 4).
        desk = session.scalar(select(Desk).where(Desk.code == "DBINH"))
        version = current_version(session, "sipas-service")
        for _ in range(3):
            intake.store(
                intake.InSession(session, desk),
                intake.Received(
                    uuid=uuid.uuid4(),
                    checked=intake.check(version, full_answers()),
                    channel="qr",
                    circumstances=Circumstances(60, 0),
                ),
            )
        session.commit()
        report = survey_report.build(session, plan, min_n=2)
    row = report.ranking[report.ranking["unit_code"] == "X-BINH"].iloc[0]
    # Every item, element, aspect and SIPAS is the share satisfied: 3/4 = 75. One stage, equal
    # weights N/n = 20/4 = 5, fpc N = 20: var = (1 − 4/20)·s²/n with s² = (3·0.25² + 0.75²)/3
    # = 0.25, so SE = √(0.8·0.25/4) = 0.2236 (22.36 points), interval 75 ± 1.96·22.36, cut at
    # 100; the design is simple random sampling itself, so deff = 1.
    se = 100 * math.sqrt(0.8 * 0.25 / 4)
    assert row["index"] == pytest.approx(75.0)
    assert row["ci_low"] == pytest.approx(75 - 1.959963984540054 * se, abs=1e-9)
    assert row["ci_high"] == pytest.approx(100.0)
    assert row["deff"] == pytest.approx(1.0, abs=1e-12)
    rates = report.response.set_index("stratum")
    assert rates.loc["X-BINH", "n_drawn"] == 4 and rates.loc["X-BINH", "settled"] == 4
    assert rates.loc["X-BINH", "response_rate"] == 1.0
    # Strata of the frame given no sample are listed with n = 0 and no rate, not a 0 %.
    assert list(rates.index) == ["X-AN", "X-BINH", "X-CHAU", "TỈNH"]
    assert rates.loc["X-AN", "n_drawn"] == 0 and math.isnan(rates.loc["X-AN", "response_rate"])
    assert rates.loc["TỈNH", "settled"] == 4
    comparison = report.comparison.set_index("unit_code").loc["X-BINH"]
    assert comparison["desk_sipas"] == pytest.approx(100.0) and comparison["desk_n"] == 3
    assert pd.isna(report.comparison.set_index("unit_code").loc["X-AN", "desk_sipas"])
    assert "công cụ khác" in comparison["desk_instrument"]
    assert comparison["household_sipas"] == pytest.approx(75.0)


def test_demo_survey_fills_the_report(app: Flask) -> None:
    from survey_app.services.demo import load_demo
    from survey_app.services.survey_demo import load_survey_demo

    with app.app_context():
        session = get_session()
        load_demo(session, responses=50, seed=7)
        session.commit()
        plan = load_survey_demo(session)
        session.commit()
        assert plan is not None
        report = survey_report.build(session, plan)
    assert report.problem == "" and report.settled > 100
    ranked = report.ranking[report.ranking["unit_code"] != "TỈNH"]
    assert len(ranked) == len(plan.strata) and ranked["deff"].notna().all()
    rates = report.response.set_index("stratum")["response_rate"].drop("TỈNH")
    assert rates.between(0.6, 1.0).all()
