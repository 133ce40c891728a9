"""Reporting periods as officers and the API name them: ``2026``, ``2026-Q2``, ``2026-05``,
as the app prints them (``Q2/2026``, ``05/2026``) or as a range of days
(``01/05/2026 - 20/05/2026``, ``2026-05-01..2026-05-20``).

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
# As the app prints them: "Q2/2026" (also "Q2-2026", "quý 2/2026"), "05/2026" (also "5/2026").
_QUARTER_VI = re.compile(r"^(?:Q|QUÝ\s*)([1-4])\s*[/-]\s*([0-9]{4})$", re.IGNORECASE)
_MONTH_VI = re.compile(r"^(?:THÁNG\s*)?([0-9]{1,2})\s*[/-]\s*([0-9]{4})$", re.IGNORECASE)
_DAY = r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})"
_ISO_DAY = r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
_DAY_RANGE = re.compile(rf"^{_DAY}(?:\s*(?:-|–|—|\.\.|đến|to)\s*{_DAY})?$", re.IGNORECASE)
_ISO_RANGE = re.compile(rf"^{_ISO_DAY}(?:\s*(?:\.\.|/|–)\s*{_ISO_DAY})?$")
#: The longest range of days a period may span (a longer one is a typing mistake).
MAX_RANGE_DAYS = 3 * 366
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

    @property
    def display(self) -> str:
        """As people write it: ``2026``, ``Q2/2026``, ``05/2026``, ``01/05/2026–20/05/2026``."""
        if self.kind == "quarter":
            return f"Q{(self.start.month - 1) // 3 + 1}/{self.start.year}"
        if self.kind == "month":
            return f"{self.start.month:02d}/{self.start.year}"
        if self.kind == "year":
            return self.label
        return f"{self.start:%d/%m/%Y}–{self.end:%d/%m/%Y}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def until(self, last: date) -> Period:
        """The part of this period up to ``last`` (the whole period when ``last`` is later)."""
        if last >= self.end:
            return self
        if last < self.start:
            return self
        return days(self.start, last)

    def same_span_last_year(self) -> Period:
        """The same calendar span one year earlier ("cùng kỳ năm trước")."""
        if self.kind == "year":
            return year(self.start.year - 1)
        if self.kind == "quarter":
            return quarter(self.start.year - 1, (self.start.month - 1) // 3 + 1)
        if self.kind == "month":
            return month(self.start.year - 1, self.start.month)
        return days(_year_back(self.start), _year_back(self.end))

    def previous(self) -> Period:
        """The period of the same kind just before (2025 for 2026, 2026-Q1 for 2026-Q2; for a
        range of days, as many days just before)."""
        if self.kind == "custom":
            last = self.start - timedelta(days=1)
            return days(last - timedelta(days=self.days - 1), last)
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


def _year_back(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def days(first: date, last: date) -> Period:
    """A range of days, both included (label ``2026-05-01..2026-05-20``, which parse reads)."""
    if last < first:
        raise PeriodError(
            f"a range of days must end after it starts, got {first:%d/%m/%Y} – {last:%d/%m/%Y}"
        )
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise PeriodError(f"a range of days is at most {MAX_RANGE_DAYS} days long")
    if first == date(first.year, 1, 1) and last == date(first.year, 12, 31):
        return year(first.year)
    return Period(f"{first.isoformat()}..{last.isoformat()}", "custom", first, last)


def _day(d: str, m: str, y: str) -> date:
    try:
        return date(_check_year(int(y)), int(m), int(d))
    except ValueError as error:
        if isinstance(error, PeriodError):
            raise
        raise PeriodError(f"no such day: {d}/{m}/{y}") from None


def parse(label: str) -> Period:
    """A year (``2026``), quarter (``2026-Q2``, ``Q2/2026``), month (``2026-05``, ``05/2026``)
    or range of days (``01/05/2026 - 20/05/2026``, ``2026-05-01..2026-05-20``, one day alone).

    >>> parse("2026-Q2").end
    datetime.date(2026, 6, 30)
    >>> parse("Q2/2026") == parse("2026-Q2"), parse("5/2026").label
    (True, '2026-05')
    >>> parse("01/05/2026 - 20/05/2026").label
    '2026-05-01..2026-05-20'
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
    if found := _QUARTER_VI.match(text):
        return quarter(_check_year(int(found[2])), int(found[1]))
    if found := _MONTH_VI.match(text):
        return month(_check_year(int(found[2])), int(found[1]))
    if found := _DAY_RANGE.match(text):
        first = _day(found[1], found[2], found[3])
        last = _day(found[4], found[5], found[6]) if found[4] else first
        return days(first, last)
    if found := _ISO_RANGE.match(text):
        first = _day(found[3], found[2], found[1])
        last = _day(found[6], found[5], found[4]) if found[4] else first
        return days(first, last)
    raise PeriodError(
        "a period is a year (2026), a quarter (Q2/2026 or 2026-Q2), a month (05/2026 or "
        f"2026-05) or a range of days (01/05/2026 - 20/05/2026), got {text[:40]!r}"
    )


def parse_label(label: str) -> Period:
    """Only the canonical labels (``2026``, ``2026-Q2``, ``2026-05``): what the JSON API's
    OpenAPI document promises; people's formats are for :func:`parse`."""
    text = (label or "").strip()
    if not (_YEAR.match(text) or _QUARTER.match(text) or _MONTH.match(text)):
        raise PeriodError(
            "a period is a year (2026), a quarter (2026-Q2) or a month (2026-05), "
            f"got {text[:20]!r}"
        )
    return parse(text)


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
