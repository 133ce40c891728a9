"""How numbers, times and periods are written for people, one way everywhere (pages, XLSX,
PDF, CSV): vi-VN numbers ("2.732", "84,6", "−5,0"), local times with the zone named."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

#: The true minus sign (U+2212), as the dashboard writes negative numbers.
MINUS = "\u2212"


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value) or (isinstance(value, float) and math.isnan(value))
    except (TypeError, ValueError):
        return str(value) in ("<NA>", "nan")


def number(value: Any, digits: int = 1, lang: str = "vi") -> str:
    """2732 → "2.732", 84.567 → "84,6", −5 → "−5,0" (vi); "2,732", "84.6", "−5.0" (en);
    missing → "–".

    >>> number(2732, 0), number(84.567), number(-5), number(-5, lang="en")
    ('2.732', '84,6', '−5,0', '−5.0')
    """
    if _missing(value):
        return "–"
    x = float(value)
    text = f"{abs(x):,.{digits}f}"
    if lang == "vi":
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    negative = x < 0 and any(c not in "0.," for c in text)
    return (MINUS if negative else "") + text


def signed(value: Any, digits: int = 1, lang: str = "vi") -> str:
    """A change with its sign: "+1,4", "−5,0", "±0,0"; missing → "–"."""
    if _missing(value):
        return "–"
    text = number(abs(float(value)), digits, lang)
    x = float(value)
    zero = all(c in "0.," for c in text)
    return ("±" if zero else "+" if x > 0 else MINUS) + text


def zone_label(zone: str, lang: str = "vi") -> str:
    """The zone as people say it: "giờ Việt Nam (UTC+7)" for Asia/Ho_Chi_Minh.

    >>> zone_label("Asia/Ho_Chi_Minh"), zone_label("Asia/Ho_Chi_Minh", "en")
    ('giờ Việt Nam (UTC+7)', 'Vietnam time (UTC+7)')
    """
    offset = datetime.now(ZoneInfo(zone)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    utc = f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
    if zone == "Asia/Ho_Chi_Minh":
        return f"giờ Việt Nam ({utc})" if lang == "vi" else f"Vietnam time ({utc})"
    return f"{zone} ({utc})"


def local_time(value: datetime | None, zone: str, pattern: str = "%d/%m/%Y %H:%M") -> str:
    """A stored (UTC) time in local time, e.g. "02/12/2026 17:45"; naive times are UTC."""
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(zone)).strftime(pattern)


def local_iso(value: datetime | None, zone: str) -> str:
    """A stored time as ISO 8601 in local time with its offset: "2026-12-02T17:45:03+07:00"."""
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")
