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
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from questionnaires import Questionnaire

from ..services import vocabulary
from ..services.collation import vi_key
from ..services.scorecards import Scorecard
from .cells import neutralise

HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
NUMBER = "0.00"


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
    autofilter: bool = True,
) -> int:
    """Write a header row and rows from row ``top`` (with Excel's filter buttons on the
    header); returns the last row written."""
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
    if autofilter and headers:
        sheet.auto_filter.ref = f"A{top}:{get_column_letter(len(headers))}{max(last, top)}"
    return last


def _widths(sheet: Worksheet, widths: Sequence[int]) -> None:
    for col, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = width


def tidy_headers() -> tuple[str, ...]:
    return (
        _("Mã đơn vị"),
        _("Đơn vị"),
        _("Cấp chỉ số"),
        _("Mã"),
        _("Tên"),
        "n",
        _("Chỉ số"),
        "KTC 95% thấp",
        "KTC 95% cao",
        _("Chưa đủ mẫu"),
        _("Chỉ tiêu"),
        _("Chênh lệch"),
        _("Hạng"),
        _("Thay đổi hạng"),
        _("p (so với kỳ trước)"),
    )


def _flag(value: Any) -> str:
    """A yes/no cell in words ("Có"/"Không"), never TRUE/FALSE."""
    return vocabulary.yes_no(cell_value(value))


def _tidy_rows(table: pd.DataFrame, unit_names: dict[str, str]) -> Iterable[list[Any]]:
    levels = vocabulary.level_names()
    for row in table.to_dict(orient="records"):
        yield [
            row["unit_code"],
            unit_names.get(row["unit_code"], ""),
            levels.get(row["level"], row["level"]),
            row["code"],
            row["label_vi"],
            row["n"],
            row["index"],
            row["ci_low"],
            row["ci_high"],
            _flag(row["min_n_flag"]),
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
    desk_table: pd.DataFrame | None = None,
    zone_text: str = "giờ Việt Nam (UTC+7)",
) -> bytes:
    """The workbook as bytes (see the module docstring for its sheets)."""
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = _("Tổng hợp")
    summary["A1"] = _(
        "Chỉ số hài lòng về sự phục vụ hành chính (SIPAS) – %(unit)s – kỳ %(period)s",
        unit=card.unit.name,
        period=card.period.display,
    )
    summary["A1"].font = TITLE
    summary["A2"] = _(
        "Khảo sát tại quầy theo phiếu %(form)s; khoảng tin cậy 95%%; dưới n = %(n)s phiếu: "
        "chưa đủ mẫu, không xếp hạng. Xếp theo hạng; bấm nút lọc ở dòng tiêu đề để lọc hoặc "
        "sắp xếp. Mã và cột: xem trang “Giải thích mã”. Lập lúc %(when)s.",
        form=card.questionnaire.key,
        n=card.min_n,
        when=generated_at,
    )
    # The indices below the overall one, from the questionnaire's index tree.
    elements = card.headline_codes[1:]
    headers = [
        _("Mã đơn vị"),
        _("Đơn vị"),
        "n",
        "SIPAS",
        "KTC 95% thấp",
        "KTC 95% cao",
        *elements,
        _("Chỉ tiêu SIPAS"),
        _("Chênh lệch"),
        _("Hạng"),
        _("Thay đổi hạng"),
        _("Chưa đủ mẫu"),
        _("Phiếu nhận"),
        _("Phiếu tính"),
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
                _flag(top["min_n_flag"]),
                counts.loc[code, "received"] if code in counts.index else None,
                counts.loc[code, "scored"] if code in counts.index else None,
            ]
        )
    # Ranked: the unit itself first, then by rank (unranked last), then alphabetically.
    rank_col = 8 + len(elements)  # the "Hạng" column
    rows.sort(
        key=lambda r: (
            r[0] != card.unit.code,
            cell_value(r[rank_col]) is None,
            cell_value(r[rank_col]) or 0,
            vi_key(str(r[1])),
        )
    )
    last = _table(summary, 4, headers, rows, numbers=tuple(range(4, 9 + len(elements))))
    _widths(summary, [14, 36, 8, 9, 9, 9, 8, 8, 8, 8, 8, 10, 10, 7, 9, 9, 9, 9])
    if rows:
        chart = BarChart()
        chart.type = "bar"
        chart.title = _("SIPAS kỳ %(period)s", period=card.period.display)
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
        (_("Yếu tố"), ("overall", "aspect", "element")),
        (
            _("Tiêu chí"),
            ("item", "overall_question", "element_question", "expectation", "perception"),
        ),
    ):
        sheet = book.create_sheet(title)
        part = ordered[ordered["level"].isin(levels)]
        _table(sheet, 1, tidy_headers(), _tidy_rows(part, names), numbers=(7, 8, 9, 11, 12, 15))
        _widths(sheet, [14, 30, 12, 8, 48, 8, 9, 9, 9, 9, 9, 9, 7, 9, 10])

    desks = book.create_sheet(_("Quầy"))
    # Every desk at or below the unit (a district's report lists its communes' desks too).
    source = desk_table if desk_table is not None else card.desks.assign(unit_code=card.unit.code)
    level_words = vocabulary.level_names()
    desk_rows = (
        [
            [
                r["desk_code"],
                desk_names.get(r["desk_code"], ""),
                unit_names.get(str(r.get("unit_code")), r.get("unit_code") or ""),
                level_words.get(r["level"], r["level"]),
                r["code"],
                r["label_vi"],
                r["n"],
                r["index"],
                r["ci_low"],
                r["ci_high"],
                _flag(r["min_n_flag"]),
            ]
            for r in source.to_dict(orient="records")
            if r["level"] in ("overall", "element")
        ]
        if len(source)
        else []
    )
    order = {c: k for k, c in enumerate(unit_order)}
    desk_rows.sort(key=lambda r: (order.get(str(r[2]), len(order)), str(r[0])))
    _table(
        desks,
        1,
        [
            _("Mã quầy"),
            _("Quầy"),
            _("Đơn vị"),
            _("Cấp chỉ số"),
            _("Mã"),
            _("Tên"),
            "n",
            _("Chỉ số"),
            "KTC 95% thấp",
            "KTC 95% cao",
            _("Chưa đủ mẫu"),
        ],
        desk_rows,
        numbers=(8, 9, 10),
    )
    _widths(desks, [10, 36, 30, 10, 8, 40, 8, 9, 9, 9, 9])

    trend = book.create_sheet(_("Xu hướng"))
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
                f"{month[5:]}/{month[:4]}" if len(month) == 7 else month,
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
                _flag(sipas.loc[month, "min_n_flag"]),
            ]
        )
    last = _table(
        trend,
        1,
        [_("Tháng"), "n", "SIPAS", "KTC 95% thấp", "KTC 95% cao", *elements, _("Chưa đủ mẫu")],
        trend_rows,
        numbers=tuple(range(3, 6 + len(elements))),
    )
    if trend_rows:
        line = LineChart()
        line.title = _("SIPAS và 5 yếu tố theo tháng – %(unit)s", unit=card.unit.name)
        line.y_axis.title = "%"
        line.add_data(Reference(trend, min_col=3, min_row=1, max_row=last), titles_from_data=True)
        for col in range(6, 6 + len(elements)):
            line.add_data(
                Reference(trend, min_col=col, min_row=1, max_row=last), titles_from_data=True
            )
        line.set_categories(Reference(trend, min_col=1, min_row=2, max_row=last))
        line.height, line.width = 9, 20
        trend.add_chart(line, f"A{last + 3}")

    drivers = book.create_sheet(_("Ưu tiên cải thiện"))
    quadrants = vocabulary.quadrant_names()
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
                quadrants.get(str(r.get("quadrant")), r.get("quadrant_vi")),
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
            _("Ưu tiên"),
            _("Tiêu chí"),
            _("Yếu tố"),
            _("Tên"),
            "n",
            _("Chỉ số"),
            _("Mức độ quan trọng (tương quan với mức hài lòng chung)"),
            _("Nhóm"),
        ],
        driver_rows,
        numbers=(6, 7),
    )
    _widths(drivers, [8, 9, 8, 60, 8, 9, 12, 24])

    notes = book.create_sheet(_("Ý kiến"))
    _table(
        notes,
        1,
        [
            _("Thời điểm – %(zone)s", zone=zone_text),
            _("Đơn vị"),
            _("Quầy"),
            _("Ý kiến"),
            _("Rất không hài lòng"),
            _("Đã xử lý"),
            _("Cách xử lý"),
        ],
        (
            [
                c.submitted_at.replace(tzinfo=None),
                c.unit,
                c.desk,
                c.text,
                _flag(c.very_dissatisfied),
                _flag(c.handled_note is not None),
                c.handled_note or "",
            ]
            for c in comments
        ),
    )
    for row in notes.iter_rows(min_row=2, min_col=1, max_col=1):
        row[0].number_format = "dd/mm/yyyy hh:mm"
    _widths(notes, [17, 30, 30, 80, 10, 9, 50])

    codebook(book.create_sheet(_("Giải thích mã")), card.questionnaire, card.min_n)

    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def codebook(sheet: Worksheet, questionnaire: Questionnaire, min_n: int) -> None:
    """What every code and column of the workbook means, in words."""
    levels = vocabulary.level_names()
    rows: list[list[Any]] = []
    for node in questionnaire.index.walk():
        rows.append([node.code, node.label.get("vi"), levels.get(node.level, node.level), ""])
    roles = vocabulary.role_names()
    for item in questionnaire.items.values():
        options = item.scale.options if item.scale is not None else ()
        answers = "; ".join(f"{o.code} = {o.label.get('vi')}" for o in options)
        if item.not_applicable is not None:
            answers += f"; 0 = {item.not_applicable.get('vi')}"
        rows.append(
            [
                item.code,
                (item.short or item.text).get("vi"),
                roles.get(item.role, item.role),
                answers,
            ]
        )
    columns = [
        ("n", _("Số câu trả lời hợp lệ đứng sau chỉ số")),
        (
            _("Chỉ số"),
            _(
                "Tỷ lệ hài lòng (%): số người chọn Hài lòng hoặc Rất hài lòng chia cho "
                "số người trả lời câu đó; chỉ số yếu tố là trung bình các tiêu chí"
            ),
        ),
        (_("KTC 95%"), _("Khoảng tin cậy 95%: giá trị thật rất có thể nằm trong khoảng này")),
        (_("Chưa đủ mẫu"), _("“Có” khi n < %(n)s: chỉ tham khảo, không xếp hạng", n=min_n)),
        (_("Chỉ tiêu"), _("Chỉ tiêu của kế hoạch; Chênh lệch = chỉ số − chỉ tiêu")),
        (_("Hạng"), _("1 = cao nhất trong các đơn vị cùng cấp; để trống: không xếp hạng")),
        (_("Thay đổi hạng"), _("+2 = tăng hai bậc so với kỳ trước")),
        (_("p (so với kỳ trước)"), _("Dưới 0,05: thay đổi khó là do ngẫu nhiên")),
    ]
    for code, text in columns:
        rows.append([code, text, _("Cột"), ""])
    for code, text in vocabulary.flag_names().items():
        rows.append([code, text, _("Cờ kiểm tra phiếu"), ""])
    for code, text in vocabulary.channel_names().items():
        rows.append([code, text, _("Kênh"), ""])
    _table(sheet, 1, [_("Mã"), _("Ý nghĩa"), _("Loại"), _("Các mức trả lời")], rows)
    _widths(sheet, [14, 70, 22, 60])
    for row in sheet.iter_rows(min_row=2, min_col=2, max_col=4):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
