"""Reports: the XLSX's numbers equal analysis/ results, the CSV re-scores to the same indices,
the PDF summary's first page is not blank, the poster's QR decodes to the desk's address."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

import analysis
import questionnaires
from survey_app.db import get_session
from survey_app.models import AuditEvent, Unit
from survey_app.services import periods, wide_export
from survey_app.services.accounts import UnitTree

from ..conftest import PUBLIC_BASE_URL, require
from .conftest import response_of_unit


def _fullest_year() -> str:
    """The calendar year holding most of the demo's last twelve months of responses."""
    today = date.today()
    return str(today.year if today.month >= 7 else today.year - 1)


PERIOD = _fullest_year()


def _expected(app: Flask, unit_code: str, score_flagged: str = "exclude") -> pd.DataFrame:
    """The unit's scores straight from analysis.score on the stored responses of the period
    (pooled with every unit below), independent of the report code."""
    with app.app_context():
        db = get_session()
        tree = UnitTree.load(db)
        unit = tree.by_code[unit_code]
        period = periods.parse(PERIOD)
        start, end = period.utc_bounds("Asia/Ho_Chi_Minh")
        rows = wide_export.load_responses(
            db,
            questionnaires.get("sipas-service"),
            unit_ids=tree.subtree_ids(unit.id),
            start=start,
            end=end,
            score_flagged=score_flagged,
        )
        return analysis.score(rows, "sipas-service").to_frame().set_index("code")


def _pdf_page_png(pdf: bytes, tmp_path: Path, dpi: int = 60) -> Image.Image:
    require(shutil.which("pdftoppm") is not None, "pdftoppm (poppler-utils) is missing")
    source = tmp_path / "file.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            str(dpi),
            "-f",
            "1",
            "-l",
            "1",
            str(source),
            str(tmp_path / "page"),
        ],
        check=True,
        timeout=60,
    )
    [png] = sorted(tmp_path.glob("page*.png"))
    return Image.open(png).convert("L")


def test_the_excel_report_holds_the_analysis_numbers(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    client = signed_in("admin")
    response = client.get(f"/officer/reports/units/QN.xlsx?period={PERIOD}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    book = load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == [
        "Tổng hợp",
        "Yếu tố",
        "Tiêu chí",
        "Quầy",
        "Xu hướng",
        "Ưu tiên cải thiện",
        "Ý kiến",
        "Giải thích mã",
        "QĐ 766 nhóm 5",  # Decision 766 group 5, added by reports/decision766.py
    ]
    summary = book["Tổng hợp"]
    assert len(summary._charts) == 1 and len(book["Xu hướng"]._charts) == 1
    headers = [c.value for c in summary[4]]
    rows = {
        r[0]: dict(zip(headers, r, strict=True))
        for r in summary.iter_rows(min_row=5, values_only=True)
    }
    expected = _expected(demo, "QN")
    province = rows["QN"]
    assert province["n"] == expected.loc["SIPAS", "n"]
    for code, column in (("SIPAS", "SIPAS"), ("TC", "TC"), ("PA", "PA")):
        assert province[column] == pytest.approx(expected.loc[code, "index"], abs=1e-9)
    assert province["KTC 95% thấp"] == pytest.approx(expected.loc["SIPAS", "ci_low"], abs=1e-9)
    assert province["Chỉ tiêu SIPAS"] == 85
    assert province["Chênh lệch"] == pytest.approx(expected.loc["SIPAS", "index"] - 85, abs=1e-9)
    commune = _expected(demo, "QN-QUANGTAN")
    assert rows["QN-QUANGTAN"]["SIPAS"] == pytest.approx(commune.loc["SIPAS", "index"], abs=1e-9)
    # The items sheet carries every criterion of every unit, with its interval.
    items = book["Tiêu chí"]
    found = {(r[0], r[3]): r for r in items.iter_rows(min_row=2, values_only=True)}
    assert found[("QN", "TC1")][6] == pytest.approx(expected.loc["TC1", "index"], abs=1e-9)
    assert found[("QN", "TC1")][7] == pytest.approx(expected.loc["TC1", "ci_low"], abs=1e-9)
    with demo.app_context():
        actions = get_session().scalars(select(AuditEvent.action)).all()
        assert "export_xlsx" in actions


def test_the_csv_is_anonymous_streamed_and_rescores_to_the_same_indices(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient], tmp_path: Path
) -> None:
    excluded = response_of_unit(demo, "QN-HALONG", flagged=True)
    client = signed_in("admin")
    assert (
        client.post(
            f"/officer/review/{excluded}", data={"decision": "exclude", "note": "test"}
        ).status_code
        == 302
    )
    response = client.get(f"/officer/reports/units/QN/responses.csv?period={PERIOD}")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    data = response.get_data()
    assert data.startswith("\ufeff".encode())
    path = tmp_path / "responses.csv"
    path.write_bytes(data)
    rows = analysis.read_responses(path)
    assert list(rows.columns[:11]) == [
        "response_id",
        "submitted_at",
        "unit_code",
        "desk_code",
        "service_code",
        "channel",
        "questionnaire",
        "questionnaire_version",
        "valid",
        "flags",
        "weight",
    ]
    assert rows.columns[-1] == "comment"
    forbidden = ("dossier", "digest", "token", "device", "uuid", "ip")
    assert not [c for c in rows.columns if any(word in c.lower() for word in forbidden)]
    marked = rows[rows["response_id"] == str(excluded)].iloc[0]
    assert marked["valid"] == "0" and "excluded_by_review" in marked["flags"]
    # Re-scored from the file alone, the province and each commune get the app's indices.
    with demo.app_context():
        units = pd.DataFrame(
            [
                (u.code, u.parent.code if u.parent else None)
                for u in get_session().scalars(select(Unit))
            ],
            columns=["unit_code", "parent_code"],
        )
    rescored = analysis.score(rows, "sipas-service", by=["unit_code"], units=units).to_frame()
    sipas = rescored[rescored["code"] == "SIPAS"].set_index("unit_code")["index"]
    # The file's valid applies reviewers' exclusions (its flags column says the rest), so it
    # re-scores to the view that counts flagged responses awaiting review (SCORE_FLAGGED=include).
    for code in ("QN", "QN-DAMHA", "QN-QUANGTAN", "QN-HALONG"):
        expected = _expected(demo, code, "include").loc["SIPAS", "index"]
        assert sipas[code] == pytest.approx(expected, abs=1e-9)


def test_the_pdf_summary_renders_vietnamese_pages_with_charts(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient], tmp_path: Path
) -> None:
    response = signed_in("damha").get(f"/officer/reports/units/QN-DAMHA.pdf?period={PERIOD}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = response.get_data()
    assert pdf.startswith(b"%PDF") and b"DejaVu" in pdf  # the Vietnamese font is embedded
    page = _pdf_page_png(pdf, tmp_path)
    histogram = page.histogram()
    dark = sum(histogram[:128]) / (page.width * page.height)
    assert 0.01 < dark < 0.5, f"first page looks blank or black ({dark:.3f} dark)"
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-f", "1", "-l", "1", str(tmp_path / "file.pdf"), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "Xã Đầm Hà" in text and "Tiếp cận dịch vụ" in text
        assert "huyện" not in text.lower()  # no district in today's map


@pytest.mark.parametrize("size", ["A4", "A5"])
def test_the_poster_qr_decodes_to_the_desk_address(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient], tmp_path: Path, size: str
) -> None:
    import zxingcpp

    response = signed_in("quangtan").get(f"/officer/reports/posters/QUANGTAN1.pdf?size={size}")
    assert response.status_code == 200
    page = _pdf_page_png(response.get_data(), tmp_path, dpi=100)
    width_mm = 210 if size == "A4" else 148
    assert abs(page.width / page.height - width_mm / (297 if size == "A4" else 210)) < 0.01
    decoded = [code.text for code in zxingcpp.read_barcodes(page)]
    assert decoded == [f"{PUBLIC_BASE_URL}/s/QUANGTAN1"]


def test_a_unit_poster_file_has_a_page_per_active_desk(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient], tmp_path: Path
) -> None:
    require(shutil.which("pdfinfo") is not None, "pdfinfo (poppler-utils) is missing")
    response = signed_in("damha").get("/officer/reports/posters/units/QN-DAMHA.pdf")
    assert response.status_code == 200
    path = tmp_path / "posters.pdf"
    path.write_bytes(response.get_data())
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    # Đầm Hà commune's 4 active desks (its branch's 3, its reception point's 1); the desks of
    # the units merged into it closed on 1/7/2025 and get no poster.
    assert "Pages:           4" in info.stdout
