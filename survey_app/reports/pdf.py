"""The PDF summary for meetings: one or two pages per unit, in Vietnamese, with charts.

The first unit gets two pages (scores, trend, priorities, then the ranking of the units
below it); each unit below it one page (scores and its rank). Values are picked from a
Scorecard (analysis/ results); charts are the dashboard's SVG, drawn with the embedded font.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.fonts import FontFace

from ..i18n import current_language
from ..services import charts, display
from ..services.scorecards import Scorecard
from . import fonts

FONT = "DejaVu"
BLUE = (11, 79, 138)
GREY = (61, 67, 75)


def fmt(value: Any, digits: int = 1) -> str:
    """vi-VN numbers as on the dashboard: "2.732", "84,6", "−5,0"; a dash for nothing."""
    return display.number(value, digits, current_language())


def signed(value: Any) -> str:
    return display.signed(value, 1, current_language())


class _Summary(FPDF):
    def __init__(self, footer: str) -> None:
        super().__init__(orientation="P", unit="mm", format=(210.0, 297.0))
        self.footer_text = footer
        self.set_auto_page_break(True, margin=16)
        self.set_margins(15, 14, 15)
        self.add_font(FONT, "", str(fonts.regular()))
        self.add_font(FONT, "B", str(fonts.bold()))
        self.set_creator("sipas")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.set_text_color(*GREY)
        # "{nb}" is fpdf2's alias of the page total, filled in when the file is written.
        self.cell(0, 5, f"{self.footer_text} · {_('Trang')} {self.page_no()}/{{nb}}", align="C")


def _svg(pdf: FPDF, svg: str, width: float = 180) -> None:
    # fpdf2 has no use for the accessible <title> (and logs that it skips it).
    svg = re.sub(r"<title>.*?</title>", "", svg, count=1, flags=re.S)
    if pdf.get_y() + width * _ratio(svg) > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.image(io.BytesIO(svg.encode("utf-8")), x=pdf.l_margin, y=pdf.get_y(), w=width)
    # fpdf2 places the image at y but does not move the cursor past an SVG: ask its size.
    ratio = _ratio(svg)
    pdf.set_y(pdf.get_y() + width * ratio + 3)


def _ratio(svg: str) -> float:
    head = svg[: svg.index(">")]
    w = float(head.split('width="', 1)[1].split('"', 1)[0])
    h = float(head.split('height="', 1)[1].split('"', 1)[0])
    return h / w


def _heading(pdf: FPDF, text: str, size: float = 12) -> None:
    pdf.set_x(pdf.l_margin)
    pdf.set_font(FONT, "B", size)
    pdf.set_text_color(*BLUE)
    pdf.multi_cell(0, size * 0.55, text)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(1)


def _rows(card: Scorecard, code: str) -> pd.DataFrame:
    return card.table[card.table["unit_code"] == code].set_index("code")


def _headline_table(pdf: FPDF, rows: pd.DataFrame, codes: tuple[str, ...], min_n: int) -> None:
    pdf.set_font(FONT, "", 9)
    with pdf.table(
        col_widths=(58, 16, 18, 30, 18, 20),
        text_align=("LEFT", "RIGHT", "RIGHT", "CENTER", "RIGHT", "RIGHT"),
        headings_style=FontFace(emphasis="BOLD", fill_color=(220, 230, 241)),
        line_height=5.5,
    ) as table:
        table.row([_("Chỉ số"), "n", _("Giá trị"), _("KTC 95%"), _("Chỉ tiêu"), _("Chênh lệch")])
        for code in codes:
            if code not in rows.index:
                continue
            r = rows.loc[code]
            flag = " *" if bool(r["min_n_flag"]) else ""
            table.row(
                [
                    f"{code} · {r['label_vi']}{flag}",
                    fmt(r["n"], 0),
                    fmt(r["index"]),
                    f"{fmt(r['ci_low'])}–{fmt(r['ci_high'])}",
                    fmt(r.get("target")),
                    signed(r.get("gap")),
                ]
            )
    pdf.set_font(FONT, "", 8)
    pdf.set_text_color(*GREY)
    pdf.set_x(pdf.l_margin)
    pdf.multi_cell(
        0, 4, _("* chưa đủ mẫu tối thiểu (n < %(n)s): chỉ tham khảo, không xếp hạng.", n=min_n)
    )
    pdf.set_text_color(0, 0, 0)
    pdf.ln(2)


def _bars(rows: pd.DataFrame, codes: tuple[str, ...], title: str) -> str:
    bars = []
    for code in codes:
        if code in rows.index:
            r = rows.loc[code]
            bars.append(
                charts.Bar(
                    f"{code} · {r['label_vi']}",
                    _float(r["index"]),
                    _float(r["ci_low"]),
                    _float(r["ci_high"]),
                    bool(r["min_n_flag"]),
                    _float(r.get("target")),
                )
            )
    return charts.index_bars(bars, title, font=FONT, label_width=230)


def _float(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def build_summary(
    card: Scorecard,
    *,
    unit_names: dict[str, str],
    children: Sequence[str],
    generated_at: str,
    sections: Sequence[Callable[[FPDF], None]] = (),
) -> bytes:
    """The PDF (see the module docstring); ``children`` are the unit codes given a page."""
    unit = card.unit
    pdf = _Summary(
        _(
            "SIPAS · %(unit)s · kỳ %(period)s · lập %(when)s",
            unit=unit.name,
            period=card.period.display,
            when=generated_at,
        )
    )
    counts = card.counts.set_index("unit_code")

    def intro(code: str, name: str) -> None:
        pdf.add_page()
        _heading(pdf, _("Chỉ số hài lòng về sự phục vụ hành chính – %(unit)s", unit=name), 14)
        pdf.set_font(FONT, "", 9)
        pdf.set_text_color(*GREY)
        received = counts.loc[code, "received"] if code in counts.index else 0
        scored = counts.loc[code, "scored"] if code in counts.index else 0
        pdf.multi_cell(
            0,
            4.5,
            _(
                "Kỳ %(period)s (%(start)s–%(end)s). Khảo sát người dân tại quầy theo phiếu "
                "%(form)s: %(received)s phiếu nhận, %(scored)s phiếu tính. Đây là khảo sát tại "
                "quầy, không phải chỉ số SIPAS chính thức do Bộ Nội vụ điều tra hộ gia đình.",
                period=card.period.display,
                start=card.period.start.strftime("%d/%m/%Y"),
                end=card.period.end.strftime("%d/%m/%Y"),
                form=card.questionnaire.key,
                received=fmt(received, 0),
                scored=fmt(scored, 0),
            ),
        )
        pdf.set_text_color(0, 0, 0)
        pdf.ln(2)

    # The unit itself: scores, trend and priorities; then the ranking below it.
    intro(unit.code, unit.name)
    rows = _rows(card, unit.code)
    _headline_table(pdf, rows, card.headline_codes, card.min_n)
    _svg(pdf, _bars(rows, card.headline_codes, _("SIPAS và 5 yếu tố")), 175)
    sipas = card.trend[card.trend["code"] == "SIPAS"]
    if len(sipas):
        _heading(pdf, _("Xu hướng theo tháng (12 tháng)"))
        points = [
            charts.Point(f"{p[5:]}/{p[2:4]}", _float(i), _float(lo), _float(hi), bool(f))
            for p, i, lo, hi, f in zip(
                sipas["period"],
                sipas["index"],
                sipas["ci_low"],
                sipas["ci_high"],
                sipas["min_n_flag"],
                strict=True,
            )
        ]
        target = _float(rows.loc["SIPAS"].get("target")) if "SIPAS" in rows.index else None
        _svg(
            pdf,
            charts.trend_line(points, _("SIPAS theo tháng"), target=target, font=FONT, height=190),
            175,
        )
    if len(card.drivers):
        _heading(pdf, _("Ưu tiên cải thiện (quan trọng nhưng chỉ số thấp)"))
        first = card.drivers[card.drivers["quadrant"] == "fix_first"].head(5)
        pdf.set_font(FONT, "", 9)
        if first.empty:
            pdf.multi_cell(0, 5, _("Không có tiêu chí nào trong nhóm ưu tiên cải thiện."))
        for row in first.itertuples(index=False):
            pdf.set_x(pdf.l_margin)
            pdf.multi_cell(
                0,
                5,
                f"{row.priority}. {row.item} · {row.label_vi}: "
                + _(
                    "chỉ số %(index)s, mức độ quan trọng %(importance)s",
                    index=fmt(row.performance),
                    importance=fmt(row.importance, 2),
                ),
            )
    if children:
        pdf.add_page()
        _heading(
            pdf, _("Xếp hạng các đơn vị trực thuộc – kỳ %(period)s", period=card.period.display), 13
        )
        # (unit code, its SIPAS row): rows read by label, typed loosely as pandas reads them.
        ranked: list[tuple[str, Any]] = []
        for code in children:
            r = _rows(card, code)
            if "SIPAS" in r.index:
                ranked.append((code, r.loc["SIPAS"]))
        ranked.sort(key=lambda cr: (pd.isna(cr[1].get("rank")), _float(cr[1].get("rank")) or 0))
        pdf.set_font(FONT, "", 9)
        with pdf.table(
            col_widths=(14, 70, 14, 18, 30, 16, 18),
            text_align=("CENTER", "LEFT", "RIGHT", "RIGHT", "CENTER", "CENTER", "RIGHT"),
            headings_style=FontFace(emphasis="BOLD", fill_color=(220, 230, 241)),
            line_height=5.5,
        ) as table:
            table.row(
                [_("Hạng"), _("Đơn vị"), "n", "SIPAS", _("KTC 95%"), _("Đổi hạng"), _("Chênh lệch")]
            )
            for code, r in ranked:
                change = r.get("rank_change")
                moved = (
                    "–"
                    if pd.isna(change)
                    else (
                        f"▲{int(change)}"
                        if change > 0
                        else f"▼{-int(change)}"
                        if change < 0
                        else "="
                    )
                )
                table.row(
                    [
                        "–" if pd.isna(r.get("rank")) else str(int(r["rank"])),
                        unit_names.get(code, code) + (" *" if bool(r["min_n_flag"]) else ""),
                        fmt(r["n"], 0),
                        fmt(r["index"]),
                        f"{fmt(r['ci_low'])}–{fmt(r['ci_high'])}",
                        moved,
                        signed(r.get("gap")),
                    ]
                )
        pdf.ln(3)
        bars = [
            charts.Bar(
                unit_names.get(code, code),
                _float(r["index"]),
                _float(r["ci_low"]),
                _float(r["ci_high"]),
                bool(r["min_n_flag"]),
                _float(r.get("target")),
            )
            for code, r in ranked
        ]
        _svg(pdf, charts.index_bars(bars, _("SIPAS các đơn vị"), font=FONT, label_width=230), 175)

    # One page per unit below.
    for code in children:
        rows = _rows(card, code)
        if "SIPAS" not in rows.index:
            continue
        intro(code, unit_names.get(code, code))
        top: Any = rows.loc["SIPAS"]
        if not pd.isna(top.get("rank")):
            pdf.set_font(FONT, "B", 10)
            pdf.multi_cell(
                0,
                5,
                _("Xếp hạng SIPAS: %(rank)s", rank=int(top["rank"]))
                + (
                    ""
                    if pd.isna(top.get("rank_change"))
                    else " "
                    + _(
                        "(thay đổi so với kỳ trước: %(change)s)",
                        change=display.signed(top["rank_change"], 0),
                    )
                ),
            )
            pdf.ln(1)
        _headline_table(pdf, rows, card.headline_codes, card.min_n)
        _svg(pdf, _bars(rows, card.headline_codes, _("SIPAS và 5 yếu tố")), 175)
    for section in sections:  # pages other modules add (e.g. reports/decision766.py)
        section(pdf)
    return bytes(pdf.output())
