"""The CSV of all responses in Chromium: from the dashboard, start the export, watch the page
until it is complete, download the file and find its end marker and row count."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import LiveServer
from .test_officer_workspace import _load_demo, _sign_in

pytestmark = pytest.mark.browser


def test_an_officer_builds_and_downloads_the_csv_of_all_responses(
    live_server: LiveServer, browser: object, tmp_path: Path
) -> None:
    live_server.app.config["EXPORT_FOLDER"] = str(tmp_path / "exports")
    _load_demo(live_server)
    context = browser.new_context(locale="vi-VN", accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    try:
        _sign_in(page, live_server.url, "damha")
        page.wait_for_url("**/officer/units/QN-DH")
        page.get_by_text("Tải phiếu trả lời (CSV)").click()
        page.wait_for_url("**/officer/reports/units/QN-DH/exports**")
        page.get_by_role("button", name="Tạo tệp CSV").click()
        page.wait_for_url("**/officer/reports/exports/**")
        # The page refreshes itself until the file is complete.
        page.get_by_text("Hoàn tất").wait_for()
        # The dashboard's period (this year): the page names the count the file ends with.
        text = page.locator("main").inner_text()
        rows = int(re.search(r"#sipas-end rows=(\d+)", text).group(1))  # type: ignore[union-attr]
        assert 0 < rows <= 300
        with page.expect_download() as download_info:
            page.get_by_role("link", name="Tải tệp").click()
        download = download_info.value
        assert download.suggested_filename.startswith("sipas-responses-QN-DH-")
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        lines = saved.read_text(encoding="utf-8-sig").splitlines()
        assert lines[0].startswith("response_id,submitted_at,unit_code")
        assert lines[-1] == f"#sipas-end rows={rows}" and len(lines) == rows + 2
        assert problems == []
    finally:
        context.close()
