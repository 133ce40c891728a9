"""Printable paper forms of a sample plan: one numbered copy per drawn household or dossier, in
Vietnamese, with a QR code of the form number, the questions in the order a clerk keys them.

The order and the answer codes come from services/paper_keying.keying_fields, the same list the
keying page shows, so paper and screen cannot drift apart.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from fpdf import FPDF

import questionnaires

from ..models import SamplePlan, SampleUnit
from ..services.paper_keying import KeyField, keying_fields
from ..services.qr import qr_png
from ..services.sample_plans import form_code
from . import fonts

FONT = "DejaVu"
BLUE = (11, 79, 138)
GREY = (61, 67, 75)
#: The most copies one PDF holds (a print run is split into ranges of form numbers).
MAX_COPIES = 500


class _Forms(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format=(210.0, 297.0))
        self.set_auto_page_break(True, margin=14)
        self.set_margins(14, 12, 14)
        self.add_font(FONT, "", str(fonts.regular()))
        self.add_font(FONT, "B", str(fonts.bold()))
        self.set_creator("sipas")
        self.code = ""

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(*GREY)
        self.cell(0, 4, f"Phiếu số {self.code} · trang {self.page_no()}", align="C")


def _scale_text(field: KeyField) -> str:
    return "   ".join(f"{code} = {label}" for code, label in field.options)


def _same_scale(fields: Sequence[KeyField]) -> bool:
    """A matrix question: every item of the section has the same options (print them once)."""
    return len(fields) > 1 and all(
        f.kind == "choice" and f.options == fields[0].options for f in fields
    )


def _item_line(pdf: _Forms, field: KeyField, codes_text: str) -> None:
    width = pdf.w - pdf.l_margin - pdf.r_margin
    answer_w = 42.0
    lines = pdf.multi_cell(width - 16 - answer_w, 5, field.label, dry_run=True, output="LINES")
    count = len(lines) if isinstance(lines, list) else 1
    if pdf.get_y() + 5 * count > pdf.h - pdf.b_margin:
        pdf.add_page()
    y = pdf.get_y()
    pdf.set_xy(pdf.l_margin, y)
    pdf.set_font(FONT, "B", 8.5)
    pdf.cell(16, 5, field.code)
    pdf.set_xy(pdf.l_margin + width - answer_w, y)
    pdf.set_font(FONT, "B", 9.5)
    pdf.cell(answer_w, 5, codes_text, align="R")
    pdf.set_xy(pdf.l_margin + 16, y)
    pdf.set_font(FONT, "", 8.5)
    pdf.multi_cell(width - 16 - answer_w, 5, field.label, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(0.6)


def _copy(
    pdf: _Forms, plan: SamplePlan, unit: SampleUnit, title: str, names: dict[str, str]
) -> None:
    code = form_code(plan.id, unit.form_number)
    pdf.code = code
    pdf.add_page()
    top = pdf.get_y()
    pdf.image(io.BytesIO(qr_png(code, box_size=4)), x=pdf.w - pdf.r_margin - 26, y=top, w=26)
    pdf.set_text_color(*BLUE)
    pdf.set_font(FONT, "B", 12)
    pdf.multi_cell(
        pdf.w - pdf.l_margin - pdf.r_margin - 30, 6, title, new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font(FONT, "B", 16)
    pdf.cell(pdf.w - pdf.l_margin - pdf.r_margin - 30, 9, f"Phiếu số {code}")
    pdf.set_xy(pdf.l_margin, pdf.get_y() + 9)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT, "", 9)
    where = f"Đơn vị: {unit.stratum} · {names.get(unit.stratum, '')}"
    if unit.cluster:
        where += f" · Thôn/tổ: {unit.cluster}"
    pdf.cell(0, 5, where, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 8)
    pdf.set_text_color(*GREY)
    pdf.multi_cell(
        pdf.w - pdf.l_margin - pdf.r_margin - 30,
        4,
        "Khoanh tròn một mã trả lời cho mỗi câu (câu nhiều lựa chọn: khoanh mọi mã phù hợp). "
        "Câu không trả lời thì để trống. Người nhập liệu gõ đúng mã đã khoanh, theo thứ tự "
        "trên phiếu.",
    )
    pdf.set_text_color(0, 0, 0)
    pdf.set_y(max(pdf.get_y(), top + 28))
    fields = keying_fields(questionnaires.get(plan.questionnaire))
    sections: list[list[KeyField]] = []
    for f in fields:
        if not sections or sections[-1][0].section != f.section:
            sections.append([])
        sections[-1].append(f)
    for section in sections:
        if pdf.get_y() > pdf.h - 40:
            pdf.add_page()
        pdf.ln(1.5)
        pdf.set_x(pdf.l_margin)
        pdf.set_font(FONT, "B", 9.5)
        pdf.set_text_color(*BLUE)
        pdf.multi_cell(0, 5, section[0].section_title)
        pdf.set_text_color(0, 0, 0)
        matrix = _same_scale(section)
        if matrix:
            pdf.set_font(FONT, "", 7.5)
            pdf.set_x(pdf.l_margin)
            pdf.multi_cell(0, 4, "Mã: " + _scale_text(section[0]))
        for f in section:
            if f.kind == "text":
                pdf.set_x(pdf.l_margin)
                pdf.set_font(FONT, "B", 8.5)
                pdf.cell(16, 5, f.code)
                pdf.set_font(FONT, "", 8.5)
                pdf.multi_cell(0, 5, f.label)
                for _line in range(3):
                    pdf.cell(0, 6, "", border="B", new_x="LMARGIN", new_y="NEXT")
                continue
            codes = "  ".join(str(c) for c, _label in f.options)
            _item_line(pdf, f, codes)
            if not matrix:
                pdf.set_font(FONT, "", 7.5)
                pdf.set_x(pdf.l_margin + 16)
                pdf.multi_cell(
                    0, 4, _scale_text(f) + ("  (nhiều lựa chọn)" if f.kind == "multi" else "")
                )
                pdf.ln(0.5)


def forms_pdf(plan: SamplePlan, units: Sequence[SampleUnit]) -> bytes:
    """One copy per drawn unit, each starting on a new page (at most :data:`MAX_COPIES`)."""
    if len(units) > MAX_COPIES:
        raise ValueError(f"at most {MAX_COPIES} copies per PDF, got {len(units)}")
    pdf = _Forms()
    title = questionnaires.get(plan.questionnaire).title.vi
    names = {s.stratum: s.unit.name for s in plan.strata}
    for unit in units:
        _copy(pdf, plan, unit, title, names)
    if not units:
        pdf.add_page()
        pdf.set_font(FONT, "", 11)
        pdf.cell(0, 8, "Không có phiếu nào trong khoảng số phiếu đã chọn.")
    return bytes(pdf.output())
