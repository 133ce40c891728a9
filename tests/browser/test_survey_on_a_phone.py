"""The survey on a 360 px phone: short, with its progress shown, by keyboard and without script."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from survey_app.db import get_session
from survey_app.models import Response

from ..conftest import Field
from .conftest import LiveServer
from .test_survey_in_chromium import (
    CONTRAST_FAILURES,
    REQUIRED,
    answer,
    open_optional_step,
    responses,
)

pytestmark = pytest.mark.browser

SCREEN = 740  # px of a common cheap Android phone's viewport height at 360 px wide


def required_part_height(page: Any) -> float:
    """From the top of the page to where the optional step begins."""
    top = "document.querySelector('details.more').getBoundingClientRect().top + scrollY"
    return float(page.evaluate(top))


def progress(page: Any) -> tuple[str, int]:
    """The progress line as Chromium's accessibility tree reads it (a CSS counter's value is
    generated content: innerText leaves it out, screen readers do not) and how many of its
    segments are filled."""
    cdp = page.context.new_cdp_session(page)
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    cdp.detach()
    text = "".join(
        str(n["name"]["value"]) for n in nodes if n["role"]["value"] == "StaticText" and "name" in n
    )
    found = re.search(r"Đã trả lời \d+/\d+ câu bắt buộc", text)
    filled = page.eval_on_selector_all(
        ".bar i",
        "els => els.filter(e => getComputedStyle(e).backgroundColor === 'rgb(23, 96, 44)').length",
    )
    return (found[0] if found else text), int(filled)


def test_the_required_part_fits_four_screens(
    live_server: LiveServer, field: Field, phone: Any
) -> None:
    phone.goto(f"{live_server.url}/s/{field.desk}")
    assert required_part_height(phone) <= 4 * SCREEN
    # Everything optional is folded: the whole page is barely taller than its required part.
    assert phone.evaluate("document.documentElement.scrollHeight") <= 4 * SCREEN + 400
    assert not phone.locator("textarea[name=comment]").is_visible()
    rows = phone.eval_on_selector_all(
        "fieldset.req .faces",
        "els => els.map(e => [...e.querySelectorAll('label.opt')]"
        ".map(l => Math.round(l.getBoundingClientRect().top)))",
    )
    assert len(rows) == len(REQUIRED)
    assert all(len(set(tops)) == 1 for tops in rows)  # five faces and "cannot judge": one row


def test_progress_counts_required_answers_only(
    live_server: LiveServer, field: Field, phone: Any
) -> None:
    phone.goto(f"{live_server.url}/s/{field.desk}")
    assert progress(phone) == ("Đã trả lời 0/17 câu bắt buộc", 0)
    answer(phone, "TC1", "5")
    answer(phone, "KQ1", "0")  # "cannot judge" is an answer
    answer(phone, "HL", "4")
    answer(phone, "TC1", "2")  # changing an answer does not count twice
    assert progress(phone) == ("Đã trả lời 3/17 câu bắt buộc", 3)
    open_optional_step(phone)
    phone.locator('label.opt:has(input[name="GENDER"][value="2"])').tap()
    assert progress(phone) == ("Đã trả lời 3/17 câu bắt buộc", 3)
    # In Windows' high-contrast mode backgrounds are dropped: the chosen face is outlined.
    phone.emulate_media(forced_colors="active")
    chosen = 'label.opt:has(input[name="TC1"][value="2"])'
    other = 'label.opt:has(input[name="TC1"][value="3"])'
    assert phone.eval_on_selector(chosen, "e => getComputedStyle(e).outlineStyle") == "solid"
    assert phone.eval_on_selector(other, "e => getComputedStyle(e).outlineStyle") == "none"


def test_keyboard_only_with_the_optional_step(
    live_server: LiveServer, field: Field, phone: Any
) -> None:
    phone.goto(f"{live_server.url}/s/{field.desk}")
    keyboard = phone.keyboard

    def focused() -> str:
        return str(phone.evaluate("document.activeElement.name || document.activeElement.tagName"))

    def tab_to(target: str) -> None:
        for _ in range(60):
            keyboard.press("Tab")
            if focused() == target:
                return
        pytest.fail(f"Tab never reached {target}")

    for code in REQUIRED:
        tab_to(code)
        keyboard.press("Space")  # 1: the first face
        keyboard.press("ArrowRight")  # 2
        label = "document.activeElement.closest('label')"
        assert phone.evaluate(f"getComputedStyle({label}).outlineStyle") == "solid"
        assert phone.evaluate(f"{label}.getBoundingClientRect().width") >= 44
    assert progress(phone) == ("Đã trả lời 17/17 câu bắt buộc", 17)
    tab_to("SUMMARY")
    assert phone.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    keyboard.press("Enter")  # unfolds the optional step
    tab_to("Q10_5")
    keyboard.press("Space")
    tab_to("comment")
    keyboard.type("Nhanh gọn.")
    tab_to("BUTTON")
    keyboard.press("Enter")
    phone.wait_for_url("**/cam-on")
    with live_server.app.app_context():
        [row] = get_session().scalars(select(Response)).all()
        answers = {a.item: a.code for a in row.answers}
        assert all(answers[c] == 2 for c in REQUIRED) and answers["Q10_5"] == 1
        assert row.comment is not None and row.comment.text == "Nhanh gọn."


def test_without_javascript_everything_still_works(
    live_server: LiveServer, field: Field, browser: Any
) -> None:
    context = browser.new_context(
        viewport={"width": 360, "height": SCREEN},
        is_mobile=True,
        has_touch=True,
        java_script_enabled=False,
        locale="vi-VN",
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/s/{field.desk}")
    assert required_part_height(page) <= 4 * SCREEN
    for code in REQUIRED[:-1]:
        answer(page, code, "4")
    open_optional_step(page)
    page.fill("textarea[name=comment]", "x" * 1001)  # too long: the server says so
    page.get_by_role("button", name="Gửi đánh giá").tap()
    page.get_by_role("alert").wait_for()
    # Answers are kept, the step with the problem is unfolded, nothing is stored yet.
    assert page.locator("details.more[open]").count() == 1
    assert page.locator('input[name="TC1"][value="4"]').is_checked()
    assert progress(page) == ("Đã trả lời 16/17 câu bắt buộc", 16)
    assert responses(live_server) == 0
    answer(page, "HL", "5")
    page.fill("textarea[name=comment]", "Tốt.")
    page.get_by_role("button", name="Gửi đánh giá").dblclick()  # an impatient double tap
    page.wait_for_url("**/cam-on")
    assert responses(live_server) == 1  # one person, one response
    with live_server.app.app_context():
        [row] = get_session().scalars(select(Response)).all()
        assert {a.item: a.code for a in row.answers}["HL"] == 5
        assert row.comment is not None and row.comment.text == "Tốt."
    context.close()


def test_wide_screens_write_each_faces_label(
    live_server: LiveServer, field: Field, browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{field.desk}")
    group = page.get_by_role("group", name="Công chức giao tiếp lịch sự, tôn trọng")
    label = group.get_by_text("Bình thường", exact=True)
    assert label.is_visible() and label.bounding_box()["width"] > 40
    assert page.evaluate(CONTRAST_FAILURES) == []
    context.close()
    phone = browser.new_context(viewport={"width": 360, "height": SCREEN}).new_page()
    phone.goto(f"{live_server.url}/s/{field.desk}")
    hidden = phone.get_by_role("group", name="Công chức giao tiếp lịch sự, tôn trọng")
    assert hidden.get_by_text("Bình thường", exact=True).bounding_box()["width"] <= 1
    phone.context.close()
