"""Decision 766 group 5 beside SIPAS where officers look: its own dashboard section, its own
XLSX sheet and PDF page, with the hand-worked month of tests/test_onestop_api.py (8,33/18)
and each desk's response rate against its returned dossiers."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from survey_app.db import get_session
from survey_app.models import Unit
from survey_app.services import accounts

from ..conftest import Field, require
from ..test_onestop_api import Writers, post
from ..test_onestop_api import writers as writers  # noqa: F401 (the fixture)

PASSWORD = "mật-khẩu-đủ-dài-2026"
MONTH = "2026-03"


@pytest.fixture
def admin(app: Flask, field: Field, writers: Writers) -> FlaskClient:  # noqa: F811
    """An administrator signed in, after the one-stop system sent the hand-worked month."""
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

    def s(days: float) -> str:
        return (start + timedelta(days=days)).isoformat()

    desk = field.desk
    events = [
        {"key": "a1", "type": "received", "dossier": "A", "desk": desk, "at": s(0), "due_at": s(5)},
        {"key": "a2", "type": "returned", "dossier": "A", "at": s(4)},
        {"key": "b1", "type": "received", "dossier": "B", "desk": desk, "at": s(0), "due_at": s(2)},
        {"key": "b2", "type": "returned", "dossier": "B", "at": s(3)},
        {"key": "c1", "type": "received", "dossier": "C", "desk": desk, "at": s(1), "due_at": s(5)},
        {"key": "c2", "type": "returned", "dossier": "C", "at": s(2)},
        {"key": "c3", "type": "rated", "dossier": "C", "rating": "not_satisfied", "at": s(2)},
        {"key": "d1", "type": "received", "dossier": "D", "desk": desk, "at": s(1), "due_at": s(5)},
        {"key": "d2", "type": "returned", "dossier": "D", "at": s(3)},
        {"key": "p1", "type": "petition", "petition": "P1", "dossier": "D", "desk": desk,
         "at": s(4), "due_at": s(8)},
        {"key": "p2", "type": "petition_handled", "petition": "P1", "at": s(6)},
        {"key": "q1", "type": "petition", "petition": "P2", "desk": desk, "at": s(4),
         "due_at": s(6)},
        {"key": "q2", "type": "petition_handled", "petition": "P2", "at": s(9)},
    ]  # fmt: skip
    client = app.test_client()
    assert (
        post(client, "/api/v1/dossiers", {"events": events}, writers.everything).status_code == 200
    )
    with app.app_context():
        db = get_session()
        accounts.create_officer(db, username="quantri", password=PASSWORD, role="admin")
        db.commit()
    app.config["WTF_CSRF_ENABLED"] = False
    signed = client.post("/officer/sign-in", data={"username": "quantri", "password": PASSWORD})
    assert signed.status_code == 302
    return client


def test_the_dashboard_shows_group5_in_its_own_section(admin: FlaskClient) -> None:
    page = admin.get(f"/officer/units/T-DISTRICT?period={MONTH}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    section = html[html.index('aria-labelledby="d766-h"') :]
    section = section[: section.index("</section>")]
    assert "Quyết định 766" in section and "tính tham khảo" in section
    # The district (pooled) and its commune, each 8,33 points; the commune ranked 1.
    assert section.count("8,33") == 2
    assert "Xã Thử Nghiệm" in section and "<td>1</td>" in section
    # Transactions vs responses per desk: 4 returned, 0 responses.
    assert "Bộ phận Một cửa xã Thử Nghiệm (TEST1)" in section


def test_a_month_without_dossiers_says_so(admin: FlaskClient) -> None:
    html = admin.get("/officer/units/T-DISTRICT?period=2026-04").get_data(as_text=True)
    assert "Chưa có dữ liệu hồ sơ từ hệ thống một cửa cho kỳ này." in html


def test_the_workbook_has_its_own_group5_sheet(admin: FlaskClient) -> None:
    answer = admin.get(f"/officer/reports/units/T-DISTRICT.xlsx?period={MONTH}")
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(answer.get_data()))
    assert "Tổng hợp" in book.sheetnames and "QĐ 766 nhóm 5" in book.sheetnames
    sheet = book["QĐ 766 nhóm 5"]
    assert "Tham khảo" in sheet["A2"].value
    header = [c.value for c in sheet[4]]
    rows = {
        r[0]: dict(zip(header, r, strict=False))
        for r in sheet.iter_rows(min_row=5, max_row=6, values_only=True)
    }
    commune = rows["T-COMMUNE"]
    assert commune["Tổng điểm"] == pytest.approx(25 / 3, abs=1e-6)
    assert commune["5.4 tỷ lệ (%)"] == pytest.approx(25.0) and commune["Hạng"] == 1


def test_the_pdf_has_a_group5_page(admin: FlaskClient, tmp_path: Path) -> None:
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is missing")
    answer = admin.get(f"/officer/reports/units/T-DISTRICT.pdf?period={MONTH}")
    assert answer.status_code == 200
    source = tmp_path / "report.pdf"
    source.write_bytes(answer.get_data())
    text = subprocess.run(
        ["pdftotext", "-layout", str(source), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Quyết định 766/QĐ-TTg – nhóm 5" in text
    assert "8,33" in text and "không phải số chính thức" in text


def test_a_commune_officer_sees_only_their_commune(app: Flask, admin: FlaskClient) -> None:
    with app.app_context():
        db = get_session()
        commune = db.scalar(select(Unit).where(Unit.code == "T-COMMUNE"))
        accounts.create_officer(
            db, username="canboxa", password=PASSWORD, role="officer", unit=commune
        )
        db.commit()
    client = app.test_client()
    client.post("/officer/sign-in", data={"username": "canboxa", "password": PASSWORD})
    assert client.get(f"/officer/units/T-DISTRICT?period={MONTH}").status_code == 403
    html = client.get(f"/officer/units/T-COMMUNE?period={MONTH}").get_data(as_text=True)
    assert "Quyết định 766" in html and "8,33" in html
