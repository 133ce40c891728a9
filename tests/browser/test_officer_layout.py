"""Officer pages in Chromium (issue 14): no sideways scroll on a 390 px phone, one line of
navigation at 1366 px, a print stylesheet, readable chart labels, the period picker."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations

import pytest

from ..officer.conftest import PASSWORDS
from .conftest import LiveServer

pytestmark = pytest.mark.browser

PAGES = [
    "/officer/units/QN",
    "/officer/units/QN-DAMHA",
    "/officer/units/QN-DH",  # the former district, as it was
    "/officer/desks/DAMHA1",
    "/officer/comments",
    "/officer/review",
    "/officer/field",
    "/officer/field/kiosks",
    "/officer/targets",
    "/officer/api-tokens",
    "/officer/audit",
    "/officer/accounts",
    "/officer/units/KHONG-CO",
]


@pytest.fixture
def demo_server(live_server: LiveServer) -> LiveServer:
    result = live_server.app.test_cli_runner().invoke(
        args=["demo", "load", "--responses", "300", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    return live_server


def _page(browser: object, width: int, height: int = 900) -> Iterator[object]:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser: object) -> Iterator[object]:
    yield from _page(browser, 390, 844)


@pytest.fixture
def laptop_page(browser: object) -> Iterator[object]:
    yield from _page(browser, 1366, 768)


def _sign_in(page: object, base: str, username: str = "admin") -> None:
    page.goto(f"{base}/officer/sign-in")  # type: ignore[attr-defined]
    page.fill("#username", username)  # type: ignore[attr-defined]
    page.fill("#password", PASSWORDS[username])  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url("**/officer/units/**")  # type: ignore[attr-defined]


def test_no_officer_page_scrolls_sideways_on_a_390_px_phone(
    demo_server: LiveServer, phone_page: object
) -> None:
    page = phone_page
    _sign_in(page, demo_server.url)
    wide = {}
    for path in PAGES:
        page.goto(demo_server.url + path)  # type: ignore[attr-defined]
        width = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
        if width > 390:
            wide[path] = width
    assert wide == {}


def test_the_navigation_is_one_line_at_1366_px(
    demo_server: LiveServer, laptop_page: object
) -> None:
    page = laptop_page
    _sign_in(page, demo_server.url)
    for path in ("/officer/units/QN", "/officer/audit"):
        page.goto(demo_server.url + path)  # type: ignore[attr-defined]
        tops = page.evaluate(  # type: ignore[attr-defined]
            "[...document.querySelectorAll('.ow-nav > a, .ow-nav > form')]"
            ".map(e => Math.round(e.getBoundingClientRect().top))"
        )
        height = page.evaluate("document.querySelector('.ow-nav').offsetHeight")  # type: ignore[attr-defined]
        assert len(tops) >= 7 and max(tops) - min(tops) <= 4, tops
        assert height < 60, height
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366  # type: ignore[attr-defined]


def test_the_dashboard_prints_on_paper(demo_server: LiveServer, browser: object) -> None:
    # An A4 page at 96 dpi is 794 px wide.
    for page in _page(browser, 794, 1123):
        _sign_in(page, demo_server.url)
        page.goto(demo_server.url + "/officer/units/QN")  # type: ignore[attr-defined]
        page.emulate_media(media="print")  # type: ignore[attr-defined]
        shown = page.evaluate(  # type: ignore[attr-defined]
            "['.ow-nav', '.period-form', '.downloads', 'header.top']"
            ".map(s => getComputedStyle(document.querySelector(s)).display)"
        )
        assert shown == ["none"] * 4
        assert page.evaluate("document.documentElement.scrollWidth") <= 794  # type: ignore[attr-defined]
        assert page.locator("svg.chart").count() >= 3  # type: ignore[attr-defined]
        assert page.get_by_text("Số liệu của biểu đồ").is_visible()  # type: ignore[attr-defined]
        pdf = page.pdf(format="A4")  # type: ignore[attr-defined]
        assert pdf.startswith(b"%PDF")
        page.emulate_media(media="screen")  # type: ignore[attr-defined]
        assert (
            page.evaluate("getComputedStyle(document.querySelector('.ow-nav')).display") == "flex"
        )  # type: ignore[attr-defined]


def test_the_importance_chart_labels_never_overlap(
    demo_server: LiveServer, laptop_page: object
) -> None:
    page = laptop_page
    _sign_in(page, demo_server.url)
    page.goto(demo_server.url + "/officer/units/QN")  # type: ignore[attr-defined]
    boxes = page.evaluate(  # type: ignore[attr-defined]
        "[...document.querySelectorAll('text.point-label')].map(t => {"
        " const b = t.getBoundingClientRect();"
        " return [t.textContent, b.left, b.top, b.right, b.bottom]; })"
    )
    assert len(boxes) >= 10  # every criterion of sipas-service is placed
    for a, b in combinations(boxes, 2):
        w = min(a[3], b[3]) - max(a[1], b[1])
        h = min(a[4], b[4]) - max(a[2], b[2])
        assert w <= 0.5 or h <= 0.5, (a, b)
    chart = page.locator("#ip-h ~ .pair svg")  # type: ignore[attr-defined]
    svg = chart.evaluate("s => s.outerHTML")
    assert "Mức độ quan trọng" in svg and "tương quan với câu HL" not in svg
    ticks = chart.evaluate(
        "s => [...s.querySelectorAll('text[text-anchor=end]')].map(t => t.textContent)"
    )
    assert len([t for t in ticks if t.startswith(("0,", "−0,"))]) >= 3, ticks


def test_the_period_picker_and_the_split_by_form(
    demo_server: LiveServer, laptop_page: object
) -> None:
    page = laptop_page
    _sign_in(page, demo_server.url)
    page.goto(demo_server.url + "/officer/units/QN")  # type: ignore[attr-defined]
    quick = page.locator("select.period-pick")  # type: ignore[attr-defined]
    choices = quick.evaluate("s => [...s.options].map(o => o.value).filter(Boolean)")
    month = next(c for c in choices if len(c) == 7 and "/" in c)
    with page.expect_navigation():  # type: ignore[attr-defined]
        quick.select_option(month)
    assert page.locator("h1 small").inner_text() == f"kỳ {month}"  # type: ignore[attr-defined]
    # Typed as the app prints a quarter.
    page.fill("#period", "Q1/" + month[-4:])  # type: ignore[attr-defined]
    page.get_by_role("button", name="Xem").click()  # type: ignore[attr-defined]
    page.wait_for_url("**period=Q1**")  # type: ignore[attr-defined]
    assert page.locator("h1 small").inner_text() == f"kỳ Q1/{month[-4:]}"  # type: ignore[attr-defined]
    # The split by form and channel is one click away.
    assert not page.get_by_text("Chỉ xem phiếu kiosk").is_visible()  # type: ignore[attr-defined]
    page.get_by_text("Tách theo kênh và mẫu phiếu").click()  # type: ignore[attr-defined]
    assert page.get_by_text("Chỉ xem phiếu kiosk").is_visible()  # type: ignore[attr-defined]
