"""Units with their history (issue 13): the trend of Đầm Hà commune across the 1/7/2025 merger is
the score of its predecessors' pooled responses, the page lists them, ranks compare only units
that existed, and a merger with overlapping dates, a cycle or a desk moved to a unit that did not
yet exist is refused with a message naming the record and the rule (nothing written)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from flask import Flask
from sqlalchemy import func, select

import analysis
import questionnaires
from survey_app.db import get_session
from survey_app.models import Desk, Response, Unit, UnitChange
from survey_app.services import intake, periods, scorecards, unit_history, wide_export
from survey_app.services.accounts import UnitTree
from survey_app.services.integrity import Circumstances
from survey_app.services.questionnaire_store import current_version

from .conftest import CRITERIA
from .officer.conftest import load_demo, sign_in

#: Resolution 1679/NQ-UBTVQH15 (SIPAS.md §8): the units that formed Đầm Hà commune, with the
#: former district's centre whose building is now the commune's branch.
DAM_HA_BEFORE = ("QN-DH-TTDH", "QN-DH-XDH", "QN-DH-TBINH", "QN-DH-DBINH", "QN-DH-TLAP")
DAM_HA_NOW = ("QN-DAMHA", "QN-DAMHA-CN", "QN-DAMHA-DTN1")


@pytest.fixture
def demo(app: Flask) -> Flask:
    return load_demo(app, responses=600)


def test_the_trend_across_the_merger_is_the_pooled_predecessors(demo: Flask) -> None:
    with demo.app_context():
        db = get_session()
        tree = UnitTree.load(db)
        card = scorecards.build_scorecard(db, tree, tree.by_code["QN-DAMHA"], periods.parse("2025"))
        # Independently: the stored responses of the units named in the resolution, by SQL.
        codes = (*DAM_HA_BEFORE, "QN-DH-TTHCC", *DAM_HA_NOW)
        ids = set(db.scalars(select(Unit.id).where(Unit.code.in_(codes))))
        assert len(ids) == len(codes)
        start, end = periods.parse("2025").utc_bounds("Asia/Ho_Chi_Minh")
        q = questionnaires.get("sipas-service")
        rows = wide_export.load_responses(db, q, unit_ids=ids, start=start, end=end)
        months = [periods.month(2025, m).as_range() for m in range(1, 13)]
        pooled = analysis.score(
            rows, q, by=["period"], period=months, settings=analysis.ScoringSettings(min_n=30),
            timezone="Asia/Ho_Chi_Minh",
        ).to_frame()  # fmt: skip
    expected = pooled[pooled["code"] == "SIPAS"].set_index("period")
    trend = card.trend[card.trend["code"] == "SIPAS"].set_index("period")
    # The trend crosses the merger: months before July 2025 have responses, all from the
    # predecessors (Đầm Hà commune did not exist yet).
    assert card.months == [f"2025-{m:02d}" for m in range(1, 13)]
    assert expected.loc["2025-03", "n"] > 0 and expected.loc["2025-09", "n"] > 0
    assert sorted(trend.index) == sorted(expected.index)
    for month in expected.index:
        assert trend.loc[month, "n"] == expected.loc[month, "n"], month
        assert trend.loc[month, "index"] == pytest.approx(expected.loc[month, "index"], abs=1e-9)
    # The year's pooled score is the same pool.
    year = analysis.score(rows, q, settings=analysis.ScoringSettings(min_n=30)).to_frame()
    sipas = year.set_index("code").loc["SIPAS"]
    assert card.value("SIPAS") == pytest.approx(sipas["index"], abs=1e-9)
    assert card.value("SIPAS", "n") == sipas["n"]
    assert {u.code for u in card.rolled_in.units} == set(DAM_HA_BEFORE)
    assert [u.code for u in card.rolled_in.service_points] == ["QN-DH-TTHCC"]


def test_as_it_was_keeps_each_stored_unit_alone(demo: Flask) -> None:
    with demo.app_context():
        db = get_session()
        tree = UnitTree.load(db)
        year = periods.parse("2025")
        # Flagged responses counted (they are valid rows, as the count below takes them).
        today = scorecards.build_scorecard(
            db, tree, tree.by_code["QN-DAMHA"], year, score_flagged="include"
        )
        then = scorecards.build_scorecard(
            db, tree, tree.by_code["QN-DAMHA"], year, view="as_it_was", score_flagged="include"
        )
        first_half = db.scalar(
            select(func.count())
            .select_from(Response)
            .join(Unit, Unit.id == Response.unit_id)
            .where(
                Unit.code.in_((*DAM_HA_BEFORE, "QN-DH-TTHCC")),
                Response.submitted_at >= datetime(2024, 12, 31, 17, tzinfo=UTC),
                Response.valid.is_(True),
            )
        )
    # Today's 2025 = as it was (the commune since July) + its predecessors' first half.
    assert first_half and then.value("SIPAS", "n") == today.value("SIPAS", "n") - first_half
    # As it was, January 2025 has no response for Đầm Hà commune (it did not exist).
    months = then.trend[then.trend["code"] == "SIPAS"].set_index("period")
    assert "2025-01" not in months.index
    assert not then.rolled_in
    assert then.value("SIPAS", "n") < today.value("SIPAS", "n")


def test_the_page_lists_the_predecessors_and_offers_the_old_map(demo: Flask) -> None:
    client = sign_in(demo.test_client(), "damha")
    page = client.get("/officer/units/QN-DAMHA?period=2025").get_data(as_text=True)
    assert "Gồm số liệu của các xã trước sáp nhập:" in page
    for name in ("Thị trấn Đầm Hà", "Xã Tân Bình", "Xã Đại Bình", "Xã Tân Lập", "Xã Đầm Hà"):
        assert f"{name} (đến 30/06/2025)" in page
    assert "Trung tâm Hành chính công huyện Đầm Hà" in page
    assert "view=as_it_was" in page
    old = client.get("/officer/units/QN-DAMHA?period=2025&view=as_it_was").get_data(as_text=True)
    assert "Gồm số liệu của các xã trước sáp nhập" not in old and "như lúc đó" in old
    # A unit that no longer exists shows its own data, and where it counts today.
    ended = client.get("/officer/units/QN-DH-TBINH?period=2025").get_data(as_text=True)
    assert "không còn từ ngày 01/07/2025" in ended and 'href="/officer/units/QN-DAMHA?' in ended
    bad = client.get("/officer/units/QN-DAMHA?view=then")
    assert bad.status_code == 400 and "Cách xem không hợp lệ" in bad.get_data(as_text=True)
    # No present-tense district anywhere on today's page of the province.
    admin = sign_in(demo.test_client(), "admin")
    province = admin.get("/officer/units/QN").get_data(as_text=True)
    assert "Huyện Đầm Hà" not in province and "huyện" not in province.replace(
        "Trung tâm Hành chính công huyện Đầm Hà", ""
    )


def test_ranks_compare_only_units_that_existed_in_the_period(demo: Flask) -> None:
    with demo.app_context():
        tree = UnitTree.load(get_session())
        spring = periods.parse("2025-Q1")
        today = unit_history.rankable_codes(tree, "today", spring.start, spring.end)
        then = unit_history.rankable_codes(tree, "as_it_was", spring.start, spring.end)
        autumn = periods.parse("2025-Q4")
        later = unit_history.rankable_codes(tree, "as_it_was", autumn.start, autumn.end)
    # Before the merger only the two new communes have a history (their predecessors).
    assert today == {"QN-DAMHA", "QN-QUANGTAN"}
    assert then == {
        "QN-DH",
        "QN-DH-TTDH", "QN-DH-XDH", "QN-DH-TBINH", "QN-DH-DBINH", "QN-DH-TLAP",
        "QN-DH-QTAN", "QN-DH-QAN", "QN-DH-QLAM", "QN-DH-DYEN",
    }  # fmt: skip
    assert "QN-DH-QLOI" not in then  # merged in 2020
    assert later == {
        "QN-DAMHA", "QN-QUANGTAN", "QN-QUANGHA", "QN-TIENYEN", "QN-HALONG", "QN-BAICHAY",
        "QN-MONGCAI1", "QN-VANDON", "QN-COTO",
    }  # fmt: skip


def test_a_response_stays_with_the_unit_and_desk_it_was_given_at(demo: Flask) -> None:
    with demo.app_context():
        db = get_session()
        query = select(Response.id).join(Unit, Unit.id == Response.unit_id)
        before = db.scalars(query.where(Unit.code == "QN-DH-TBINH")).all()
        assert before
        for response in db.scalars(select(Response).where(Response.id.in_(before))):
            assert response.desk.code == "TBINH1" and response.unit.code == "QN-DH-TBINH"
            assert response.submitted_at < datetime(2025, 6, 30, 17, tzinfo=UTC)


# -- the rules -----------------------------------------------------------------------------------


def _refused(app: Flask, action: object, *words: str) -> None:
    with app.app_context():
        db = get_session()
        changes = db.scalar(select(func.count()).select_from(UnitChange))
        tree = UnitTree.load(db)
        with pytest.raises(unit_history.UnitChangeError) as caught:
            action(db, tree)  # type: ignore[operator]
        db.rollback()
        for word in words:
            assert word in str(caught.value), (word, str(caught.value))
        assert db.scalar(select(func.count()).select_from(UnitChange)) == changes


def test_a_merge_of_a_unit_that_already_ended_is_refused(demo: Flask) -> None:
    _refused(
        demo,
        lambda db, t: unit_history.merge(
            db, t, [t.by_code["QN-DH-TTDH"]], t.by_code["QN-DAMHA"], date(2025, 8, 1)
        ),
        "Thị trấn Đầm Hà (QN-DH-TTDH)",
        "01/07/2025",
        "overlapping dates",
    )
    # Before an earlier recorded change of the same unit: also overlapping.
    _refused(
        demo,
        lambda db, t: unit_history.rename(
            db, t.by_code["QN-DAMHA"], "Xã Đầm Hà Mới", date(2025, 6, 1)
        ),
        "Xã Đầm Hà (QN-DAMHA)",
        "overlapping dates",
    )


def test_a_merge_into_its_own_part_or_predecessor_is_a_cycle(demo: Flask) -> None:
    _refused(
        demo,
        lambda db, t: unit_history.merge(
            db, t, [t.by_code["QN-DAMHA"]], t.by_code["QN-DAMHA-CN"], date(2026, 1, 1)
        ),
        "(QN-DAMHA-CN)",
        "rule: cycle",
    )
    _refused(
        demo,
        lambda db, t: unit_history.merge(
            db, t, [t.by_code["QN-QUANGTAN"]], t.by_code["QN-DH-QTAN"], date(2026, 1, 1)
        ),
        "Xã Quảng Tân (QN-DH-QTAN)",
        "rule: cycle",
    )
    _refused(
        demo,
        lambda db, t: unit_history.move_unit(
            db, t, t.by_code["QN-DAMHA"], t.by_code["QN-DAMHA-DTN1"], date(2026, 1, 1)
        ),
        "rule: cycle",
    )


def test_a_desk_cannot_move_to_a_unit_that_did_not_yet_exist(demo: Flask) -> None:
    def move(db: object, t: UnitTree) -> None:
        desk = get_session().scalar(select(Desk).where(Desk.code == "TBINH1"))
        assert desk is not None
        unit_history.move_desk(get_session(), desk, t.by_code["QN-DAMHA-CN"], date(2025, 3, 1))

    _refused(
        demo,
        move,
        "TBINH1",
        "Chi nhánh Trung tâm Phục vụ hành chính công tại xã Đầm Hà (QN-DAMHA-CN)",
        "01/07/2025",
        "a desk moves only to a unit that exists",
    )


def test_the_cli_records_a_merger_and_refuses_a_bad_one(demo: Flask) -> None:
    runner = demo.test_cli_runner()
    bad = runner.invoke(
        args=["units", "merge", "QN-DH-TBINH", "--into", "QN-DAMHA", "--on", "2026-01-01"]
    )
    assert bad.exit_code != 0 and "QN-DH-TBINH" in bad.output and "overlapping" in bad.output
    good = runner.invoke(
        args=[
            "units", "merge", "QN-BAICHAY", "QN-HALONG", "--into", "QN-HALONG2=Phường Hạ Long",
            "--on", "2026-10-01", "--basis", "thử", "--desks-to", "QN-HALONG-CN",
        ]
    )  # fmt: skip
    assert good.exit_code == 0, good.output
    assert "Phường Bãi Cháy, Phường Hạ Long sáp nhập thành Phường Hạ Long" in good.output
    shown = runner.invoke(args=["units", "show", "QN-HALONG2"])
    # The two wards and what is below them (their branches, which stay where they were).
    merged = "QN-BAICHAY, QN-BAICHAY-CN, QN-HALONG, QN-HALONG-CN"
    assert f"includes (merged in): {merged}" in shown.output
    listed = runner.invoke(args=["units", "list"]).output
    assert "QN-HALONG2" in listed and "QN-BAICHAY\t" not in listed
    assert "QN-BAICHAY\t" in runner.invoke(args=["units", "list", "--all"]).output
    with demo.app_context():
        db = get_session()
        desk = db.scalar(select(Desk).where(Desk.code == "BAICHAY1"))
        assert desk is not None and desk.unit.code == "QN-HALONG-CN" and desk.active
        # The responses given at Bãi Cháy before stay with Bãi Cháy.
        kept = db.scalar(
            select(func.count()).select_from(Response).join(Unit, Unit.id == Response.unit_id)
            .where(Unit.code == "QN-BAICHAY-CN")
        )  # fmt: skip
        assert kept and kept > 0
    moved = runner.invoke(
        args=["units", "move", "--desk", "DAMHA1", "--to", "QN", "--on", "2020-01-01"]
    )
    assert moved.exit_code == 0, moved.output  # the province has always existed
    early = runner.invoke(
        args=["units", "move", "--desk", "DAMHA2", "--to", "QN-HALONG2", "--on", "2026-09-30"]
    )
    assert early.exit_code != 0 and "chưa tồn tại" in early.output


def test_a_new_unit_merged_in_needs_a_fresh_code(demo: Flask) -> None:
    _refused(
        demo,
        lambda db, t: unit_history.merge(
            db,
            t,
            [t.by_code["QN-COTO"]],
            unit_history.NewUnit("QN-VANDON", "Đặc khu Vân Đồn", "special_zone", t.by_code["QN"]),
            date(2026, 11, 1),
        ),
        "QN-VANDON",
        "mã không trùng",
    )


def test_a_hand_worked_merge_pools_two_communes(app: Flask) -> None:
    """Commune A: 3 responses, every criterion 4 (satisfied); commune B: 1 response, every
    criterion 2. Merged into C on 1/7/2025: C's 2025 SIPAS = 100 × 3/4 = 75 (each criterion
    has 3 satisfied of 4 answers); as it was, C has no response and A alone is 100."""
    with app.app_context():
        db = get_session()
        province = Unit(code="P", name="Tỉnh Thử", kind="province")
        a = Unit(code="A", name="Xã A", kind="commune", parent=province)
        b = Unit(code="B", name="Xã B", kind="commune", parent=province)
        desks = [Desk(code="DA", name="Quầy A", unit=a), Desk(code="DB", name="Quầy B", unit=b)]
        db.add_all([province, a, b, *desks])
        db.flush()
        version = current_version(db, "sipas-service")
        for desk, code, count in ((desks[0], "4", 3), (desks[1], "2", 1)):
            for _ in range(count):
                answers = {**dict.fromkeys(CRITERIA, code), "HL": code}
                intake.store(
                    intake.InSession(db, desk, submitted_at=datetime(2025, 3, 3, 3, tzinfo=UTC)),
                    intake.Received(
                        uuid=uuid.uuid4(),
                        checked=intake.check(version, answers),
                        channel="qr",
                        circumstances=Circumstances(60, 0),
                    ),
                )
        tree = UnitTree.load(db)
        unit_history.merge(
            db,
            tree,
            [a, b],
            unit_history.NewUnit("C", "Xã C", "commune", province),
            date(2025, 7, 1),
        )
        db.commit()
        tree = UnitTree.load(db)
        year = periods.parse("2025")
        merged = scorecards.build_scorecard(db, tree, tree.by_code["C"], year, min_n=1)
        assert merged.value("SIPAS") == pytest.approx(75.0)
        assert merged.value("SIPAS", "n") == 4
        march = merged.trend[
            (merged.trend["code"] == "SIPAS") & (merged.trend["period"] == "2025-03")
        ]
        assert float(march["index"].iloc[0]) == pytest.approx(75.0)
        as_was = scorecards.build_scorecard(
            db, tree, tree.by_code["C"], year, min_n=1, view="as_it_was"
        )
        assert as_was.value("SIPAS") is None
        province_card = scorecards.build_scorecard(db, tree, tree.by_code["P"], year, min_n=1)
        rows = province_card.table[province_card.table["code"] == "SIPAS"].set_index("unit_code")
        assert set(rows.index) == {"P", "C"}  # today's map: A and B are counted under C
        assert rows.loc["C", "index"] == pytest.approx(75.0) and rows.loc["C", "rank"] == 1
        old = scorecards.build_scorecard(
            db, tree, tree.by_code["P"], year, min_n=1, view="as_it_was"
        )
        then = old.table[old.table["code"] == "SIPAS"].set_index("unit_code")
        assert then.loc["A", "index"] == pytest.approx(100.0) and then.loc["A", "rank"] == 1
        assert then.loc["B", "index"] == pytest.approx(0.0) and then.loc["B", "rank"] == 2
        assert pd.isna(then.loc["C", "rank"]) if "C" in then.index else True


def test_the_officer_page_records_a_merger_and_refuses_a_bad_one(demo: Flask) -> None:
    admin = sign_in(demo.test_client(), "admin")
    page = admin.get("/officer/field/unit-changes")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Thị trấn Đầm Hà, Xã Đầm Hà, Xã Tân Bình, Xã Đại Bình, Xã Tân Lập sáp nhập thành" in text
    assert "Nghị quyết 1679/NQ-UBTVQH15" in text
    form = {"into": "__new__", "new_kind": "ward", "parent": "QN", "basis": "thử"}
    bad = admin.post(
        "/officer/field/unit-changes/merge",
        data={**form, "sources": ["QN-DH-TBINH"], "new_code": "QN-X", "new_name": "Phường X",
              "effective_on": "2026-03-01"},
    )  # fmt: skip
    assert bad.status_code == 422
    message = bad.get_data(as_text=True)
    assert "Xã Tân Bình (QN-DH-TBINH)" in message and "overlapping dates" in message
    good = admin.post(
        "/officer/field/unit-changes/merge",
        data={**form, "sources": ["QN-BAICHAY", "QN-HALONG"], "new_code": "QN-HALONG2",
              "new_name": "Phường Hạ Long", "effective_on": "2026-10-01"},
    )  # fmt: skip
    assert good.status_code == 302
    listed = admin.get("/officer/field/unit-changes").get_data(as_text=True)
    assert "Phường Bãi Cháy, Phường Hạ Long sáp nhập thành Phường Hạ Long" in listed
    with demo.app_context():
        tree = UnitTree.load(get_session())
        assert tree.predecessors[tree.by_code["QN-HALONG2"].id] == [
            tree.by_code["QN-BAICHAY"].id,
            tree.by_code["QN-HALONG"].id,
        ]
    # Officers who are not administrators cannot record a change.
    officer = sign_in(demo.test_client(), "damha")
    assert officer.get("/officer/field/unit-changes").status_code == 403
    refused = officer.post(
        "/officer/field/unit-changes/merge", data={**form, "sources": ["QN-COTO"]}
    )
    assert refused.status_code == 403
