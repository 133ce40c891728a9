"""Sample plans: sizes by the ministry's rule, allocation, the seeded two-stage draw, the stored
plan and its weights, and a frame that breaks a rule refused naming the row."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from survey_app.db import get_session
from survey_app.models import SamplePlan, SampleStratum, SampleUnit
from survey_app.services import sample_plans
from survey_app.services.sample_plans import PlanError, PlanRequest

from .conftest import Province, frame_csv, frame_rows


def request(**overrides: object) -> PlanRequest:
    base: dict[str, object] = {
        "name": "Khảo sát 2026",
        "stratum_column": "xa",
        "unit_column": "ma_ho",
        "cluster_column": "thon",
        "seed": 2026,
        "per_cluster": 4,
    }
    base.update(overrides)
    return PlanRequest(**base)  # type: ignore[arg-type]


def test_required_n_is_the_ministry_formula_per_commune(app: Flask, province: Province) -> None:
    with app.app_context():
        frame = sample_plans.read_frame(frame_csv(), "khung.csv")
        plan = sample_plans.preview(get_session(), frame, request(margin=0.1))
        table = plan.strata.set_index("stratum")
        # N = 30, 20, 24; n = N / (1 + N·0.01) rounded up: 30/1.3 = 23.08 → 24; 20/1.2 = 16.67
        # → 17; 24/1.24 = 19.35 → 20.
        assert table["population"].to_dict() == {"X-AN": 30, "X-BINH": 20, "X-CHAU": 24}
        assert table["n_required"].to_dict() == {"X-AN": 24, "X-BINH": 17, "X-CHAU": 20}
        assert table["n_planned"].to_dict() == table["n_required"].to_dict()
        assert plan.total == 61 and len(plan.drawn) == 61


def test_the_draw_is_reproducible_and_weights_are_inverse_probabilities(
    app: Flask, province: Province
) -> None:
    with app.app_context():
        frame = sample_plans.read_frame(frame_csv(), "khung.csv")
        shuffled = sample_plans.read_frame(frame_csv(list(reversed(frame_rows()))), "k.csv")
        a = sample_plans.preview(get_session(), frame, request(sizes={"X-AN": 8, "X-BINH": 4}))
        b = sample_plans.preview(get_session(), shuffled, request(sizes={"X-AN": 8, "X-BINH": 4}))
        assert a.drawn.to_dict("records") == b.drawn.to_dict("records")
        an = a.drawn[a.drawn["stratum"] == "X-AN"]
        # X-AN: 3 villages, n = 8 at 4 a village → 2 villages, 4 households each; weight =
        # (3/2)·(M_c/4) with M_c the village's households (12, 8 or 10).
        assert an["cluster"].nunique() == 2
        sizes = {"T1": 12, "T2": 8, "T3": 10}
        for record in an.to_dict("records"):
            assert record["weight"] == pytest.approx(1.5 * sizes[record["cluster"]] / 4)
            assert record["fpc"] == 3
        # Σ weights estimates the stratum's households: exact for the drawn villages' sizes.
        assert a.drawn[a.drawn["stratum"] == "X-CHAU"].empty


def test_neyman_allocation_minimises_the_province_margin(app: Flask, province: Province) -> None:
    with app.app_context():
        frame = sample_plans.read_frame(frame_csv(), "khung.csv")
        margins = {}
        for method in ("equal", "proportional", "neyman"):
            plan = sample_plans.preview(
                get_session(), frame, request(allocation=method, total=30, cluster_column=None)
            )
            assert plan.total == 30
            margins[method] = plan.province_margin
        # Equal p everywhere: Neyman is proportional up to N/(N−1), and both beat equal.
        assert margins["neyman"] <= margins["proportional"] + 1e-4
        assert margins["neyman"] < margins["equal"]
        equal = sample_plans.preview(
            get_session(), frame, request(allocation="equal", total=30, cluster_column=None)
        )
        assert equal.strata["n_planned"].tolist() == [10, 10, 10]


def test_a_stored_plan_keeps_its_units_with_form_numbers(app: Flask, province: Province) -> None:
    with app.app_context():
        session = get_session()
        frame = sample_plans.read_frame(frame_csv(), "khung.csv")
        plan = sample_plans.store(session, sample_plans.preview(session, frame, request()))
        session.commit()
        stored = session.get(SamplePlan, plan.id)
        assert stored is not None and stored.two_stage and stored.seed == 2026
        assert session.scalar(select(func.count()).select_from(SampleStratum)) == 3
        numbers = session.scalars(
            select(SampleUnit.form_number).where(SampleUnit.plan_id == plan.id)
        ).all()
        assert sorted(numbers) == list(range(1, stored.total + 1))
        assert sample_plans.form_code(plan.id, 12) == f"KH{plan.id}-00012"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("duplicate", "Dòng 5, cột “ma_ho”: mã “X-AN-T1-00” đã có ở dòng 2"),
        ("unknown", "Dòng 3, cột “xa”: “X-KHAC” không phải mã đơn vị"),
        ("empty", "Dòng 4, cột “thon”: ô trống"),
    ],
)
def test_a_bad_frame_is_refused_naming_the_row(
    app: Flask, province: Province, change: str, message: str
) -> None:
    rows = frame_rows()
    if change == "duplicate":
        rows[3]["ma_ho"] = rows[0]["ma_ho"]
    elif change == "unknown":
        rows[1]["xa"] = "X-KHAC"
    else:
        rows[2]["thon"] = ""
    with app.app_context():
        frame = sample_plans.read_frame(frame_csv(rows), "khung.csv")
        with pytest.raises(PlanError) as caught:
            sample_plans.preview(get_session(), frame, request())
        assert message in str(caught.value)


def test_a_stratum_with_fewer_units_than_its_sample_is_refused(
    app: Flask, province: Province
) -> None:
    with app.app_context():
        frame = sample_plans.read_frame(frame_csv(), "khung.csv")
        with pytest.raises(PlanError) as caught:
            sample_plans.preview(get_session(), frame, request(sizes={"X-BINH": 21}))
        assert caught.value.rule == "stratum_too_small"
        assert "Tầng “X-BINH” (từ dòng 32) chỉ có 20 đơn vị" in str(caught.value)


def test_sample_plan_command_stores_a_plan(app: Flask, province: Province, tmp_path: Path) -> None:
    path = tmp_path / "khung.csv"
    path.write_bytes(frame_csv())
    result = app.test_cli_runner().invoke(
        args=["sample", "plan", str(path), "--stratum", "xa", "--unit", "ma_ho",
              "--cluster", "thon", "--seed", "5", "--margin", "0.1", "--per-cluster", "4"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "total n 61, drawn 61" in result.output
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(SampleUnit)) == 61
    # Villages of 6 households at 10 a village: X-CHAU's 2 drawn villages hold 12 of its 20.
    short = app.test_cli_runner().invoke(
        args=["sample", "plan", str(path), "--stratum", "xa", "--unit", "ma_ho",
              "--cluster", "thon", "--seed", "5", "--margin", "0.1", "--dry-run"]
    )  # fmt: skip
    assert "warning: stratum X-CHAU: 12 drawn of 20 planned" in short.output
    bad = app.test_cli_runner().invoke(
        args=["sample", "plan", str(path), "--stratum", "xa", "--unit", "thon", "--seed", "5"]
    )
    assert bad.exit_code == 2
    assert "Dòng 3, cột “thon”: mã “T1” đã có ở dòng 2" in bad.output


def test_sample_forms_and_import_commands(app: Flask, province: Province, tmp_path: Path) -> None:
    frame = tmp_path / "khung.csv"
    frame.write_bytes(frame_csv())
    runner = app.test_cli_runner()
    made = runner.invoke(
        args=["sample", "plan", str(frame), "--stratum", "xa", "--unit", "ma_ho", "--seed", "5",
              "--margin", "0.1"]
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    pdf = tmp_path / "phieu.pdf"
    printed = runner.invoke(args=["sample", "forms", "1", "-o", str(pdf), "--last", "2"])
    assert printed.exit_code == 0 and "2 forms written" in printed.output
    assert pdf.read_bytes().startswith(b"%PDF")
    keyed = tmp_path / "phieu.csv"
    good = ",".join(["4"] * 39)
    keyed.write_text(
        "form_number," + ",".join(f"Q9_{k}" for k in range(1, 40)) + "\n"
        f"1,{good}\n2,{good.replace('4', '8', 1)}\n",
        encoding="utf-8",
    )
    first = runner.invoke(args=["sample", "import", "1", str(keyed)])
    assert first.exit_code == 0, first.output
    assert "1 stored, 0 already stored, 1 rejected" in first.output
    assert "row 3: Q9_1: 8 ngoài thang trả lời" in first.output
    again = runner.invoke(args=["sample", "import", "1", str(keyed)])
    assert "0 stored, 1 already stored, 1 rejected" in again.output
