"""Issue 14 (what people meet), the pure parts: periods as the app prints them, Vietnamese
alphabetical order, vi-VN numbers, the zone named, words for codes, the chart's labels."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from itertools import combinations

import pytest

from survey_app.services import charts, display
from survey_app.services.collation import vi_key
from survey_app.services.dashboard import spans
from survey_app.services.periods import PeriodError, parse


@pytest.mark.parametrize(
    ("text", "label", "start", "end"),
    [
        ("2026", "2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("Q2/2026", "2026-Q2", date(2026, 4, 1), date(2026, 6, 30)),
        ("q2-2026", "2026-Q2", date(2026, 4, 1), date(2026, 6, 30)),
        ("2026-Q2", "2026-Q2", date(2026, 4, 1), date(2026, 6, 30)),
        ("05/2026", "2026-05", date(2026, 5, 1), date(2026, 5, 31)),
        ("5/2026", "2026-05", date(2026, 5, 1), date(2026, 5, 31)),
        ("2026-05", "2026-05", date(2026, 5, 1), date(2026, 5, 31)),
        ("01/05/2026 - 20/05/2026", "2026-05-01..2026-05-20", date(2026, 5, 1), date(2026, 5, 20)),
        ("01/05/2026–20/05/2026", "2026-05-01..2026-05-20", date(2026, 5, 1), date(2026, 5, 20)),
        ("2026-05-01..2026-05-20", "2026-05-01..2026-05-20", date(2026, 5, 1), date(2026, 5, 20)),
        ("07/05/2026", "2026-05-07..2026-05-07", date(2026, 5, 7), date(2026, 5, 7)),
        ("01/01/2026 - 31/12/2026", "2026", date(2026, 1, 1), date(2026, 12, 31)),
    ],
)
def test_every_format_the_app_prints_is_accepted(
    text: str, label: str, start: date, end: date
) -> None:
    period = parse(text)
    assert (period.label, period.start, period.end) == (label, start, end)
    # What the app prints reads back as the same period (the picker shows ``display``).
    assert parse(period.display) == period
    assert parse(period.label) == period


@pytest.mark.parametrize(
    "text",
    [
        "13/2026",
        "Q5/2026",
        "31/02/2026",
        "20/05/2026 - 01/05/2026",
        "1999",
        "tháng năm",
        "01/01/2020 - 31/12/2026",
    ],
)
def test_a_period_that_names_nothing_is_refused(text: str) -> None:
    with pytest.raises(PeriodError):
        parse(text)


def test_previous_and_same_span_last_year() -> None:
    may = parse("05/2026")
    assert may.previous().display == "04/2026"
    assert may.same_span_last_year().display == "05/2025"
    days = parse("11/05/2026 - 20/05/2026")
    assert days.previous().display == "01/05/2026–10/05/2026"
    assert days.same_span_last_year().display == "11/05/2025–20/05/2025"
    leap = parse("29/02/2028")
    assert leap.same_span_last_year().start == date(2027, 2, 28)


def test_a_running_period_is_compared_over_the_same_span() -> None:
    """2026 seen on 2 December: 1/1–2/12/2026 against 1/1–2/12/2025 (not all of 2025)."""
    current, previous, year_ago = spans(parse("2026"), date(2026, 12, 2))
    assert current.display == "01/01/2026–02/12/2026"
    assert previous.display == "01/01/2025–02/12/2025"
    assert year_ago.display == "01/01/2025–02/12/2025"
    # May 2026 seen on 20 May: 1–20 May against 1–20 April and 1–20 May 2025.
    current, previous, year_ago = spans(parse("05/2026"), date(2026, 5, 20))
    assert (current.display, previous.display, year_ago.display) == (
        "01/05/2026–20/05/2026",
        "01/04/2026–20/04/2026",
        "01/05/2025–20/05/2025",
    )
    # A finished period is compared whole.
    current, previous, year_ago = spans(parse("Q1/2026"), date(2026, 5, 20))
    assert (current.display, previous.display, year_ago.display) == (
        "Q1/2026",
        "Q4/2025",
        "Q1/2025",
    )


def test_vietnamese_alphabetical_order() -> None:
    names = [
        "Xã Tân Lập",
        "Xã Đại Bình",
        "Xã Dực Yên",
        "Xã Quảng An",
        "Xã Quảng Tân",
        "Xã Ân Sơn",
        "Xã An Lạc",
        "Xã Ăn Uống",
        "Thị trấn Đầm Hà",
        "Xã Tân Bình",
    ]
    assert sorted(names, key=vi_key) == [
        "Thị trấn Đầm Hà",
        "Xã An Lạc",
        "Xã Ăn Uống",
        "Xã Ân Sơn",
        "Xã Dực Yên",
        "Xã Đại Bình",
        "Xã Quảng An",
        "Xã Quảng Tân",
        "Xã Tân Bình",
        "Xã Tân Lập",
    ]
    # Tones only break ties, in dictionary order: ma, mà, mả, mã, má, mạ.
    assert sorted(["mạ", "má", "mã", "mả", "mà", "ma"], key=vi_key) == [
        "ma",
        "mà",
        "mả",
        "mã",
        "má",
        "mạ",
    ]


@pytest.mark.parametrize(
    ("value", "digits", "lang", "text"),
    [
        (2732, 0, "vi", "2.732"),
        (-5, 1, "vi", "−5,0"),
        (84.567, 1, "vi", "84,6"),
        (1234567.891, 2, "vi", "1.234.567,89"),
        (2732, 0, "en", "2,732"),
        (-0.04, 1, "vi", "0,0"),
        (None, 1, "vi", "–"),
        (float("nan"), 1, "vi", "–"),
    ],
)
def test_numbers_are_written_one_way(value: object, digits: int, lang: str, text: str) -> None:
    assert display.number(value, digits, lang) == text


def test_signed_changes_and_the_zone_named() -> None:
    assert (display.signed(1.44), display.signed(-5), display.signed(0.01)) == (
        "+1,4",
        "−5,0",
        "±0,0",
    )
    assert display.zone_label("Asia/Ho_Chi_Minh") == "giờ Việt Nam (UTC+7)"
    stored = datetime(2026, 12, 2, 10, 45, 3, tzinfo=UTC)
    assert display.local_time(stored, "Asia/Ho_Chi_Minh") == "02/12/2026 17:45"
    assert display.local_iso(stored, "Asia/Ho_Chi_Minh") == "2026-12-02T17:45:03+07:00"


def _boxes(svg: str) -> list[tuple[float, float, float, float]]:
    out = []
    for x, y, text in re.findall(
        r'class="point-label" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]+)<', svg
    ):
        width = len(text) * charts.LABEL_CHAR_WIDTH
        top = float(y) - charts.LABEL_HEIGHT + 2
        out.append((float(x), top, float(x) + width, top + charts.LABEL_HEIGHT))
    return out


def test_the_importance_chart_keeps_labels_apart_and_says_what_its_axes_are() -> None:
    # CC1 and KQ2 at almost the same place used to print as "CCKQ2".
    drivers = [
        charts.Driver("CC1", 80.0, 0.50, "keep_up"),
        charts.Driver("KQ2", 80.4, 0.50, "keep_up"),
        charts.Driver("TT2", 80.2, 0.505, "keep_up"),
        charts.Driver("CC3", 79.8, 0.495, "keep_up"),
        charts.Driver("TC1", 70.0, 0.30, "fix_first"),
    ]
    svg = charts.importance_performance(
        drivers,
        "t",
        performance_split=78,
        importance_split=0.45,
        x_label="Mức độ hài lòng với tiêu chí (%)",
        y_label="Mức độ quan trọng",
    )
    boxes = _boxes(svg)
    assert len(boxes) == 5
    for a, b in combinations(boxes, 2):
        overlap_w = min(a[2], b[2]) - max(a[0], b[0])
        overlap_h = min(a[3], b[3]) - max(a[1], b[1])
        assert overlap_w <= 0 or overlap_h <= 0, (a, b)
    # Values on the y axis (0,3 … 0,6) and a plain axis title.
    ticks = re.findall(r'text-anchor="end"[^>]*>(0,\d)<', svg)
    assert len(ticks) >= 3
    assert "Mức độ quan trọng" in svg and "tương quan với câu HL" not in svg
