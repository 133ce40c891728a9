"""Double entry of paper forms, settling differences, importing keyed files: every settled form
is stored once, through the intake, with its stratum, cluster and weight."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest
from flask import Flask
from sqlalchemy import func, select

import questionnaires
from survey_app.db import get_session
from survey_app.models import Officer, PaperForm, PaperKeying, Response, SamplePlan
from survey_app.models.tables import RESPONSES
from survey_app.services import paper_keying, sample_plans, wide_export
from survey_app.services.paper_keying import KeyingRefused
from survey_app.services.sample_plans import PlanRequest

from .conftest import Province, frame_csv


def make_plan(app: Flask) -> int:
    with app.app_context():
        session = get_session()
        frame = sample_plans.read_frame(frame_csv(), "khung.csv")
        request = PlanRequest(
            name="Khảo sát 2026", stratum_column="xa", unit_column="ma_ho",
            cluster_column="thon", seed=2026, per_cluster=4, sizes={"X-AN": 8, "X-BINH": 4},
        )  # fmt: skip
        plan = sample_plans.store(session, sample_plans.preview(session, frame, request))
        session.commit()
        return plan.id


def household_form(**overrides: Any) -> dict[str, str]:
    """A 2023 household form as a clerk keys it: every Q9 item 4, Q2 channels 1, 3 and 6."""
    keyed = {f"Q9_{k}": "4" for k in range(1, 40)}
    keyed.update({"GENDER": "2", "AGE": "3", "Q2": "136", "Q5": "1", "Q10_1": "3"})
    keyed.update(overrides)
    return keyed


def stored_codes(session: Any, response_id: int) -> dict[str, int]:
    """A stored response's codes, read through the wide reader (not the answer table itself,
    whose shape engineer `scale` is changing)."""
    scored, profile = wide_export.item_columns(questionnaires.get("sipas-2023"))
    query = wide_export.responses_select(
        scored + profile,
        unit_ids=None,
        start=None,
        end=None,
        extra_where=[RESPONSES.c.id == response_id],
    )
    row = session.execute(query).mappings().one()
    return {code: int(row[code]) for code in scored + profile if row[code] is not None}


def clerk(session: Any, username: str) -> Officer:
    found = session.scalar(select(Officer).where(Officer.username == username))
    assert found is not None
    return found


@pytest.fixture
def plan_id(app: Flask, province: Province) -> int:
    return make_plan(app)


def test_two_equal_keyings_store_the_form_with_its_design(app: Flask, plan_id: int) -> None:
    with app.app_context():
        session = get_session()
        plan = session.get(SamplePlan, plan_id)
        assert plan is not None
        first = paper_keying.key_form(session, plan, 3, clerk(session, "thu1"), household_form())
        assert first.status == "first"
        assert session.scalar(select(func.count()).select_from(Response)) == 0
        second = paper_keying.key_form(session, plan, 3, clerk(session, "thu2"), household_form())
        session.commit()
        assert second.status == "agreed"
        response = session.scalar(select(Response))
        assert response is not None and response.channel == "paper"
        assert response.unit.code == "X-AN"
        unit = paper_keying.sample_unit(session, plan, 3)
        form = session.scalar(select(PaperForm))
        assert form is not None and unit is not None
        assert (form.response_id, form.stratum, form.cluster, form.weight, form.fpc) == (
            response.id, unit.stratum, unit.cluster, unit.weight, unit.fpc,
        )  # fmt: skip
        codes = stored_codes(session, response.id)
        assert codes["Q9_1"] == 4 and codes["Q2_1"] == 1 and codes["Q2_2"] == 2
        assert codes["Q2_6"] == 1 and codes["GENDER"] == 2


def test_differences_are_listed_and_settled_by_a_third_clerk(app: Flask, plan_id: int) -> None:
    with app.app_context():
        session = get_session()
        plan = session.get(SamplePlan, plan_id)
        assert plan is not None
        paper_keying.key_form(session, plan, 5, clerk(session, "thu1"), household_form())
        outcome = paper_keying.key_form(
            session, plan, 5, clerk(session, "thu2"), household_form(Q9_7="5", Q2="13")
        )
        assert outcome.status == "differs" and set(outcome.differences) == {"Q9_7", "Q2"}
        listed = paper_keying.differences(session, plan)
        assert [(d.form_number, [x.item for x in d.differences]) for d in listed] == [
            (5, ["Q2", "Q9_7"])
        ]
        assert listed[0].differences[0].first == [1, 3, 6]
        assert listed[0].differences[0].second == [1, 3]
        # One of the two keyers may not settle their own difference.
        report = paper_keying.settle(
            session, plan, {5: {"Q9_7": "5", "Q2": "13"}}, clerk(session, "thu2")
        )
        assert report.settled == () and "người thứ ba" in report.problems[5][0]
        # Only the settled form counts.
        assert session.scalar(select(func.count()).select_from(Response)) == 0
        report = paper_keying.settle(
            session, plan, {5: {"Q9_7": "5", "Q2": "13"}}, clerk(session, "thu3")
        )
        session.commit()
        assert report.settled == (5,)
        form = session.scalar(select(PaperForm))
        assert form is not None
        codes = stored_codes(session, form.response_id)
        assert codes["Q9_7"] == 5 and codes["Q9_8"] == 4 and codes["Q2_6"] == 2
        assert paper_keying.differences(session, plan) == []
        assert form.source == "settled"


@pytest.mark.parametrize(
    ("keyed", "form_number", "message"),
    [
        (household_form(Q9_3="7"), 3, "Q9_3: 7 ngoài thang trả lời (chỉ nhận 1, 2, 3, 4, 5)"),
        (household_form(Q5="4"), 3, "Q5: 4 ngoài thang trả lời (chỉ nhận 1, 2, 3)"),
        (household_form(Q2="18"), 3, "Q2: 8 ngoài thang trả lời"),
        (household_form(), 999, "Phiếu số 999 không có trong mẫu"),
    ],
)
def test_a_keyed_value_outside_its_scale_is_refused(
    app: Flask, plan_id: int, keyed: dict[str, str], form_number: int, message: str
) -> None:
    with app.app_context():
        session = get_session()
        plan = session.get(SamplePlan, plan_id)
        assert plan is not None
        with pytest.raises(KeyingRefused) as caught:
            paper_keying.key_form(session, plan, form_number, clerk(session, "thu1"), keyed)
        assert message in str(caught.value)
        assert session.scalar(select(func.count()).select_from(PaperKeying)) == 0


def test_a_form_keyed_twice_by_the_same_clerk_is_refused(app: Flask, plan_id: int) -> None:
    with app.app_context():
        session = get_session()
        plan = session.get(SamplePlan, plan_id)
        assert plan is not None
        paper_keying.key_form(session, plan, 2, clerk(session, "thu1"), household_form())
        with pytest.raises(KeyingRefused) as caught:
            paper_keying.key_form(session, plan, 2, clerk(session, "thu1"), household_form())
        assert caught.value.rule == "same_clerk_twice"
        assert f"Phiếu KH{plan_id}-00002 đã được chính Ông/Bà nhập" in str(caught.value)
        paper_keying.key_form(session, plan, 2, clerk(session, "thu2"), household_form(Q5="2"))
        with pytest.raises(KeyingRefused) as third:
            paper_keying.key_form(session, plan, 2, clerk(session, "thu3"), household_form())
        assert third.value.rule == "keyed_twice"


def keyed_file(rows: list[dict[str, str]], kind: str = "csv") -> tuple[bytes, str]:
    frame = pd.DataFrame(rows)
    if kind == "xlsx":
        buffer = io.BytesIO()
        frame.to_excel(buffer, index=False)
        return buffer.getvalue(), "phieu.xlsx"
    return frame.to_csv(index=False).encode("utf-8-sig"), "phieu.csv"


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_import_reports_rejected_rows_and_never_stores_twice(
    app: Flask, plan_id: int, kind: str
) -> None:
    good = {f"Q9_{k}": "4" for k in range(1, 40)}
    rows = [
        {"form_number": "1", **good, "Q2_1": "1", "Q2_2": "2", "weight": ""},
        {"form_number": f"KH{plan_id}-00002", **good, "Q2_1": "", "Q2_2": "", "weight": ""},
        {"form_number": "3", **good, "Q9_5": "9", "Q2_1": "", "Q2_2": "", "weight": ""},
        {"form_number": "2", **good, "Q2_1": "", "Q2_2": "", "weight": ""},
        {"form_number": "4", **good, "Q2_1": "", "Q2_2": "", "weight": "0"},
        {"form_number": "77", **good, "Q2_1": "", "Q2_2": "", "weight": ""},
        {"form_number": "6", **good, "Q2_1": "", "Q2_2": "", "weight": "2.5"},
    ]
    data, name = keyed_file(rows, kind)
    with app.app_context():
        session = get_session()
        plan = session.get(SamplePlan, plan_id)
        assert plan is not None
        report = paper_keying.import_file(session, plan, data, name)
        session.commit()
        assert (report.rows, report.stored, report.already) == (7, 3, 0)
        assert [(r.row, r.reason) for r in report.rejected] == [
            (4, "Q9_5: 9 ngoài thang trả lời (chỉ nhận 1, 2, 3, 4, 5)"),
            (5, "số phiếu đã có ở dòng 3 của tệp"),
            (6, "trọng số “0” phải là số lớn hơn 0"),
            (7, "số phiếu “77” không có trong mẫu của kế hoạch"),
        ]
        again = paper_keying.import_file(session, plan, data, name)
        session.commit()
        assert (again.stored, again.already) == (0, 3)
        assert session.scalar(select(func.count()).select_from(Response)) == 3
        weights = dict(session.execute(select(PaperForm.form_number, PaperForm.weight)).all())
        assert weights[6] == 2.5
        unit = paper_keying.sample_unit(session, plan, 1)
        assert unit is not None and weights[1] == unit.weight


def test_import_refuses_a_column_that_is_no_item(app: Flask, plan_id: int) -> None:
    data, name = keyed_file([{"form_number": "1", "Q9_1": "4", "Q99": "3"}])
    with app.app_context():
        session = get_session()
        plan = session.get(SamplePlan, plan_id)
        assert plan is not None
        with pytest.raises(sample_plans.PlanError) as caught:
            paper_keying.import_file(session, plan, data, name)
        assert "Cột “Q99” không phải mã câu hỏi" in str(caught.value)


def test_import_reads_a_multi_choice_question_in_one_column(app: Flask, plan_id: int) -> None:
    data, name = keyed_file([{"form_number": "1", "Q9_1": "4", "Q2": "136"}])
    with app.app_context():
        session = get_session()
        plan = session.get(SamplePlan, plan_id)
        assert plan is not None
        report = paper_keying.import_file(session, plan, data, name)
        session.commit()
        assert report.stored == 1, report.rejected
        form = session.scalar(select(PaperForm))
        assert form is not None
        codes = stored_codes(session, form.response_id)
        assert (codes["Q2_1"], codes["Q2_2"], codes["Q2_3"], codes["Q2_6"]) == (1, 2, 1, 1)
