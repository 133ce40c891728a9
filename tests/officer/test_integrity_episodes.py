"""The review page's episodes (issue 11): listed with their reasons, decided once, audited."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app.db import get_session
from survey_app.models import AuditEvent, Response, ResponseReview

from .conftest import response_of_unit

KEY = re.compile(r'name="episode" value="([^"]+)"')


def test_an_episode_is_listed_and_decided_once(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    flagged = response_of_unit(demo, "QN-DH-QTAN", flagged=True)
    client = signed_in("quangtan")
    page = client.get("/officer/review").get_data(as_text=True)
    assert "Các đợt phiếu bị gắn cờ" in page
    keys = [html.unescape(k) for k in KEY.findall(page)]
    assert keys, "an episode form"
    with demo.app_context():
        desk_id = get_session().get_one(Response, flagged).desk_id
    key = next(k for k in keys if k.startswith(f"{desk_id}|"))
    decided = client.post(
        "/officer/review/episode",
        data={"episode": key, "decision": "keep", "note": "đã kiểm tra camera"},
    )
    assert decided.status_code == 302
    with demo.app_context():
        session = get_session()
        review = session.get(ResponseReview, flagged)
        assert review is not None and review.decision == "keep"
        events = list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == "review_episode"))
        )
    assert len(events) == 1 and events[0].detail["decision"] == "keep"
    assert events[0].detail["responses"] >= 1
    # A malformed key is a clear 400, never a 500.
    bad = client.post("/officer/review/episode", data={"episode": "x|y", "decision": "keep"})
    assert bad.status_code == 400


def test_a_viewer_cannot_decide_an_episode(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    response_of_unit(demo, "QN-DH-QTAN", flagged=True)
    page = signed_in("admin").get("/officer/review").get_data(as_text=True)
    key = html.unescape(KEY.findall(page)[0])
    refused = signed_in("xem").post(
        "/officer/review/episode", data={"episode": key, "decision": "exclude"}
    )
    assert refused.status_code in (302, 403)
    with demo.app_context():
        assert get_session().scalar(select(ResponseReview)) is None
