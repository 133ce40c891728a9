"""The Excel report of a unit and period: a summary sheet (SIPAS, elements, n, intervals,
targets, ranks), a sheet per level (elements, items), desks, trend, priorities and comments,
with native Excel charts. Built from a Scorecard (analysis/ results); nothing is recomputed."""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..services.scorecards import Scorecard
from .cells import neutralise

HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
NUMBER = "0.00"
SUMMARY_SHEET = "Tổng hợp"


@dataclass(frozen=True)
class CommentRow:
    submitted_at: datetime
    unit: str
    desk: str
    text: str
    very_dissatisfied: bool
    handled_note: str | None


def cell_value(value: Any) -> Any:
    """A value openpyxl writes as Excel expects: no NaN or pandas NA (an empty cell), and text
    that never reads as a formula (``cells.neutralise``)."""
    if isinstance(value, str):
        return neutralise(value)
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # numpy scalars
        if isinstance(value, float) and math.isnan(value):
            return None
    return value


def _table(
    sheet: Worksheet,
    top: int,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    numbers: Sequence[int] = (),
) -> int:
    """Write a header row and rows from row ``top``; returns the last row written."""
    for col, name in enumerate(headers, start=1):
        cell = sheet.cell(row=top, column=col, value=name)
        cell.font, cell.fill = BOLD, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    last = top
    for last, row in enumerate(rows, start=top + 1):  # noqa: B007 - last row is returned
        for col, value in enumerate(row, start=1):
            cell = sheet.cell(row=last, column=col, value=cell_value(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # openpyxl would store text starting with "=" as a formula
            if col in numbers:
                cell.number_format = NUMBER
    sheet.freeze_panes = sheet.cell(row=top + 1, column=1)
    return last


def _widths(sheet: Worksheet, widths: Sequence[int]) -> None:
    for col, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = width


TIDY_HEADERS = (
    "Mã đơn vị",
    "Đơn vị",
    "Cấp chỉ số",
    "Mã",
    "Tên",
    "n",
    "Chỉ số",
    "KTC 95% thấp",
    "KTC 95% cao",
    "Chưa đủ mẫu",
    "Chỉ tiêu",
    "Chênh lệch",
    "Hạng",
    "Thay đổi hạng",
    "p (so với kỳ trước)",
)


def _tidy_rows(table: pd.DataFrame, unit_names: dict[str, str]) -> Iterable[list[Any]]:
    for row in table.to_dict(orient="records"):
        yield [
            row["unit_code"],
            unit_names.get(row["unit_code"], ""),
            row["level"],
            row["code"],
            row["label_vi"],
            row["n"],
            row["index"],
            row["ci_low"],
            row["ci_high"],
            bool(row["min_n_flag"]) if cell_value(row["min_n_flag"]) is not None else None,
            row.get("target"),
            row.get("gap"),
            row.get("rank"),
            row.get("rank_change"),
            row.get("p_change"),
        ]


def build_workbook(
    card: Scorecard,
    *,
    unit_names: dict[str, str],
    unit_order: Sequence[str],
    desk_names: dict[str, str],
    comments: Sequence[CommentRow] = (),
    generated_at: str = "",
) -> bytes:
    """The workbook as bytes (see the module docstring for its sheets)."""
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = SUMMARY_SHEET
    summary["A1"] = (
        f"Chỉ số hài lòng về sự phục vụ hành chính (SIPAS) – {card.unit.name} – "
        f"kỳ {card.period.label}"
    )
    summary["A1"].font = TITLE
    summary["A2"] = (
        f"Khảo sát tại quầy theo phiếu {card.questionnaire.key}; khoảng tin cậy 95%; dưới "
        f"n = {card.min_n} phiếu: chưa đủ mẫu, không xếp hạng. Lập lúc {generated_at}."
    )
    # The indices below the overall one, from the questionnaire's index tree.
    elements = card.headline_codes[1:]
    headers = [
        "Mã đơn vị",
        "Đơn vị",
        "n",
        "SIPAS",
        "KTC 95% thấp",
        "KTC 95% cao",
        *elements,
        "Chỉ tiêu SIPAS",
        "Chênh lệch",
        "Hạng",
        "Thay đổi hạng",
        "Chưa đủ mẫu",
        "Phiếu nhận",
        "Phiếu tính",
    ]
    table = card.table
    counts = card.counts.set_index("unit_code")
    rows = []
    for code in unit_order:
        unit_rows = table[table["unit_code"] == code].set_index("code")
        if "SIPAS" not in unit_rows.index:
            continue
        top = unit_rows.loc["SIPAS"]
        rows.append(
            [
                code,
                unit_names.get(code, code),
                top["n"],
                top["index"],
                top["ci_low"],
                top["ci_high"],
                *[unit_rows.loc[e, "index"] if e in unit_rows.index else None for e in elements],
                top.get("target"),
                top.get("gap"),
                top.get("rank"),
                top.get("rank_change"),
                bool(top["min_n_flag"]),
                counts.loc[code, "received"] if code in counts.index else None,
                counts.loc[code, "scored"] if code in counts.index else None,
            ]
        )
    last = _table(summary, 4, headers, rows, numbers=tuple(range(4, 9 + len(elements))))
    _widths(summary, [14, 36, 8, 9, 9, 9, 8, 8, 8, 8, 8, 10, 10, 7, 9, 9, 9, 9])
    if rows:
        chart = BarChart()
        chart.type = "bar"
        chart.title = f"SIPAS kỳ {card.period.label}"
        chart.y_axis.title = "SIPAS (%)"
        chart.y_axis.scaling.min = 0
        chart.y_axis.scaling.max = 100
        chart.add_data(
            Reference(summary, min_col=4, min_row=4, max_row=last), titles_from_data=True
        )
        chart.set_categories(Reference(summary, min_col=2, min_row=5, max_row=last))
        chart.height, chart.width = 9 + 0.4 * len(rows), 18
        chart.legend = None
        summary.add_chart(chart, f"A{last + 3}")

    names = {code: unit_names.get(code, code) for code in unit_order}
    ordered = table.assign(_o=table["unit_code"].map({c: k for k, c in enumerate(unit_order)}))
    ordered = ordered.sort_values(["_o"], kind="stable").drop(columns="_o")
    for title, levels in (
        ("Yếu tố", ("overall", "aspect", "element")),
        ("Tiêu chí", ("item", "overall_question", "element_question", "expectation", "perception")),
    ):
        sheet = book.create_sheet(title)
        part = ordered[ordered["level"].isin(levels)]
        _table(sheet, 1, TIDY_HEADERS, _tidy_rows(part, names), numbers=(7, 8, 9, 11, 12, 15))
        _widths(sheet, [14, 30, 12, 8, 48, 8, 9, 9, 9, 9, 9, 9, 7, 9, 10])

    desks = book.create_sheet("Quầy")
    desk_table = card.desks
    desk_rows = (
        [
            [
                r["desk_code"],
                desk_names.get(r["desk_code"], ""),
                r["level"],
                r["code"],
                r["label_vi"],
                r["n"],
                r["index"],
                r["ci_low"],
                r["ci_high"],
                bool(r["min_n_flag"]),
            ]
            for r in desk_table.to_dict(orient="records")
            if r["level"] in ("overall", "element")
        ]
        if len(desk_table)
        else []
    )
    _table(
        desks,
        1,
        [
            "Mã quầy",
            "Quầy",
            "Cấp chỉ số",
            "Mã",
            "Tên",
            "n",
            "Chỉ số",
            "KTC 95% thấp",
            "KTC 95% cao",
            "Chưa đủ mẫu",
        ],
        desk_rows,
        numbers=(7, 8, 9),
    )
    _widths(desks, [10, 36, 10, 8, 40, 8, 9, 9, 9, 9])

    trend = book.create_sheet("Xu hướng")
    by_month = (
        card.trend.pivot_table(index="period", columns="code", values="index", aggfunc="first")
        if len(card.trend)
        else pd.DataFrame()
    )
    sipas = card.trend[card.trend["code"] == "SIPAS"].set_index("period")
    trend_rows = []
    for month in sipas.index:
        trend_rows.append(
            [
                month,
                sipas.loc[month, "n"],
                sipas.loc[month, "index"],
                sipas.loc[month, "ci_low"],
                sipas.loc[month, "ci_high"],
                # A month whose indices are all empty (e.g. every response flagged) has no
                # row in the pivot.
                *[
                    by_month.loc[month, e]
                    if e in by_month.columns and month in by_month.index
                    else None
                    for e in elements
                ],
                bool(sipas.loc[month, "min_n_flag"]),
            ]
        )
    last = _table(
        trend,
        1,
        ["Tháng", "n", "SIPAS", "KTC 95% thấp", "KTC 95% cao", *elements, "Chưa đủ mẫu"],
        trend_rows,
        numbers=tuple(range(3, 6 + len(elements))),
    )
    if trend_rows:
        line = LineChart()
        line.title = f"SIPAS và 5 yếu tố theo tháng – {card.unit.name}"
        line.y_axis.title = "%"
        line.add_data(Reference(trend, min_col=3, min_row=1, max_row=last), titles_from_data=True)
        for col in range(6, 6 + len(elements)):
            line.add_data(
                Reference(trend, min_col=col, min_row=1, max_row=last), titles_from_data=True
            )
        line.set_categories(Reference(trend, min_col=1, min_row=2, max_row=last))
        line.height, line.width = 9, 20
        trend.add_chart(line, f"A{last + 3}")

    drivers = book.create_sheet("Ưu tiên cải thiện")
    driver_rows = (
        [
            [
                r["priority"],
                r["item"],
                r["element"],
                r["label_vi"],
                r["n"],
                r["performance"],
                r["importance"],
                r.get("quadrant_vi"),
            ]
            for r in card.drivers.to_dict(orient="records")
        ]
        if len(card.drivers)
        else []
    )
    _table(
        drivers,
        1,
        [
            "Ưu tiên",
            "Tiêu chí",
            "Yếu tố",
            "Tên",
            "n",
            "Chỉ số",
            "Tầm quan trọng (rho với HL)",
            "Nhóm",
        ],
        driver_rows,
        numbers=(6, 7),
    )
    _widths(drivers, [8, 9, 8, 60, 8, 9, 12, 24])

    notes = book.create_sheet("Ý kiến")
    _table(
        notes,
        1,
        ["Thời điểm", "Đơn vị", "Quầy", "Ý kiến", "Rất không hài lòng", "Đã xử lý", "Cách xử lý"],
        (
            [
                c.submitted_at.replace(tzinfo=None),
                c.unit,
                c.desk,
                c.text,
                c.very_dissatisfied,
                c.handled_note is not None,
                c.handled_note or "",
            ]
            for c in comments
        ),
    )
    for row in notes.iter_rows(min_row=2, min_col=1, max_col=1):
        row[0].number_format = "dd/mm/yyyy hh:mm"
    _widths(notes, [17, 30, 30, 80, 10, 9, 50])

    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
