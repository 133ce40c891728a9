"""The workspace's pages: the dashboard shows analysis/ numbers with their tables, drill-down,
comments handled with a note, integrity review with both scores, field management, targets,
API tokens and the audit log."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import questionnaires
from survey_app.db import get_session
from survey_app.models import (
    AuditEvent,
    CommentFollowUp,
    Desk,
    ResponseReview,
    Target,
)
from survey_app.services import desk_drops, periods, scorecards, wide_export
from survey_app.services.accounts import UnitTree

from .conftest import response_of_unit


def _year() -> str:
    today = date.today()
    return str(today.year if today.month >= 7 else today.year - 1)


def _card(app: Flask, code: str, score_flagged: str = "exclude") -> scorecards.Scorecard:
    with app.app_context():
        db = get_session()
        tree = UnitTree.load(db)
        return scorecards.build_scorecard(
            db, tree, tree.by_code[code], periods.parse(_year()), score_flagged=score_flagged
        )


def _number(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def test_the_dashboard_shows_the_scorecard_with_tables_beside_charts(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    card = _card(demo, "QN")
    page = signed_in("admin").get(f"/officer/units/QN?period={_year()}").get_data(as_text=True)
    sipas = card.value("SIPAS")
    assert f'<td class="strong">{_number(sipas)}</td>' in page
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') >= 3
    assert page.count('<table class="data"') >= 4  # each chart has its numbers beside it
    for name in ("Xã Quảng Tân", "Xã Đầm Hà", "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh"):
        assert name in page  # the units below, linked for drill-down
    assert 'href="/officer/units/QN-QUANGTAN?period=' in page
    # Today's map: the former district and its communes are not among the units below.
    assert "Huyện Đầm Hà" not in page and 'href="/officer/units/QN-DH?' not in page
    assert "Ưu tiên cải thiện" in page  # the importance–performance view
    assert "style=" not in page  # the strict CSP allows no inline style attribute
    english = signed_in("admin").get(f"/officer/units/QN?period={_year()}&lang=en")
    assert "Ranking of the units below" in english.get_data(as_text=True)


def test_small_groups_are_flagged_and_not_ranked(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    demo.config["SCORE_MIN_N"] = 10_000
    page = (
        signed_in("damha").get(f"/officer/units/QN-DAMHA?period={_year()}").get_data(as_text=True)
    )
    assert "chưa đủ mẫu" in page and "không xếp hạng" in page


def test_drill_down_reaches_a_desk(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    client = signed_in("quangtan")
    commune = client.get(f"/officer/units/QN-QUANGTAN?period={_year()}").get_data(as_text=True)
    assert "/officer/desks/QUANGTAN1" in commune
    desk = client.get(f"/officer/desks/QUANGTAN1?period={_year()}")
    assert desk.status_code == 200
    assert "Chi nhánh xã Quảng Tân – Quầy 1" in desk.get_data(as_text=True)


def test_a_comment_is_marked_handled_with_a_note(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    response_id = response_of_unit(demo, "QN-QUANGTAN", with_comment=True)
    client = signed_in("quangtan")
    listing = client.get("/officer/comments?status=open").get_data(as_text=True)
    assert f'id="c{response_id}"' in listing
    empty = client.post(f"/officer/comments/{response_id}/handle", data={"note": ""})
    assert empty.status_code == 302  # back to the list with the message, nothing stored
    done = client.post(
        f"/officer/comments/{response_id}/handle",
        data={"note": "Đã bổ sung ghế chờ.", "next": "/officer/comments"},
    )
    assert done.status_code == 302 and done.headers["Location"] == "/officer/comments"
    with demo.app_context():
        follow = get_session().get(CommentFollowUp, response_id)
        assert follow is not None and follow.note == "Đã bổ sung ghế chờ."
    handled = client.get("/officer/comments?status=handled").get_data(as_text=True)
    assert "Đã bổ sung ghế chờ." in handled
    assert f'id="c{response_id}"' not in client.get("/officer/comments?status=open").get_data(
        as_text=True
    )


def test_very_dissatisfied_responses_are_highlighted(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    page = signed_in("admin").get("/officer/comments?very_dissatisfied=1").get_data(as_text=True)
    shown = re.findall(r'<li class="comment very', page)
    total = re.search(r"<p>(\d+) ý kiến</p>", page)
    assert total is not None and len(shown) == min(int(total[1]), 50)


def test_integrity_review_records_who_and_when_and_scores_show_both(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    flagged = response_of_unit(demo, "QN-QUANGTAN", flagged=True)
    # Scored with flagged responses awaiting review counted (SCORE_FLAGGED=include, the rule
    # before issue 11; by default they wait outside the scores), so the exclusion shows.
    before = _card(demo, "QN-QUANGTAN", "include")
    client = signed_in("quangtan")
    assert f'id="r{flagged}"' in client.get("/officer/review").get_data(as_text=True)
    decided = client.post(
        f"/officer/review/{flagged}", data={"decision": "exclude", "note": "máy tính bảng thử"}
    )
    assert decided.status_code == 302
    with demo.app_context():
        review = get_session().get(ResponseReview, flagged)
        assert review is not None and review.decision == "exclude"
        assert review.officer.username == "quangtan" and review.decided_at is not None
    after = _card(demo, "QN-QUANGTAN", "include")
    counts = after.counts.set_index("unit_code").loc["QN-QUANGTAN"]
    if before.scored:  # the response is in this year's scores
        assert after.scored == before.scored - 1
        assert counts["marked_not_valid"] >= 1
        kept = after.kept_all.set_index("code").loc["SIPAS"]
        assert kept["n"] == before.value("SIPAS", "n")
        assert kept["index"] == pytest.approx(before.value("SIPAS"))
    assert f'id="r{flagged}"' in client.get("/officer/review?status=decided").get_data(as_text=True)
    # Not flagged: nothing to review.
    plain = response_of_unit(demo, "QN-DAMHA-CN")
    with demo.app_context():
        db = get_session()
        from survey_app.models import Response

        row = db.get(Response, plain)
        assert row is not None
        row.flags = ""
        db.commit()
    assert (
        signed_in("admin").post(f"/officer/review/{plain}", data={"decision": "keep"}).status_code
        == 409
    )


def test_desks_get_a_questionnaire_and_opening_hours(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    client = signed_in("quangtan")
    form = {
        "code": "qtan2",
        "name": "Quầy 2 xã Quảng Tân",
        "unit": "QN-QUANGTAN",
        "questionnaire": "sipas-kiosk",
        "active": "y",
        "days": ["0", "2", "4"],
        "am_open": "07:30",
        "am_close": "11:30",
        "pm_open": "",
        "pm_close": "",
    }
    assert client.post("/officer/field/desks/new", data=form).status_code == 302
    with demo.app_context():
        db = get_session()
        desk = db.scalar(select(Desk).where(Desk.code == "QTAN2"))
        assert desk is not None and desk.questionnaire == "sipas-kiosk"
        # The same hours the desk's kiosk obeys (closed on the days not ticked).
        assert desk.opening_hours == {
            "mon": ["07:30-11:30"],
            "wed": ["07:30-11:30"],
            "fri": ["07:30-11:30"],
        }
    page = client.get("/officer/field").get_data(as_text=True)
    assert "Thứ Hai 07:30–11:30; Thứ Tư 07:30–11:30; Thứ Sáu 07:30–11:30" in page
    edit = client.get("/officer/field/desks/QTAN2").get_data(as_text=True)
    assert 'value="07:30"' in edit and 'value="11:30"' in edit
    bad = client.post(
        "/officer/field/desks/new", data={**form, "code": "QTAN3", "am_close": "07:00"}
    )
    assert bad.status_code == 400 and "Giờ kết thúc phải sau giờ bắt đầu." in bad.get_data(
        as_text=True
    )
    taken = client.post("/officer/field/desks/new", data={**form, "code": "QUANGTAN1"})
    assert taken.status_code == 400 and "Mã này đã được dùng." in taken.get_data(as_text=True)
    # Moving a desk to a unit outside the officer's scope is refused.
    away = client.post(
        "/officer/field/desks/QTAN2", data={**form, "code": "QTAN2", "unit": "QN-DAMHA-CN"}
    )
    assert away.status_code == 403
    with demo.app_context():
        changes = (
            get_session()
            .scalars(select(AuditEvent).where(AuditEvent.action == "desk_created"))
            .all()
        )
        assert [e.target for e in changes] == ["QTAN2"]


def test_targets_join_the_scores(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    client = signed_in("damha")
    assert (
        client.post(
            "/officer/targets",
            data={"unit": "QN-DAMHA-CN", "code": "TC", "period": _year(), "value": "90"},
        ).status_code
        == 302
    )
    assert (
        client.post(
            "/officer/targets",
            data={"unit": "QN-DAMHA-CN", "code": "TC", "period": "2026-13", "value": "90"},
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/officer/targets",
            data={"unit": "QN-DAMHA-CN", "code": "TC", "period": "", "value": "120"},
        ).status_code
        == 400
    )
    card = _card(demo, "QN-DAMHA")
    row = card.table[(card.table["unit_code"] == "QN-DAMHA-CN") & (card.table["code"] == "TC")]
    assert float(row["target"].iloc[0]) == 90
    assert float(row["gap"].iloc[0]) == pytest.approx(float(row["index"].iloc[0]) - 90)
    with demo.app_context():
        assert get_session().scalar(select(Target.value).where(Target.code == "TC")) == 90


def test_api_tokens_are_issued_once_and_revoked(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    client = signed_in("admin")
    page = client.post("/officer/api-tokens", data={"name": "Hệ thống KH", "unit": "QN-DAMHA"})
    secret = re.search(r"<code>(sipas_[^<]+)</code>", page.get_data(as_text=True))
    assert secret is not None
    api = demo.test_client()
    headers = {"Authorization": f"Bearer {secret[1]}"}
    assert api.get("/api/v1/units", headers=headers).status_code == 200
    assert secret[1] not in client.get("/officer/api-tokens").get_data(as_text=True)
    with demo.app_context():
        from survey_app.models import ApiToken

        token_id = get_session().scalar(select(ApiToken.id).where(ApiToken.name == "Hệ thống KH"))
    assert client.post(f"/officer/api-tokens/{token_id}/revoke").status_code == 302
    assert api.get("/api/v1/units", headers=headers).status_code == 401


def test_the_audit_log_lists_sign_ins_exports_and_changes(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    officer = signed_in("damha")
    officer.get("/officer/reports/posters/DAMHA1.pdf").get_data()
    officer.post(
        "/officer/targets", data={"unit": "QN-DAMHA", "code": "SIPAS", "period": "", "value": "88"}
    )
    log = signed_in("admin").get("/officer/audit").get_data(as_text=True)
    # Events in words (issue 14), never their codes or raw JSON.
    for words in ("Đăng nhập", "Tải áp phích mã QR", "Đặt chỉ tiêu"):
        assert f"<td>{words}</td>" in log
    assert "<td>target_set</td>" not in log and "{&#34;" not in log
    assert "khổ giấy: A4; số lượng: 1" in log
    only = signed_in("admin").get("/officer/audit?action=export_posters").get_data(as_text=True)
    assert "<td>Đặt chỉ tiêu</td>" not in only


def test_a_sudden_drop_of_a_desks_daily_score_is_found() -> None:
    """28 ordinary days, then a day of dissatisfied answers at one desk."""
    q = questionnaires.get("sipas-service")
    items = [i.code for i in q.satisfaction_items] + ["HL"]
    last = date(2026, 5, 20)
    rows = []
    for back in range(1, 29):
        for k in range(4):
            rows.append(("GOOD", last - timedelta(days=back), k, (5, 4, 4, 3)[k]))
    for k in range(8):
        rows.append(("GOOD", last, k, 1 + k % 2))
    for back in range(0, 29):  # a steady desk: never flagged
        for k in range(6):
            rows.append(("OTHER", last - timedelta(days=back), k, (5, 4, 3)[k % 3]))
    frame = pd.DataFrame(
        {
            "desk_code": [r[0] for r in rows],
            "submitted_at": [
                pd.Timestamp(f"{r[1]}T03:00:00Z") + pd.Timedelta(minutes=r[2]) for r in rows
            ],
        }
    )
    for code in wide_export.item_columns(q)[0]:
        frame[code] = [r[3] for r in rows] if code in items else None
    drops = desk_drops.desk_drops(
        frame,
        q,
        settings=scorecards.settings_for(30),
        zone="Asia/Ho_Chi_Minh",
        last_day=last,
        points=15,
        min_n=5,
    )
    assert [(d.desk_code, d.day) for d in drops] == [("GOOD", last)]
    assert drops[0].change < -15 and drops[0].n == 8


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("2026", "2026-01-01", "2026-12-31"),
        ("2026-Q2", "2026-04-01", "2026-06-30"),
        ("2024-02", "2024-02-01", "2024-02-29"),
        ("2026-12", "2026-12-01", "2026-12-31"),
    ],
)
def test_periods_are_calendar_ranges(label: str, start: str, end: str) -> None:
    period = periods.parse(label)
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)
    assert periods.parse(period.previous().label).end == period.start - timedelta(days=1)


@pytest.mark.parametrize(
    "label",
    ["", "26", "2026-13", "2026-00", "2026-Q5", "1999", "2101", "2026-1", "２０２６", "2026/05"],
)
def test_periods_that_make_no_sense_are_refused(label: str) -> None:
    with pytest.raises(periods.PeriodError):
        periods.parse(label)
