"""Charts as small hand-built SVG: inline in pages (no script, presentation attributes only, so
the strict CSP holds) and embedded as is in PDF reports (fpdf2 draws SVG).

Each function takes values already computed by analysis/ and only places them; every page
shows the same numbers in a table beside the chart.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

BLUE = "#0b4f8a"
GREY = "#8a939e"
RED = "#b3261e"
INK = "#1b1b1b"
GRID = "#d5dae0"
QUADRANT_COLOURS = {
    "fix_first": RED,
    "keep_up": "#1e6b34",
    "low_priority": "#b35c00",
    "possible_overkill": GREY,
}
WEB_FONT = "system-ui, -apple-system, Segoe UI, Roboto, Noto Sans, Arial, sans-serif"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    #: Below the minimum n: drawn grey and marked.
    flagged: bool = False
    target: float | None = None


@dataclass(frozen=True)
class Point:
    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    flagged: bool = False


@dataclass(frozen=True)
class Driver:
    code: str
    performance: float
    importance: float
    quadrant: str


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _fmt(value: float | None) -> str:
    return (
        "–"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value:.1f}".replace(".", ","))
    )


def _ok(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _f(value: float | None) -> float:
    """A value known to be there (checked with _ok first)."""
    return float(value) if value is not None else math.nan


def _svg(width: int, height: int, title: str, body: list[str], font: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="{escape(font)}" font-size="12">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "start",
    size: int = 12,
    fill: str = INK,
    weight: str = "normal",
) -> str:
    extra = f' font-weight="{weight}"' if weight != "normal" else ""
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{fill}"{extra}>{escape(text)}</text>'
    )


def _clip(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def index_bars(
    bars: Sequence[Bar],
    title: str,
    *,
    font: str = WEB_FONT,
    width: int = 560,
    label_width: int = 190,
) -> str:
    """Horizontal bars on a 0–100 axis with the 95% interval as a whisker and the target as
    a red tick; a group under the minimum n is grey."""
    row, top = 26, 10
    height = top + row * len(bars) + 26
    plot = width - label_width - 60
    x0 = label_width

    def x(v: float) -> float:
        return x0 + plot * max(0.0, min(100.0, v)) / 100

    body = []
    for tick in (0, 25, 50, 75, 100):
        body.append(
            f'<line x1="{_num(x(tick))}" y1="{top}" x2="{_num(x(tick))}" '
            f'y2="{top + row * len(bars)}" stroke="{GRID}" stroke-width="1"/>'
        )
        body.append(
            _text(
                x(tick),
                top + row * len(bars) + 16,
                str(tick),
                anchor="middle",
                size=11,
                fill="#3d434b",
            )
        )
    for k, bar in enumerate(bars):
        y = top + k * row
        # About 6.5 px per character at 12 px: keep the label inside its column.
        limit = max(8, int((label_width - 12) / 6.5))
        body.append(_text(label_width - 8, y + 17, _clip(bar.label, limit), anchor="end"))
        if _ok(bar.value):
            value = _f(bar.value)
            colour = GREY if bar.flagged else BLUE
            body.append(
                f'<rect x="{x0}" y="{y + 5}" width="{_num(x(value) - x0)}" height="16" '
                f'fill="{colour}"/>'
            )
            if _ok(bar.low) and _ok(bar.high):
                lo, hi = x(_f(bar.low)), x(_f(bar.high))
                body.append(
                    f'<line x1="{_num(lo)}" y1="{y + 13}" x2="{_num(hi)}" y2="{y + 13}" '
                    f'stroke="{INK}" stroke-width="1.5"/>'
                    f'<line x1="{_num(lo)}" y1="{y + 9}" x2="{_num(lo)}" y2="{y + 17}" '
                    f'stroke="{INK}" stroke-width="1.5"/>'
                    f'<line x1="{_num(hi)}" y1="{y + 9}" x2="{_num(hi)}" y2="{y + 17}" '
                    f'stroke="{INK}" stroke-width="1.5"/>'
                )
            label = _fmt(value) + (" *" if bar.flagged else "")
            body.append(_text(x0 + plot + 6, y + 17, label, weight="bold"))
        else:
            body.append(_text(x0 + 4, y + 17, "–", fill=GREY))
        if _ok(bar.target):
            t = x(_f(bar.target))
            body.append(
                f'<line x1="{_num(t)}" y1="{y + 2}" x2="{_num(t)}" y2="{y + 24}" '
                f'stroke="{RED}" stroke-width="2.5"/>'
            )
    return _svg(width, height, title, body, font)


def trend_line(
    points: Sequence[Point],
    title: str,
    *,
    target: float | None = None,
    font: str = WEB_FONT,
    width: int = 560,
    height: int = 220,
) -> str:
    """A line over months with its 95% band; hollow markers for months under the minimum n;
    the target as a dashed red line. The axis spans the data, not 0–100, so change shows."""
    left, right, top, bottom = 40, 12, 12, 40
    known = [p for p in points if _ok(p.value)]
    values = [_f(p.value) for p in known]
    values += [_f(p.low) for p in known if _ok(p.low)]
    values += [_f(p.high) for p in known if _ok(p.high)]
    if _ok(target):
        values.append(_f(target))
    lo = math.floor((min(values) if values else 0) / 10) * 10
    hi = math.ceil((max(values) if values else 100) / 10) * 10
    lo, hi = max(0, min(lo, hi - 10)), min(100, max(hi, lo + 10))
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(points) - 1)

    def px(k: int) -> float:
        return left + (k * step if len(points) > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    body = []
    for tick in range(int(lo), int(hi) + 1, 10 if hi - lo > 20 else 5):
        body.append(
            f'<line x1="{left}" y1="{_num(py(tick))}" x2="{width - right}" y2="{_num(py(tick))}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        body.append(_text(left - 6, py(tick) + 4, str(tick), anchor="end", size=11, fill="#3d434b"))
    band_top = [(px(k), py(_f(p.high))) for k, p in enumerate(points) if _ok(p.high) and _ok(p.low)]
    band_bottom = [
        (px(k), py(_f(p.low))) for k, p in enumerate(points) if _ok(p.high) and _ok(p.low)
    ]
    if len(band_top) > 1:
        ring = band_top + band_bottom[::-1]
        body.append(
            '<polygon points="'
            + " ".join(f"{_num(a)},{_num(b)}" for a, b in ring)
            + f'" fill="{BLUE}" fill-opacity="0.15" stroke="none"/>'
        )
    if _ok(target):
        t = py(_f(target))
        body.append(
            f'<line x1="{left}" y1="{_num(t)}" x2="{width - right}" y2="{_num(t)}" '
            f'stroke="{RED}" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
    line = [(px(k), py(_f(p.value))) for k, p in enumerate(points) if _ok(p.value)]
    if len(line) > 1:
        body.append(
            '<polyline points="'
            + " ".join(f"{_num(a)},{_num(b)}" for a, b in line)
            + f'" fill="none" stroke="{BLUE}" stroke-width="2"/>'
        )
    for k, p in enumerate(points):
        if _ok(p.value):
            fill = "#ffffff" if p.flagged else BLUE
            body.append(
                f'<circle cx="{_num(px(k))}" cy="{_num(py(_f(p.value)))}" r="3.5" '
                f'fill="{fill}" stroke="{BLUE}" stroke-width="1.5"/>'
            )
        if len(points) <= 13 or k % 2 == 0:
            body.append(
                _text(
                    px(k), height - bottom + 16, p.label, anchor="middle", size=10, fill="#3d434b"
                )
            )
    return _svg(width, height, title, body, font)


def importance_performance(
    drivers: Sequence[Driver],
    title: str,
    *,
    performance_split: float,
    importance_split: float,
    x_label: str = "",
    y_label: str = "",
    font: str = WEB_FONT,
    width: int = 560,
    height: int = 300,
) -> str:
    """Criteria placed by performance (index, x) and importance (rank correlation with the
    overall question, y); the crosshair divides the quadrants; "fix first" is top left."""
    left, right, top, bottom = 46, 16, 12, 36
    xs = [d.performance for d in drivers] + [performance_split]
    ys = [d.importance for d in drivers] + [importance_split]
    x_lo, x_hi = math.floor(min(xs) / 5) * 5 - 5, math.ceil(max(xs) / 5) * 5 + 5
    x_lo, x_hi = max(0, x_lo), min(100, x_hi)
    y_lo, y_hi = math.floor(min(ys) * 10) / 10 - 0.05, math.ceil(max(ys) * 10) / 10 + 0.05
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(v: float) -> float:
        return left + plot_w * (v - x_lo) / max(1e-9, x_hi - x_lo)

    def py(v: float) -> float:
        return top + plot_h * (1 - (v - y_lo) / max(1e-9, y_hi - y_lo))

    body = [
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
        f'stroke="{GRID}"/>',
        f'<line x1="{_num(px(performance_split))}" y1="{top}" x2="{_num(px(performance_split))}" '
        f'y2="{top + plot_h}" stroke="{GREY}" stroke-dasharray="4 3"/>',
        f'<line x1="{left}" y1="{_num(py(importance_split))}" x2="{left + plot_w}" '
        f'y2="{_num(py(importance_split))}" stroke="{GREY}" stroke-dasharray="4 3"/>',
        _text(left + plot_w / 2, height - 6, x_label, anchor="middle", size=11, fill="#3d434b"),
        # The y axis title reads upwards along the axis, outside the plot.
        f'<text x="12" y="{_num(top + plot_h / 2)}" text-anchor="middle" font-size="11" '
        f'fill="#3d434b" transform="rotate(-90 12 {_num(top + plot_h / 2)})">'
        f"{html.escape(y_label)}</text>",
    ]
    for tick in range(int(x_lo), int(x_hi) + 1, 10):
        body.append(
            _text(px(tick), top + plot_h + 14, str(tick), anchor="middle", size=10, fill="#3d434b")
        )
    for level in _y_ticks(y_lo, y_hi):
        body.append(
            _text(
                left - 4,
                py(level) + 3,
                number_text(level, 1),
                anchor="end",
                size=10,
                fill="#3d434b",
            )
        )
    points = [(px(d.performance), py(d.importance)) for d in drivers]
    placed = place_labels(
        [
            (x, y, len(d.code) * LABEL_CHAR_WIDTH, LABEL_HEIGHT)
            for d, (x, y) in zip(drivers, points, strict=True)
        ],
        (left, top, left + plot_w, top + plot_h),
    )
    for d, (x, y), (lx, ly) in zip(drivers, points, placed, strict=True):
        colour = QUADRANT_COLOURS.get(d.quadrant, GREY)
        body.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="4" fill="{colour}"/>')
        body.append(
            f'<text class="point-label" x="{_num(lx)}" y="{_num(ly + LABEL_HEIGHT - 2)}" '
            f'font-size="10" fill="{colour}">{html.escape(d.code)}</text>'
        )
    return _svg(width, height, title, body, font)


#: Width of one character of a point label at font size 10 (DejaVu Sans, bold enough for codes
#: such as "KQ2"), and its height: used to keep labels apart.
LABEL_CHAR_WIDTH = 7.0
LABEL_HEIGHT = 11.0


def number_text(value: float, digits: int) -> str:
    """A chart's tick value in Vietnamese style: 0,3 and −0,1 (true minus sign)."""
    text = f"{abs(value):.{digits}f}".replace(".", ",")
    return ("−" if value < 0 and float(text.replace(",", ".")) != 0 else "") + text


def _y_ticks(lo: float, hi: float) -> list[float]:
    step = 0.1 if hi - lo <= 0.8 else 0.2
    first = math.ceil(lo / step - 1e-9) * step
    out = []
    k = 0
    while first + k * step <= hi + 1e-9 and k < 20:
        out.append(round(first + k * step, 6))
        k += 1
    return out


def place_labels(
    points: Sequence[tuple[float, float, float, float]],
    area: tuple[float, float, float, float],
) -> list[tuple[float, float]]:
    """Top-left corners of labels (``x, y, width, height`` per point) so that no two labels
    overlap and none covers another's point, trying positions around the point, then
    farther out; a label that finds no free place takes the least crowded one."""
    boxes: list[tuple[float, float, float, float]] = []
    out: list[tuple[float, float]] = []
    x0, y0, x1, y1 = area
    dots = [(x - 4, y - 4, x + 4, y + 4) for x, y, _w, _h in points]

    def overlap(
        a: tuple[float, float, float, float], b: tuple[float, float, float, float]
    ) -> float:
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        return w * h if w > 0 and h > 0 else 0.0

    for k, (x, y, w, h) in enumerate(points):
        best: tuple[float, tuple[float, float, float, float]] | None = None
        for reach in (1.0, 2.0, 3.0, 4.5):
            step = 6 * reach
            candidates = (
                (x + step, y - h / 2),  # right
                (x - step - w, y - h / 2),  # left
                (x - w / 2, y - step - h),  # above
                (x - w / 2, y + step),  # below
                (x + step, y - step - h / 2),  # up right
                (x + step, y + step - h / 2),  # down right
                (x - step - w, y - step - h / 2),  # up left
                (x - step - w, y + step - h / 2),  # down left
            )
            for bx, by in candidates:
                box = (bx, by, bx + w, by + h)
                if box[0] < x0 or box[2] > x1 or box[1] < y0 or box[3] > y1:
                    continue
                cost = sum(overlap(box, b) for b in boxes) + sum(
                    overlap(box, d) for j, d in enumerate(dots) if j != k
                )
                if best is None or cost < best[0]:
                    best = (cost, box)
                if cost == 0:
                    break
            if best is not None and best[0] == 0:
                break
        if best is None:
            box = (min(max(x + 6, x0), x1 - w), min(max(y - h / 2, y0), y1 - h), 0.0, 0.0)
            box = (box[0], box[1], box[0] + w, box[1] + h)
        else:
            box = best[1]
        boxes.append(box)
        out.append((box[0], box[1]))
    return out
