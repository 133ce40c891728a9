"""Keying a paper household form in Chromium from the keyboard only: one digit per answer,
instant refusal of a code outside the scale, Enter for a blank, the second clerk's equal
keying stores the form."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

import questionnaires
from survey_app.db import get_session
from survey_app.models import Desk, Officer, PaperKeying, Response, Unit
from survey_app.services import accounts, paper_keying, sample_plans

from ..survey.conftest import PASSWORD, frame_csv
from .conftest import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture
def keying_browser(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _plan(live_server: LiveServer) -> int:
    with live_server.app.app_context():
        session = get_session()
        root = Unit(code="X-TINH", name="Tỉnh Khảo Sát", kind="province")
        session.add(root)
        for code in ("X-AN", "X-BINH", "X-CHAU"):
            unit = Unit(code=code, name=f"Xã {code[2:].title()}", kind="commune", parent=root)
            session.add_all([unit, Desk(code=f"D{code[2:]}", name="Một cửa", unit=unit)])
        session.flush()
        for name in ("thu1", "thu2"):
            accounts.create_officer(
                session, username=name, password=PASSWORD, role="officer", unit=root
            )
        frame = sample_plans.read_frame(frame_csv(), "khung.csv")
        request = sample_plans.PlanRequest(
            name="Khảo sát", stratum_column="xa", unit_column="ma_ho", cluster_column="thon",
            seed=3, per_cluster=4, sizes={"X-AN": 6},
        )  # fmt: skip
        plan = sample_plans.store(session, sample_plans.preview(session, frame, request))
        session.commit()
        return plan.id


def _sign_in(page: object, base: str, username: str) -> None:
    page.goto(f"{base}/officer/sign-in")  # type: ignore[attr-defined]
    page.fill("#username", username)  # type: ignore[attr-defined]
    page.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url("**/officer/**")  # type: ignore[attr-defined]


def answers_2023() -> dict[str, str]:
    """A 2023 household form answered in full: every item has a code (Q2: three channels)."""
    questionnaire = questionnaires.get("sipas-2023")
    out: dict[str, str] = {}
    for field in paper_keying.keying_fields(questionnaire):
        if field.kind == "choice":
            out[field.code] = str(field.codes[(len(field.code) + 1) % len(field.codes)])
        elif field.kind == "multi":
            out[field.code] = "136"
    return out


def key_form(page: object, number: str, answers: dict[str, str]) -> tuple[int, int]:
    """Key one form as a clerk does; returns (answer-code keystrokes, other keystrokes)."""
    questionnaire = questionnaires.get("sipas-2023")
    codes = other = 0
    page.focus("#form_number")  # type: ignore[attr-defined]
    for digit in number:
        page.keyboard.press(digit)  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    other += 1 + len(number)
    for field in paper_keying.keying_fields(questionnaire):
        value = answers.get(field.code, "")
        if field.kind == "text":
            page.keyboard.press("Enter")  # type: ignore[attr-defined]  # Enter in the comment saves
            other += 1
            continue
        for digit in value:
            page.keyboard.press(digit)  # type: ignore[attr-defined]
            codes += 1
        if field.kind == "multi" or value == "":
            page.keyboard.press("Enter")  # type: ignore[attr-defined]
            other += 1
    return codes, other


def test_a_household_form_is_keyed_from_the_keyboard_only(
    live_server: LiveServer, keying_browser: object
) -> None:
    plan_id = _plan(live_server)
    page = keying_browser
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)  # type: ignore[attr-defined]
    _sign_in(page, live_server.url, "thu1")
    page.goto(f"{live_server.url}/officer/survey/{plan_id}/key")  # type: ignore[attr-defined]

    # A code outside the scale is refused on the spot: the box stays empty and keeps the focus.
    page.focus("#f-Q9_1")  # type: ignore[attr-defined]
    page.keyboard.press("7")  # type: ignore[attr-defined]
    assert page.input_value("#f-Q9_1") == ""  # type: ignore[attr-defined]
    assert "7 ngoài thang trả lời (chỉ nhận 1, 2, 3, 4, 5)" in page.inner_text("#m-Q9_1")  # type: ignore[attr-defined]
    assert page.evaluate("document.activeElement.id") == "f-Q9_1"  # type: ignore[attr-defined]
    page.keyboard.press("4")  # type: ignore[attr-defined]
    assert page.evaluate("document.activeElement.id") == "f-Q9_2"  # type: ignore[attr-defined]
    page.keyboard.press("Backspace")  # type: ignore[attr-defined]  # empty box: back to Q9_1
    assert page.evaluate("document.activeElement.id") == "f-Q9_1"  # type: ignore[attr-defined]
    page.reload()  # type: ignore[attr-defined]

    answers = answers_2023()
    codes, other = key_form(page, "3", answers)
    page.wait_for_selector(".flash.ok")  # type: ignore[attr-defined]
    assert "Đã lưu lần nhập thứ nhất của phiếu" in page.inner_text(".flash.ok")  # type: ignore[attr-defined]
    # 85 single-code items and Q2's three codes; beyond them: the form number and its Enter,
    # the Enter that closes Q2, the Enter that saves.
    assert codes == 88 and other == 4
    with live_server.app.app_context():
        session = get_session()
        keyed = session.scalar(select(PaperKeying.answers))
        assert keyed is not None
        assert keyed["Q2"] == [1, 3, 6] and keyed["Q9_39"] == int(answers["Q9_39"])
        assert len(keyed) == 86

    # The second clerk keys the same form: it is stored.
    page.context.clear_cookies()  # type: ignore[attr-defined]
    _sign_in(page, live_server.url, "thu2")
    page.goto(f"{live_server.url}/officer/survey/{plan_id}/key")  # type: ignore[attr-defined]
    key_form(page, f"KH{plan_id}-00003", answers)
    page.wait_for_selector(".flash.ok")  # type: ignore[attr-defined]
    assert "hai lần nhập khớp nhau" in page.inner_text(".flash.ok")  # type: ignore[attr-defined]
    with live_server.app.app_context():
        session = get_session()
        assert session.scalar(select(func.count()).select_from(Response)) == 1
        assert session.scalar(select(Response.channel)) == "paper"
        assert session.scalar(select(func.count()).select_from(Officer)) == 2
    assert problems == []
