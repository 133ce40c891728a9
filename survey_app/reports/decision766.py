"""Decision 766 group 5 in the unit reports: its own XLSX sheet and its own PDF page, added
by these functions to what xlsx.py and pdf.py build (a reference calculation, beside SIPAS)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.fonts import FontFace
from openpyxl import load_workbook

from ..services.decision766 import Board
from .pdf import BLUE, FONT, GREY, fmt, signed
from .xlsx import NUMBER, TITLE, _table, _widths

SHEET = "QĐ 766 nhóm 5"
HEADERS = (
    "Mã đơn vị",
    "Đơn vị",
    "Hạng",
    "Hồ sơ",
    "Hồ sơ trễ hạn",
    "Hồ sơ có PAKN hoặc không hài lòng",
    "PAKN",
    "PAKN đúng hạn",
    "PAKN không đạt",
    "5.2 tỷ lệ (%)",
    "5.2 điểm",
    "5.3 tỷ lệ (%)",
    "5.3 điểm",
    "5.4 tỷ lệ (%)",
    "5.4 điểm",
    "Tổng điểm",
    "Chỉ tiêu",
    "Chênh lệch",
)
COLUMNS = (
    "unit_code",
    "unit_name",
    "rank",
    "dossiers",
    "dossiers_overdue",
    "dossiers_flagged",
    "petitions",
    "petitions_on_time",
    "petitions_failing",
    "rate_5_2",
    "points_5_2",
    "rate_5_3",
    "points_5_3",
    "rate_5_4",
    "points_5_4",
    "points",
    "target",
    "gap",
)


def _title(board: Board) -> str:
    return (
        f"Quyết định 766/QĐ-TTg – nhóm 5 (mức độ hài lòng, tối đa "
        f"{fmt(board.settings.points * 3, 0)} điểm) – {board.unit.name} – kỳ {board.period.label}"
    )


def add_sheet(workbook: bytes, board: Board) -> bytes:
    """The workbook with a sheet of group 5 per unit and the desks' response rates."""
    book = load_workbook(io.BytesIO(workbook))
    # The tab is named in the interface's language; the sheet's own texts are Vietnamese for now.
    sheet = book.create_sheet(_(SHEET))
    sheet["A1"] = _title(board)
    sheet["A1"].font = TITLE
    sheet["A2"] = board.label + (
        f". Mỗi tiêu chí {fmt(board.settings.points, 0)} điểm khi tỷ lệ từ "
        f"{fmt(board.settings.full_rate, 0)}%; tính riêng, không gộp vào SIPAS."
    )
    last = _table(
        sheet,
        4,
        HEADERS,
        ([row.get(c) for c in COLUMNS] for row in board.rows()),
        numbers=tuple(range(10, 19)),
    )
    top = last + 3
    sheet.cell(
        row=top - 1, column=1, value="Tỷ lệ phản hồi khảo sát so với hồ sơ đã trả, theo quầy"
    )
    _table(
        sheet,
        top,
        ["Mã quầy", "Quầy", "Đơn vị", "Hồ sơ đã trả", "Phiếu khảo sát", "Phiếu / 100 hồ sơ"],
        (
            [d.desk_code, d.desk_name, d.unit_code, d.dossiers, d.responses, d.rate]
            for d in board.desks
        ),
        numbers=(6,),
    )
    for row in sheet.iter_rows(min_row=top + 1, min_col=6, max_col=6):
        row[0].number_format = NUMBER
    _widths(sheet, [14, 34, 7, 9, 9, 12, 8, 9, 9, 9, 8, 9, 8, 9, 8, 9, 9, 10])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def pdf_section(board: Board) -> Callable[[FPDF], None]:
    """A page for pdf.build_summary's ``sections``: group 5 per unit, then desks' rates."""

    def write(pdf: FPDF) -> None:
        pdf.add_page()
        pdf.set_font(FONT, "B", 13)
        pdf.set_text_color(*BLUE)
        pdf.multi_cell(0, 7, _title(board), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*GREY)
        pdf.set_font(FONT, "", 8.5)
        pdf.multi_cell(
            0,
            4.5,
            board.label + ". Tính riêng, không gộp vào SIPAS.",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_text_color(0, 0, 0)
        pdf.ln(2)
        if not board.has_data:
            pdf.set_font(FONT, "", 10)
            pdf.multi_cell(
                0,
                5,
                "Chưa có dữ liệu hồ sơ từ hệ thống một cửa cho kỳ này.",
                new_x="LMARGIN",
                new_y="NEXT",
            )
            return
        heading = FontFace(emphasis="BOLD", fill_color=(220, 230, 241))
        pdf.set_font(FONT, "", 8)
        with pdf.table(
            col_widths=(10, 52, 16, 14, 14, 20, 20, 20, 16, 16),
            text_align=("CENTER", "LEFT", *(["RIGHT"] * 8)),
            headings_style=heading,
            line_height=4.5,
        ) as table:
            table.row(
                ["Hạng", "Đơn vị", "Hồ sơ", "Trễ hạn", "PAKN", "5.2", "5.3", "5.4", "Tổng",
                 "Chênh lệch"]
            )  # fmt: skip
            for row in board.rows():
                table.row(
                    [
                        "–" if row["rank"] is None else str(row["rank"]),
                        str(row["unit_name"]),
                        fmt(row["dossiers"], 0),
                        fmt(row["dossiers_overdue"], 0),
                        fmt(row["petitions"], 0),
                        _rate_points(row, "5_2"),
                        _rate_points(row, "5_3"),
                        _rate_points(row, "5_4"),
                        fmt(row["points"], 2),
                        signed(row["gap"]),
                    ]
                )
        if board.desks:
            pdf.ln(3)
            pdf.set_font(FONT, "B", 10)
            pdf.multi_cell(
                0,
                5,
                "Tỷ lệ phản hồi khảo sát so với hồ sơ đã trả, theo quầy",
                new_x="LMARGIN",
                new_y="NEXT",
            )
            pdf.set_font(FONT, "", 8)
            with pdf.table(
                col_widths=(70, 30, 30, 30),
                text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
                headings_style=heading,
                line_height=4.5,
            ) as table:
                table.row(["Quầy", "Hồ sơ đã trả", "Phiếu khảo sát", "Phiếu / 100 hồ sơ"])
                for d in board.desks:
                    table.row(
                        [
                            f"{d.desk_name} ({d.desk_code})",
                            fmt(d.dossiers, 0),
                            fmt(d.responses, 0),
                            fmt(d.rate),
                        ]
                    )

    return write


def _rate_points(row: dict[str, Any], code: str) -> str:
    rate = row[f"rate_{code}"]
    return f"{'–' if rate is None else fmt(rate) + '%'} · {fmt(row[f'points_{code}'], 2)}"
