"""The officer workspace in Chromium: sign in, see the dashboard, download the Excel report,
sign out; a commune officer cannot reach another commune; an administrator records a merger."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from ..officer.conftest import PASSWORDS
from .conftest import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture
def desk_browser(browser: object) -> object:
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1280, "height": 900}, locale="vi-VN", accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _load_demo(live_server: LiveServer) -> None:
    result = live_server.app.test_cli_runner().invoke(
        args=["demo", "load", "--responses", "300", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output


def _sign_in(page: object, base: str, username: str) -> None:
    page.goto(f"{base}/officer/units/QN-DAMHA")  # type: ignore[attr-defined]
    assert "/officer/sign-in" in page.url  # type: ignore[attr-defined]
    page.fill("#username", username)  # type: ignore[attr-defined]
    page.fill("#password", PASSWORDS[username])  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def test_sign_in_dashboard_excel_and_sign_out(
    live_server: LiveServer, desk_browser: object, tmp_path: Path
) -> None:
    _load_demo(live_server)
    page = desk_browser
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)  # type: ignore[attr-defined]
    _sign_in(page, live_server.url, "damha")
    # Back to the page asked for, with the commune's scores, charts and their tables.
    page.wait_for_url("**/officer/units/QN-DAMHA")  # type: ignore[attr-defined]
    assert page.locator("h1").inner_text().startswith("Xã Đầm Hà")  # type: ignore[attr-defined]
    assert page.locator("svg.chart").count() >= 3  # type: ignore[attr-defined]
    assert page.locator("table.data").count() >= 4  # type: ignore[attr-defined]
    assert page.get_by_text("Xếp hạng các đơn vị trực thuộc").is_visible()  # type: ignore[attr-defined]
    with page.expect_download() as download_info:  # type: ignore[attr-defined]
        page.get_by_text("Tải báo cáo Excel").click()  # type: ignore[attr-defined]
    download = download_info.value
    assert download.suggested_filename.startswith("sipas-QN-DAMHA-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    book = load_workbook(io.BytesIO(saved.read_bytes()))
    assert "Tổng hợp" in book.sheetnames
    assert book["Tổng hợp"]["A5"].value == "QN-DAMHA"
    # Drill down to the commune's branch, then sign out.
    branch = "Chi nhánh Trung tâm Phục vụ hành chính công tại xã Đầm Hà"
    page.get_by_role("link", name=branch).first.click()  # type: ignore[attr-defined]
    page.wait_for_url("**/officer/units/QN-DAMHA-CN**")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Đăng xuất").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/officer/sign-in")  # type: ignore[attr-defined]
    assert page.get_by_text("Ông/Bà đã đăng xuất.").is_visible()  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/officer/units/QN-DAMHA")  # type: ignore[attr-defined]
    assert "/officer/sign-in" in page.url  # type: ignore[attr-defined]
    assert problems == []  # no CSP violation or script error


def test_a_commune_officer_cannot_reach_another_commune(
    live_server: LiveServer, desk_browser: object
) -> None:
    _load_demo(live_server)
    page = desk_browser
    _sign_in(page, live_server.url, "quangtan")
    page.goto(f"{live_server.url}/officer/")  # type: ignore[attr-defined]
    assert page.url.endswith("/officer/units/QN-QUANGTAN")  # type: ignore[attr-defined]
    assert page.locator("h1").inner_text().startswith("Xã Quảng Tân")  # type: ignore[attr-defined]
    for path in (
        "/officer/units/QN-DAMHA-CN",
        "/officer/units/QN-DAMHA",
        "/officer/reports/units/QN-DAMHA-CN/responses.csv",
    ):
        response = page.request.get(f"{live_server.url}{path}")  # type: ignore[attr-defined]
        assert response.status == 403, path
    response = page.goto(f"{live_server.url}/officer/units/QN-DAMHA-CN")  # type: ignore[attr-defined]
    assert response.status == 403
    assert page.get_by_text("Đơn vị này nằm ngoài phạm vi").is_visible()  # type: ignore[attr-defined]
    assert "tại xã Đầm Hà" not in page.content()  # type: ignore[attr-defined]


def test_an_administrator_records_a_merger_on_the_officer_page(
    live_server: LiveServer, desk_browser: object
) -> None:
    _load_demo(live_server)
    page = desk_browser
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)  # type: ignore[attr-defined]
    _sign_in(page, live_server.url, "admin")
    page.wait_for_url("**/officer/units/QN-DAMHA")  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/officer/field")  # type: ignore[attr-defined]
    page.get_by_role("link", name="Sáp nhập, chia tách, đổi tên").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/officer/field/unit-changes")  # type: ignore[attr-defined]
    assert page.get_by_text("Nghị quyết 1679/NQ-UBTVQH15").first.is_visible()  # type: ignore[attr-defined]

    def fill(date_text: str, *sources: str) -> None:
        for code in sources:
            page.locator(f"input[name=sources][value='{code}']").check()  # type: ignore[attr-defined]
        page.select_option("#into", "__new__")  # type: ignore[attr-defined]
        page.fill("#new_code", "QN-HALONG2")  # type: ignore[attr-defined]
        page.fill("#new_name", "Phường Hạ Long")  # type: ignore[attr-defined]
        page.select_option("#new_kind", "ward")  # type: ignore[attr-defined]
        page.select_option("#parent", "QN")  # type: ignore[attr-defined]
        page.fill("#effective_on", date_text)  # type: ignore[attr-defined]
        page.fill("#basis", "Nghị quyết thử")  # type: ignore[attr-defined]
        page.get_by_role("button", name="Ghi nhận sáp nhập").click()  # type: ignore[attr-defined]

    # A unit that ended on 1/7/2025 cannot merge again: the page says which and why.
    fill("2026-10-01", "QN-DH-TBINH")
    error = page.locator("#merge-error")  # type: ignore[attr-defined]
    assert "Xã Tân Bình (QN-DH-TBINH)" in error.inner_text()
    assert "overlapping dates" in error.inner_text()
    page.goto(f"{live_server.url}/officer/field/unit-changes")  # type: ignore[attr-defined]
    fill("2026-10-01", "QN-BAICHAY", "QN-HALONG")
    page.wait_for_url("**/officer/field/unit-changes")  # type: ignore[attr-defined]
    listed = page.locator("ol.changes").inner_text()  # type: ignore[attr-defined]
    assert "Phường Bãi Cháy, Phường Hạ Long sáp nhập thành Phường Hạ Long" in listed
    # The new ward's page lists the wards merged into it.
    page.goto(f"{live_server.url}/officer/units/QN-HALONG2?period=2026")  # type: ignore[attr-defined]
    note = page.locator("#rolled-in").inner_text()  # type: ignore[attr-defined]
    assert "Phường Bãi Cháy" in note and "Phường Hạ Long" in note
    # The refused merger answered 422 (Chromium logs that status); nothing else went wrong.
    assert [p for p in problems if "status of 422" not in p] == []
