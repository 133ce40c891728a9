"""QR posters for desks: one A4 or A5 page per desk with the unit and desk name, a short
Vietnamese invitation, the QR code of the desk's survey address, and that address in short.

The QR is drawn as vector rectangles (one per run of dark modules in a row), so it prints
sharp at any size and 500 posters need no image encoding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import qrcode
from fpdf import FPDF
from qrcode.constants import ERROR_CORRECT_M

from . import fonts

#: Page sizes in millimetres (portrait).
SIZES = {"A4": (210.0, 297.0), "A5": (148.0, 210.0)}
BLUE = (11, 79, 138)
INK = (27, 27, 27)
GREY = (61, 67, 75)
MASK = 2


@dataclass(frozen=True)
class PosterDesk:
    code: str
    desk_name: str
    unit_name: str
    url: str


@dataclass(frozen=True)
class PosterTexts:
    """The words on a poster (Vietnamese; the caller may pass them through gettext)."""

    invitation: str = "Mời Ông/Bà quét mã QR để đánh giá sự phục vụ của chúng tôi"
    detail: str = (
        "Khảo sát ẩn danh, khoảng 1 phút. Ý kiến của Ông/Bà giúp chúng tôi phục vụ tốt hơn."
    )
    no_scan: str = "Không quét được? Mở địa chỉ dưới đây và nhập mã quầy"
    desk_code: str = "Mã quầy"
    footer: str = "Chỉ số hài lòng về sự phục vụ hành chính (SIPAS)"


def short_url(url: str) -> str:
    """The address as printed: without the scheme (people type it from the poster)."""
    return url.split("://", 1)[-1]


def qr_runs(data: str) -> tuple[int, list[tuple[int, int, int]]]:
    """The QR matrix size and its dark runs as (row, first column, length), quiet zone
    excluded (the poster leaves white space around it)."""
    # A fixed mask pattern skips trying all eight (most of the time of making a code); any
    # mask is a valid code, and posters print large.
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=MASK)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    runs: list[tuple[int, int, int]] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append((y, start, x - start))
            else:
                x += 1
    return len(matrix), runs


class _Posters(FPDF):
    def __init__(self, size: str) -> None:
        super().__init__(orientation="P", unit="mm", format=SIZES[size])
        self.set_auto_page_break(False)
        self.set_margins(0, 0, 0)
        self.add_font("DejaVu", "", str(fonts.regular()))
        self.add_font("DejaVu", "B", str(fonts.bold()))
        self.set_creator("sipas")


def _fit(pdf: FPDF, text: str, width: float, size: float, style: str = "") -> float:
    """The largest font size up to ``size`` at which ``text`` fits on one line."""
    pdf.set_font("DejaVu", style, size)
    while size > 8 and pdf.get_string_width(text) > width:
        size -= 0.5
        pdf.set_font("DejaVu", style, size)
    return size


def _lines(pdf: FPDF, text: str, x: float, y: float, width: float, height: float) -> float:
    """Centred lines of ``text`` in the current font; returns the y below them.

    The same invitation is on every poster, so its line breaks are worked out once per font
    size rather than once per page.
    """
    cache: dict[tuple[str, str, float, float], list[str]] = pdf.__dict__.setdefault("_wrapped", {})
    key = (text, pdf.font_family + pdf.font_style, pdf.font_size_pt, width)
    if key not in cache:
        lines = pdf.multi_cell(width, height, text, dry_run=True, output="LINES")
        cache[key] = [str(line) for line in lines]  # type: ignore[union-attr]
    for line in cache[key]:
        pdf.set_xy(x, y)
        pdf.cell(width, height, line, align="C")
        y += height
    return y


def draw_poster(pdf: FPDF, desk: PosterDesk, texts: PosterTexts, size: str) -> None:
    width, height = SIZES[size]
    k = width / SIZES["A4"][0]  # everything scales with the page
    margin = 14 * k
    inner = width - 2 * margin
    pdf.add_page()

    # Blue band with the unit's name.
    pdf.set_fill_color(*BLUE)
    pdf.rect(0, 0, width, 34 * k, style="F")
    pdf.set_text_color(255, 255, 255)
    _fit(pdf, desk.unit_name, inner, 20 * k, "B")
    pdf.set_xy(margin, 10 * k)
    pdf.cell(inner, 14 * k, desk.unit_name, align="C")

    # The desk, large.
    pdf.set_text_color(*INK)
    pdf.set_xy(margin, 42 * k)
    pdf.set_font("DejaVu", "B", 24 * k)
    pdf.multi_cell(inner, 11 * k, desk.desk_name, align="C", max_line_height=11 * k)

    # The invitation.
    top = max(pdf.get_y() + 4 * k, 70 * k)
    pdf.set_text_color(*BLUE)
    pdf.set_font("DejaVu", "B", 17 * k)
    y = _lines(pdf, texts.invitation, margin, top, inner, 8.5 * k)
    pdf.set_text_color(*GREY)
    pdf.set_font("DejaVu", "", 12 * k)
    y = _lines(pdf, texts.detail, margin, y, inner, 6.5 * k)
    pdf.set_y(y)

    # The QR code, centred, as filled rectangles.
    modules, runs = qr_runs(desk.url)
    side = min(120 * k, height - pdf.get_y() - 80 * k)
    module = side / modules
    x0, y0 = (width - side) / 2, pdf.get_y() + 8 * k
    pdf.set_fill_color(0, 0, 0)
    for row, first, length in runs:
        # A hair of overlap keeps viewers from drawing white seams between modules.
        pdf.rect(
            x0 + first * module, y0 + row * module, length * module + 0.02, module + 0.02, style="F"
        )

    # The address and the desk code, for people who cannot scan.
    y = y0 + side + 10 * k
    pdf.set_text_color(*GREY)
    pdf.set_font("DejaVu", "", 11 * k)
    pdf.set_xy(margin, y)
    pdf.cell(inner, 6 * k, texts.no_scan, align="C")
    pdf.set_text_color(*INK)
    _fit(pdf, short_url(desk.url), inner, 20 * k, "B")
    pdf.set_xy(margin, y + 8 * k)
    pdf.cell(inner, 10 * k, short_url(desk.url), align="C")
    pdf.set_font("DejaVu", "", 14 * k)
    pdf.set_xy(margin, y + 20 * k)
    pdf.cell(inner, 8 * k, f"{texts.desk_code}: {desk.code}", align="C")

    pdf.set_text_color(*GREY)
    pdf.set_font("DejaVu", "", 9 * k)
    pdf.set_xy(margin, height - 14 * k)
    pdf.cell(inner, 5 * k, texts.footer, align="C")


def build_posters(
    desks: Iterable[PosterDesk], size: str = "A4", texts: PosterTexts | None = None
) -> bytes:
    """A PDF with one poster page per desk (in the order given)."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    pdf = _Posters(size)
    chosen = texts or PosterTexts()
    for desk in desks:
        draw_poster(pdf, desk, chosen, size)
    if pdf.page == 0:
        raise ValueError("no desk to print a poster for")
    return bytes(pdf.output())
