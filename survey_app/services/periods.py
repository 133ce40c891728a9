"""Reporting periods as officers and the API name them: ``2026``, ``2026-Q2``, ``2026-05``.

A period is a range of local dates (Asia/Ho_Chi_Minh by default); its label is the one
analysis/ writes for calendar periods, so targets set "for 2026" join the 2026 scores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from analysis import PeriodRange

_YEAR = re.compile(r"^([0-9]{4})$")
_QUARTER = re.compile(r"^([0-9]{4})-Q([1-4])$")
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
#: Years a period may name: SIPAS began in 2017; nothing is planned past 2100.
FIRST_YEAR, LAST_YEAR = 2000, 2100


class PeriodError(ValueError):
    """A period label that names no period (the message says what is expected)."""


@dataclass(frozen=True)
class Period:
    """A calendar year, quarter or month of local dates, both ends included."""

    label: str
    kind: str
    start: date
    end: date

    def as_range(self) -> PeriodRange:
        return PeriodRange(self.label, self.start, self.end)

    def utc_bounds(self, zone: str) -> tuple[datetime, datetime]:
        """[start, end) in UTC: from local midnight of the first day to that after the last."""
        tz = ZoneInfo(zone)
        first = datetime.combine(self.start, time(), tz).astimezone(UTC)
        after = datetime.combine(self.end + timedelta(days=1), time(), tz).astimezone(UTC)
        return first, after

    def previous(self) -> Period:
        """The period of the same kind just before (2025 for 2026, 2026-Q1 for 2026-Q2)."""
        if self.kind == "year":
            return year(self.start.year - 1)
        if self.kind == "quarter":
            q = (self.start.month - 1) // 3  # 0-based
            y, q = (self.start.year, q - 1) if q else (self.start.year - 1, 3)
            return quarter(y, q + 1)
        y, m = (
            (self.start.year, self.start.month - 1)
            if self.start.month > 1
            else (
                self.start.year - 1,
                12,
            )
        )
        return month(y, m)

    def months(self) -> list[Period]:
        """The months of this period, in order."""
        out, y, m = [], self.start.year, self.start.month
        while date(y, m, 1) <= self.end:
            out.append(month(y, m))
            y, m = (y, m + 1) if m < 12 else (y + 1, 1)
        return out


def _check_year(value: int) -> int:
    if not FIRST_YEAR <= value <= LAST_YEAR:
        raise PeriodError(f"the year must be from {FIRST_YEAR} to {LAST_YEAR}, got {value}")
    return value


def year(y: int) -> Period:
    return Period(f"{y:04d}", "year", date(y, 1, 1), date(y, 12, 31))


def quarter(y: int, q: int) -> Period:
    first = date(y, 3 * (q - 1) + 1, 1)
    last = month(y, 3 * q).end
    return Period(f"{y:04d}-Q{q}", "quarter", first, last)


def month(y: int, m: int) -> Period:
    if not 1 <= m <= 12:
        raise PeriodError(f"the month must be from 01 to 12, got {m:02d}")
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    return Period(f"{y:04d}-{m:02d}", "month", date(y, m, 1), nxt - timedelta(days=1))


def parse(label: str) -> Period:
    """``2026`` (a year), ``2026-Q2`` (a quarter) or ``2026-05`` (a month).

    >>> parse("2026-Q2").end
    datetime.date(2026, 6, 30)
    """
    # Only a parsed year is bounded: the period before 2000 or a trend reaching back from it
    # is built from it and must not fail (it simply holds no responses).
    text = (label or "").strip()
    if found := _YEAR.match(text):
        return year(_check_year(int(found[1])))
    if found := _QUARTER.match(text):
        return quarter(_check_year(int(found[1])), int(found[2]))
    if found := _MONTH.match(text):
        return month(_check_year(int(found[1])), int(found[2]))
    raise PeriodError(
        f"a period is a year (2026), a quarter (2026-Q2) or a month (2026-05), got {text[:20]!r}"
    )


def current_year(zone: str) -> Period:
    return year(datetime.now(ZoneInfo(zone)).year)


def last_months(end: date, count: int) -> list[Period]:
    """The ``count`` calendar months ending with the month of ``end``, oldest first."""
    y, m = end.year, end.month
    out = []
    for _ in range(count):
        out.append(month(y, m))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]
