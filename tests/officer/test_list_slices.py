"""The comments and review lists read slices (issue 10, item 4): the count stops at a cap and
the page says "N+", pages are an indexed slice newest first, and the indexes exist."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect

from survey_app.db import get_engine, get_session
from survey_app.services import feedback, pagination

from .conftest import response_of_unit


def test_a_long_list_counts_up_to_the_cap_and_says_so(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    with demo.app_context():
        everything = feedback.comments_page(get_session(), feedback.CommentFilter(), 1)
    assert 10 < everything.total < pagination.COUNT_CAP and not everything.capped
    client = signed_in("damha")
    page = client.get("/officer/comments").get_data(as_text=True)
    assert f"{everything.total} ý kiến" in page
    monkeypatch.setattr(feedback, "COUNT_CAP", 10)
    with demo.app_context():
        capped = feedback.comments_page(get_session(), feedback.CommentFilter(), 1)
        second = feedback.comments_page(get_session(), feedback.CommentFilter(), 2)
    assert capped.capped and capped.total == 10 and capped.shown_total == "10+"
    # The rows are still the newest first, a page at a time, whatever the count says.
    assert [r.Response.id for r in capped.rows] == [r.Response.id for r in everything.rows]
    assert len(second.rows) == min(pagination.PAGE_SIZE, everything.total - pagination.PAGE_SIZE)
    page = client.get("/officer/comments").get_data(as_text=True)
    assert "10+ ý kiến" in page


def test_the_review_queue_counts_up_to_the_cap(
    demo: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    for code in ("QN-DH-QTAN", "QN-DH-QLAM", "QN-DH-DYEN"):
        response_of_unit(demo, code, flagged=True)
    monkeypatch.setattr(feedback, "COUNT_CAP", 2)
    with demo.app_context():
        listed = feedback.review_page(get_session(), None, None, "all", 1)
    assert listed.capped and listed.shown_total == "2+" and len(listed.rows) >= 3
    submitted = [r.Response.submitted_at for r in listed.rows]
    assert submitted == sorted(submitted, reverse=True)


def test_the_lists_have_their_newest_first_indexes(app: Flask) -> None:
    with app.app_context():
        names = {i["name"] for i in inspect(get_engine()).get_indexes("responses")}
    assert {
        "ix_responses_newest",
        "ix_responses_flagged_newest",
        "ix_responses_flagged_unit_newest",
    } <= names
