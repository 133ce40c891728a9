"""Stored score summaries (issue 10): kept current by the intake and by review decisions,
rebuilt identically, and every scorecard number equal to scoring the raw responses."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from flask import Flask
from sqlalchemy import select

import questionnaires
from survey_app.db import get_session
from survey_app.models import Desk, Officer, Response, ResponseReview, SummaryCell, SummarySet
from survey_app.services import periods, score_store, scorecards
from survey_app.services.accounts import UnitTree

from ..officer.conftest import load_demo

ZONE = "Asia/Ho_Chi_Minh"
TOLERANCE = 1e-9
#: The raw-rows scorecards the summaries are compared with.
REFERENCE = (scorecards.build_scorecard_from_rows, scorecards.build_desk_card_from_rows)


def _cells(app: Flask) -> dict[tuple[object, ...], bytes]:
    with app.app_context():
        db = get_session()
        rows = db.execute(select(SummaryCell)).scalars().all()
        return {tuple(getattr(c, k) for k in score_store.CELL_KEYS): c.sums for c in rows}


def _frames_equal(got: pd.DataFrame, want: pd.DataFrame, what: str) -> None:
    assert list(got.columns) == list(want.columns), what
    assert len(got) == len(want), what
    for column in want.columns:
        a, b = got[column].reset_index(drop=True), want[column].reset_index(drop=True)
        if pd.api.types.is_numeric_dtype(b) and pd.api.types.is_numeric_dtype(a):
            x, y = a.to_numpy(float), b.to_numpy(float)
            assert np.array_equal(np.isnan(x), np.isnan(y)), f"{what}: {column} NaNs"
            np.testing.assert_allclose(
                x[~np.isnan(x)], y[~np.isnan(y)], rtol=0, atol=TOLERANCE, err_msg=f"{what}.{column}"
            )
        else:
            assert (
                a.astype(object).where(a.notna(), None).tolist()
                == b.astype(object).where(b.notna(), None).tolist()
            ), f"{what}: {column}"


def _exclude_some(app: Flask, decisions: dict[int, str]) -> None:
    """Review decisions made as the officer pages make them (flagged or not, for the test)."""
    with app.app_context():
        db = get_session()
        officer = db.scalars(select(Officer)).first()
        assert officer is not None
        for response_id, decision in decisions.items():
            row = db.get(ResponseReview, response_id)
            before = row.decision if row is not None else None
            if row is None:
                row = ResponseReview(response_id=response_id, officer_id=officer.id)
                db.add(row)
            row.decision = decision
            db.flush()
            score_store.review_changed(db, response_id, before, decision)
        db.commit()


def _compare_cards(app: Flask, period_label: str, unit_code: str) -> None:  # noqa: C901
    with app.app_context():
        db = get_session()
        tree = UnitTree.load(db)
        unit = tree.by_code[unit_code]
        period = periods.parse(period_label)
        q = questionnaires.get("sipas-service")
        # The summaries must be what is read (no quiet fall-back to the rows).
        read = score_store.read(
            db,
            q,
            zone=ZONE,
            unit_ids=tree.subtree_ids(unit.id),
            months=[date(int(period_label[:4]), m, 1) for m in range(1, 13)],
        )
        assert len(read.official.table) > 0 or period_label.startswith("2024")
        new = scorecards.build_scorecard(db, tree, unit, period, questionnaire=q, zone=ZONE)
        old = REFERENCE[0](db, tree, unit, period, questionnaire=q, zone=ZONE)
        assert len(old.table) > 0 or period_label.startswith("2024")
        for name in ("table", "previous_table", "kept_all", "trend", "drivers", "desks"):
            _frames_equal(getattr(new, name), getattr(old, name), name)
        _frames_equal(new.counts, old.counts, "counts")
        assert new.drops == old.drops
        desk = db.scalars(select(Desk).where(Desk.unit_id == unit.id)).first()
        if desk is not None:
            a = scorecards.build_desk_card(db, desk, period, zone=ZONE)
            b = REFERENCE[1](db, desk, period, zone=ZONE)
            _frames_equal(a.table, b.table, "desk table")
            _frames_equal(a.trend, b.trend, "desk trend")
            assert a.drops == b.drops


def _some_responses(app: Flask, count: int) -> list[int]:
    with app.app_context():
        return list(get_session().scalars(select(Response.id).order_by(Response.id).limit(count)))


def test_intake_keeps_cells_current_and_rebuild_is_bit_identical(app: Flask) -> None:
    load_demo(app, responses=300)
    ids = _some_responses(app, 12)
    _exclude_some(app, {i: "exclude" for i in ids[:8]} | {i: "keep" for i in ids[8:]})
    _exclude_some(app, {ids[0]: "keep"})  # an exclusion undone
    incremental = _cells(app)
    assert incremental, "the intake wrote no cell"
    total_days = sum(
        int(np.frombuffer(v, "<f8")[0]) for k, v in incremental.items() if k[0] == "day"
    )
    total_months = sum(
        int(np.frombuffer(v, "<f8")[0]) for k, v in incremental.items() if k[0] == "month"
    )
    assert total_days == total_months == 300
    excluded = sum(
        int(np.frombuffer(v, "<f8")[0])
        for k, v in incremental.items()
        if k[0] == "day" and k[-1] == "exclude"
    )
    assert excluded == 7
    result = app.test_cli_runner().invoke(args=["scores", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "300" in result.output
    rebuilt = _cells(app)
    assert rebuilt == incremental  # same keys, same bytes


@pytest.mark.parametrize("period_label", ["2026", "2026-Q4", "2026-11", "2024"])
def test_scorecards_from_summaries_equal_scoring_the_rows(
    app: Flask, period_label: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_demo(app, responses=400)
    real_rows, real_desk_rows = (
        scorecards.build_scorecard_from_rows,
        scorecards.build_desk_card_from_rows,
    )

    def refused(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("scored from the rows, not the summaries")

    monkeypatch.setattr(scorecards, "build_scorecard_from_rows", refused)
    monkeypatch.setattr(scorecards, "build_desk_card_from_rows", refused)
    monkeypatch.setattr("tests.scale.test_stored_summaries.REFERENCE", (real_rows, real_desk_rows))
    ids = _some_responses(app, 40)
    _exclude_some(app, {i: "exclude" for i in ids[::3]} | {i: "keep" for i in ids[1::3]})
    for unit_code in ("QN-DH", "QN-DH-QTAN"):
        _compare_cards(app, period_label, unit_code)


def test_an_interrupted_rebuild_leaves_the_old_summaries_in_use(app: Flask) -> None:
    load_demo(app, responses=120)
    before = _cells(app)
    with app.app_context():
        old_set = get_session().scalar(select(SummarySet.id).where(SummarySet.ready))
        engine = get_session().get_bind()

    def stop() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_store.rebuild(engine, zone=ZONE, before_swap=stop)
    with app.app_context():
        db = get_session()
        sets = db.execute(select(SummarySet.id, SummarySet.ready)).all()
        assert (old_set, True) in sets and len(sets) == 2  # the new one is there, not ready
        assert score_store.current_set(db.connection(), "sipas-service").set_id == old_set
    ready = {k: v for k, v in _cells(app).items()}
    assert len(ready) > len(before) or ready  # the unfinished cells exist beside the old
    _compare_cards(app, "2026", "QN-DH")
    # The next rebuild clears the unfinished one and swaps its own in.
    result = app.test_cli_runner().invoke(args=["scores", "rebuild"])
    assert result.exit_code == 0, result.output
    assert _cells(app) == before
    with app.app_context():
        sets = get_session().execute(select(SummarySet.id, SummarySet.ready)).all()
        assert len(sets) == 1 and sets[0][1] and sets[0][0] != old_set
