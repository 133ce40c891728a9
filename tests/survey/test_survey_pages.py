"""The officer pages of the province's survey: plan upload, keying (double entry), differences,
import, the report page and its XLSX, and the printed forms (QR scans to the form number)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from survey_app.db import get_session
from survey_app.models import PaperForm, Response, SamplePlan

from ..conftest import require
from .conftest import PASSWORD, Province, frame_csv
from .test_paper_keying import household_form, keyed_file


def signed_in(app: Flask, username: str) -> FlaskClient:
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    answer = client.post("/officer/sign-in", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    return client


def create_plan(client: FlaskClient, **fields: str) -> tuple[int, str]:
    data = {
        "name": "Khảo sát hộ gia đình 2026",
        "questionnaire": "sipas-2023",
        "unit_column": "ma_ho",
        "stratum_column": "xa",
        "cluster_column": "thon",
        "margin": "0,1",
        "per_cluster": "4",
        "seed": "2026",
        **fields,
        "frame": (io.BytesIO(frame_csv()), "khung.csv"),
    }
    answer = client.post("/officer/survey", data=data, content_type="multipart/form-data")
    location = answer.headers.get("Location", "")
    found = re.search(r"/officer/survey/(\d+)$", location)
    return (int(found.group(1)) if found else 0), answer.get_data(as_text=True)


@pytest.fixture
def plan_id(app: Flask, province: Province) -> int:
    client = signed_in(app, "quantri")
    plan, body = create_plan(client)
    assert plan, body[:500]
    return plan


def test_a_plan_is_made_from_an_uploaded_frame(app: Flask, plan_id: int) -> None:
    client = signed_in(app, "quantri")
    page = client.get(f"/officer/survey/{plan_id}").get_data(as_text=True)
    assert "Khảo sát hộ gia đình 2026" in page
    # N = 30, 20, 24 at e = 0.1: required n 24, 17, 20 (n = N / (1 + N·e²), rounded up).
    assert re.search(r"X-AN · Xã An</th><td>30</td><td>3</td><td>24</td><td>24</td>", page)
    with app.app_context():
        plan = get_session().get(SamplePlan, plan_id)
        assert plan is not None and plan.total == 61 and plan.seed == 2026


def test_a_bad_frame_is_refused_with_422_naming_the_row(app: Flask, province: Province) -> None:
    client = signed_in(app, "quantri")
    plan, body = create_plan(client, unit_column="thon")
    assert plan == 0
    assert "Dòng 3, cột “thon”: mã “T1” đã có ở dòng 2" in body
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(SamplePlan)) == 0


def key(client: FlaskClient, plan_id: int, number: str, **overrides: str) -> tuple[int, str]:
    answer = client.post(
        f"/officer/survey/{plan_id}/key",
        data={"form_number": number, **household_form(**overrides)},
    )
    return answer.status_code, answer.get_data(as_text=True)


def test_double_entry_through_the_pages(app: Flask, plan_id: int) -> None:
    one, two, three = (signed_in(app, name) for name in ("thu1", "thu2", "thu3"))
    assert key(one, plan_id, "1")[0] == 302
    status, body = key(one, plan_id, f"KH{plan_id}-00001")
    assert status == 409 and "đã được chính Ông/Bà nhập" in body
    status, body = key(two, plan_id, "1", Q9_2="9")
    assert status == 422 and "Q9_2: 9 ngoài thang trả lời (chỉ nhận 1, 2, 3, 4, 5)" in body
    assert key(two, plan_id, "1", Q9_2="3")[0] == 302
    listed = three.get(f"/officer/survey/{plan_id}/differences").get_data(as_text=True)
    assert f"KH{plan_id}-00001" in listed and 'name="d-1-Q9_2"' in listed
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Response)) == 0
    settled = three.post(f"/officer/survey/{plan_id}/differences", data={"d-1-Q9_2": "4"})
    assert settled.status_code == 302
    with app.app_context():
        form = get_session().scalar(select(PaperForm))
        assert form is not None and form.source == "settled" and form.form_number == 1
    # Agreeing keyings are stored at once.
    assert key(one, plan_id, "2")[0] == 302 and key(three, plan_id, "2")[0] == 302
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Response)) == 2


def test_import_page_reports_rejected_rows(app: Flask, plan_id: int) -> None:
    client = signed_in(app, "thu1")
    good = {f"Q9_{k}": "4" for k in range(1, 40)}
    data, name = keyed_file(
        [{"form_number": "3", **good}, {"form_number": "4", **good, "Q9_1": "6"}]
    )
    answer = client.post(
        f"/officer/survey/{plan_id}/import",
        data={"keyed": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "2 dòng: 1 phiếu được lưu, 0 phiếu đã có từ trước, 1 dòng bị từ chối." in body
    assert '<th scope="row">3</th><td>4</td><td>Q9_1: 6 ngoài thang trả lời' in body


def test_report_ranks_communes_with_design_based_intervals(app: Flask, plan_id: int) -> None:
    client = signed_in(app, "thu1")
    with app.app_context():
        session = get_session()
        numbers = session.execute(select(func.min(PaperForm.id))).scalar()
        assert numbers is None
    good = {f"Q9_{k}": str(4 + (k % 2)) for k in range(1, 40)}
    rows = [
        {
            "form_number": str(n),
            **{c: ("3" if (n + i) % 4 == 0 else v) for i, (c, v) in enumerate(good.items())},
        }
        for n in range(1, 62)
    ]
    data, name = keyed_file(rows)
    client.post(
        f"/officer/survey/{plan_id}/import",
        data={"keyed": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    page = client.get(f"/officer/survey/{plan_id}/report").get_data(as_text=True)
    assert 'id="ranking"' in page and "X-AN · Xã An" in page and "deff" in page
    assert "So sánh với khảo sát tại quầy (hai công cụ khác nhau)" in page
    assert re.search(
        r"X-AN · Xã An</th><td>24</td><td>24</td><td>0</td><td>24</td><td>100,0%", page
    )
    xlsx = client.get(f"/officer/reports/survey/{plan_id}/report.xlsx")
    assert xlsx.status_code == 200
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    assert book.sheetnames == [
        "Ghi chú",
        "Xếp hạng",
        "Tỷ lệ phản hồi",
        "So sánh công cụ",
        "Mọi chỉ số",
    ]
    header = [c.value for c in book["Xếp hạng"][1]]
    assert header[:4] == ["unit_code", "unit_name", "rank", "status"] and "deff" in header


def test_printed_forms_carry_their_number_as_a_qr_code(
    app: Flask, plan_id: int, tmp_path: Path
) -> None:
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is missing")
    client = signed_in(app, "thu1")
    answer = client.get(f"/officer/reports/survey/{plan_id}/forms.pdf?first=3&last=4")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    pdf = tmp_path / "forms.pdf"
    pdf.write_bytes(answer.data)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    assert f"Phiếu số KH{plan_id}-00003" in text and f"Phiếu số KH{plan_id}-00004" in text
    assert (
        "Q9_39" in text and "Rất không hài lòng" in text and "?" not in text.split("Q9_1")[0][:40]
    )
    # Keying order on paper = keying order on screen: item codes appear in the same order.
    first_copy = text.split(f"Phiếu số KH{plan_id}-00004")[0]
    found = re.findall(r"\b(GENDER|Q1_1|Q2|Q9_1|Q9_39|Q10_10)\b", first_copy)
    assert list(dict.fromkeys(found)) == ["GENDER", "Q1_1", "Q2", "Q9_1", "Q9_39", "Q10_10"]
    # The first page's QR scans to its form number.
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")],
        check=True,
        timeout=60,
    )
    import zxingcpp
    from PIL import Image

    [png] = sorted(tmp_path.glob("p*.png"))
    decoded = zxingcpp.read_barcodes(Image.open(png))
    assert [d.text for d in decoded] == [f"KH{plan_id}-00003"]
