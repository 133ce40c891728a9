"""What a citizen does, in a real Chromium: scan the desk's QR code, answer, submit."""

from __future__ import annotations

import io
import urllib.request
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from survey_app.db import get_session
from survey_app.models import Response

from ..conftest import CRITERIA, Field
from .conftest import LiveServer

pytestmark = pytest.mark.browser

REQUIRED = [*CRITERIA, "HL"]

CONTRAST_FAILURES = """() => {
  const parse = c => { const p = c.match(/rgba?\\(([^)]+)\\)/)[1].split(',').map(Number);
                       return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = ({r, g, b}) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92
                                 : Math.pow((v + 0.055) / 1.055, 2.4); };
                               return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const ratio = (x, y) => { const a = lum(x), b = lum(y);
                            return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); };
  const background = el => { for (; el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor); if (c.a > 0.99) return c; }
    return {r: 255, g: 255, b: 255, a: 1}; };
  const failures = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    const style = getComputedStyle(el);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    const got = ratio(parse(style.color), background(el));
    if (got < need) failures.push(`${el.textContent.trim().slice(0, 30)}: ${got.toFixed(2)}`);
  }
  // Non-text contrast (WCAG 1.4.11): the edge of each answer box against what is around it.
  for (const el of document.querySelectorAll('.opt, textarea, button')) {
    const style = getComputedStyle(el);
    const edge = parse(style.borderTopWidth === '0px' ? style.backgroundColor
                                                      : style.borderTopColor);
    const got = ratio(edge, background(el.parentElement));
    if (got < 3) failures.push(`${el.className || el.tagName} edge: ${got.toFixed(2)} < 3`);
  }
  return failures;
}"""


def scan(live: LiveServer, desk: str) -> str:
    """Fetch the desk's QR image and decode it as a phone camera would."""
    with urllib.request.urlopen(f"{live.url}/qr/{desk}.png", timeout=10) as response:
        image = Image.open(io.BytesIO(response.read()))
    [result] = zxingcpp.read_barcodes(image)
    return str(result.text)


def answer(page: Any, code: str, value: str) -> None:
    # Tap the option's label, as a finger would (the label is the large target).
    page.locator(f'label.opt:has(input[name="{code}"][value="{value}"])').tap()


def open_optional_step(page: Any) -> None:
    """Unfold "Thêm ý kiến (không bắt buộc)": expectations, the comment, about you."""
    page.locator("details.more > summary").click()
    page.locator("details.more[open]").wait_for()


def responses(live: LiveServer) -> int:
    with live.app.app_context():
        return get_session().scalar(select(func.count()).select_from(Response)) or 0


def test_scan_answer_submit_thank(live_server: LiveServer, field: Field, phone: Any) -> None:
    url = scan(live_server, field.desk)
    assert url == f"{live_server.url}/s/{field.desk}"
    phone.goto(url)
    assert phone.locator("h1").inner_text() == "Phiếu khảo sát sự hài lòng về sự phục vụ hành chính"
    for code in REQUIRED:
        answer(phone, code, "5" if code == "HL" else "4")
    answer(phone, "KQ1", "0")
    open_optional_step(phone)
    phone.fill("textarea[name=comment]", "Cán bộ hướng dẫn rất tận tình.")
    phone.get_by_role("button", name="Gửi đánh giá").tap()
    phone.wait_for_url(f"**/s/{field.desk}/cam-on")
    assert "Cảm ơn Ông/Bà đã đánh giá!" in phone.locator("h1").inner_text()

    with live_server.app.app_context():
        [row] = get_session().scalars(select(Response)).all()
        answers = {a.item: a.code for a in row.answers}
        assert answers["KQ1"] == 0 and answers["HL"] == 5 and answers["TC1"] == 4
        assert row.comment is not None and row.comment.text == "Cán bộ hướng dẫn rất tận tình."


def test_a_missing_answer_is_shown_beside_its_question(
    live_server: LiveServer, field: Field, phone: Any
) -> None:
    phone.goto(scan(live_server, field.desk))
    for code in REQUIRED:
        if code != "TT3":
            answer(phone, code, "3")
    phone.get_by_role("button", name="Gửi đánh giá").tap()
    alert = phone.get_by_role("alert")
    assert "Vui lòng xem lại 1 câu" in alert.inner_text()
    question = phone.locator("#q-TT3")
    assert "Vui lòng chọn một câu trả lời cho câu này." in question.inner_text()
    assert question.get_attribute("aria-describedby") == "e-TT3"
    assert phone.locator('input[name="CC1"][value="3"]').is_checked()  # answers kept
    alert.get_by_role("link", name="Câu 6").tap()
    assert phone.evaluate("location.hash") == "#q-TT3"
    assert responses(live_server) == 0
    answer(phone, "TT3", "2")
    phone.get_by_role("button", name="Gửi đánh giá").tap()
    phone.wait_for_url("**/cam-on")
    assert responses(live_server) == 1


def test_keyboard_only(live_server: LiveServer, field: Field, phone: Any) -> None:
    phone.goto(f"{live_server.url}/s/{field.desk}")
    keyboard = phone.keyboard

    def focused() -> dict[str, str]:
        return phone.evaluate(
            "({name: document.activeElement.name || '', tag: document.activeElement.tagName})"
        )

    for code in REQUIRED:
        for _ in range(60):  # Tab to the question's radio group
            keyboard.press("Tab")
            if focused()["name"] == code:
                break
        else:
            pytest.fail(f"Tab never reached {code}")
        keyboard.press("Space")  # checks the first option
        for _ in range(4 if code == "HL" else 3):
            keyboard.press("ArrowDown")  # moves and checks: 4 "Hài lòng", HL 5
        # Focus is visible on the option being chosen.
        outline = phone.evaluate(
            "getComputedStyle(document.activeElement.closest('label')).outlineStyle"
        )
        assert outline == "solid"
    for _ in range(80):
        keyboard.press("Tab")
        if focused()["tag"] == "BUTTON":
            break
    keyboard.press("Enter")
    phone.wait_for_url("**/cam-on")
    with live_server.app.app_context():
        [row] = get_session().scalars(select(Response)).all()
        assert {a.item: a.code for a in row.answers} == {
            c: (5 if c == "HL" else 4) for c in REQUIRED
        }


@pytest.mark.parametrize("width", [320, 360])
def test_narrow_screens_and_tap_targets(
    live_server: LiveServer, field: Field, browser: Any, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 640})
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{field.desk}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
    open_optional_step(page)  # and measure the optional questions' targets too
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    heights = page.eval_on_selector_all(
        "label.opt, button, .top a, summary",
        "els => els.map(e => e.getBoundingClientRect().height)",
    )
    assert heights and min(heights) >= 44
    widths = page.eval_on_selector_all(
        "label.opt", "els => els.map(e => e.getBoundingClientRect().width)"
    )
    assert min(widths) >= 44
    font = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert font >= 16
    context.close()


def test_colour_contrast_meets_wcag_aa(live_server: LiveServer, field: Field, phone: Any) -> None:
    phone.goto(f"{live_server.url}/s/{field.desk}")
    assert phone.evaluate(CONTRAST_FAILURES) == []
    phone.get_by_role("button", name="Gửi đánh giá").tap()  # the page with error messages
    phone.get_by_role("alert").wait_for()
    assert phone.evaluate(CONTRAST_FAILURES) == []
    phone.goto(f"{live_server.url}/s/NOPE")  # an error page
    assert phone.evaluate(CONTRAST_FAILURES) == []


def test_labelled_groups_for_screen_readers(
    live_server: LiveServer, field: Field, phone: Any
) -> None:
    phone.goto(f"{live_server.url}/s/{field.desk}")
    group = phone.get_by_role("group", name="Công chức giao tiếp lịch sự, tôn trọng")
    assert group.get_by_role("radio", name="Hài lòng", exact=True).count() == 1
    open_optional_step(phone)
    assert phone.get_by_role("textbox", name="Ông/Bà có góp ý gì thêm").count() == 1


def test_english_switch(live_server: LiveServer, field: Field, phone: Any) -> None:
    phone.goto(f"{live_server.url}/s/{field.desk}")
    phone.get_by_role("link", name="English").tap()
    phone.wait_for_url("**lang=en")
    assert phone.locator("h1").inner_text() == "Satisfaction survey on administrative services"
    assert phone.get_by_role("button", name="Send").count() == 1


def test_back_then_submit_again_is_stored_once(
    live_server: LiveServer, field: Field, phone: Any
) -> None:
    phone.goto(f"{live_server.url}/s/{field.desk}")
    for code in REQUIRED:
        answer(phone, code, "4")
    phone.get_by_role("button", name="Gửi đánh giá").tap()
    phone.wait_for_url("**/cam-on")
    phone.go_back()
    phone.wait_for_url(f"**/s/{field.desk}")
    if phone.locator('input[name="TC1"]').count():
        # The browser restored the very same form (same submission id): sending it is a repeat.
        phone.get_by_role("button", name="Gửi đánh giá").tap()
        phone.wait_for_url("**/cam-on")
    else:
        assert phone.locator("h1").inner_text() == "Ông/Bà đã gửi đánh giá"
    assert responses(live_server) == 1

    # Someone else on the same phone can still answer, one tap away.
    phone.goto(f"{live_server.url}/s/{field.desk}")
    phone.get_by_role("link", name="Mở phiếu mới cho người khác").tap()
    for code in REQUIRED:
        answer(phone, code, "2")
    phone.get_by_role("button", name="Gửi đánh giá").tap()
    phone.wait_for_url("**/cam-on")
    assert responses(live_server) == 2


def test_a_survey_sent_during_a_database_outage_is_kept_and_sent_again(
    live_server: LiveServer, field: Field, phone: Any
) -> None:
    from sqlalchemy.orm import sessionmaker

    from survey_app.db import Database, make_autocommit_engine, make_engine

    from ..test_outage import DOWN_URL

    phone.goto(f"{live_server.url}/s/{field.desk}")
    for code in REQUIRED:
        answer(phone, code, "3" if code == "HL" else "4")
    phone.fill("textarea[name=comment]", "Phải chờ khá lâu.")
    # The database goes away while the person answers.
    extensions = live_server.app.extensions
    working = extensions["sipas.db"]
    down = make_engine(DOWN_URL)
    outage = Database(down, sessionmaker(down), make_autocommit_engine(DOWN_URL))
    extensions["sipas.db"] = outage
    try:
        phone.get_by_role("button", name="Gửi đánh giá").tap()
        phone.wait_for_selector("text=Hệ thống tạm thời gián đoạn")
        assert "vẫn được giữ" in phone.locator("main").inner_text()
    finally:
        extensions["sipas.db"] = working
        outage.dispose()
    assert responses(live_server) == 0
    phone.get_by_role("button", name="Gửi lại").tap()
    phone.wait_for_url(f"**/s/{field.desk}/cam-on")
    with live_server.app.app_context():
        [row] = get_session().scalars(select(Response)).all()
        assert {a.item: a.code for a in row.answers}["HL"] == 3
        assert row.comment is not None and row.comment.text == "Phải chờ khá lâu."
