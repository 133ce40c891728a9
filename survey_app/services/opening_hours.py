"""A desk's opening hours: when its kiosk takes responses (local time, per weekday).

Stored on the desk as JSON, ``{"mon": ["07:30-11:30", "13:30-17:00"], …}``: a day that is not
listed is closed, and no hours at all (None) means always open. The kiosk client applies the same
rule on the tablet (kiosk/static/hours.js); the server uses it to flag a response begun while the
desk was closed, which only a tampered client can send.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, time
from typing import Any

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
INTERVAL = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")


class HoursError(ValueError):
    """Opening hours that cannot be used; the message says what to write instead."""


def _interval(text: str, day: str) -> tuple[time, time | None]:
    match = INTERVAL.match(text.strip())
    if match is None:
        raise HoursError(f"{day}: {text!r} is not HH:MM-HH:MM (e.g. 07:30-11:30)")
    start = time(int(match[1]), int(match[2]))
    end = None if match[3] == "24" else time(int(match[3]), int(match[4]))
    if match[3] == "24" and match[4] != "00":
        raise HoursError(f"{day}: {text!r} ends after 24:00")
    if end is not None and end <= start:
        raise HoursError(f"{day}: {text!r} ends before it starts")
    return start, end


def validate(hours: Any) -> dict[str, list[str]] | None:
    """The hours in their stored form (days in order, intervals sorted); raises HoursError."""
    if hours is None:
        return None
    if not isinstance(hours, Mapping):
        raise HoursError("opening hours must be a mapping of weekday to intervals")
    unknown = sorted(set(hours) - set(DAYS))
    if unknown:
        raise HoursError(f"unknown weekday {unknown[0]!r}; use {', '.join(DAYS)}")
    result: dict[str, list[str]] = {}
    for day in DAYS:
        intervals = hours.get(day)
        if not intervals:
            continue
        if not isinstance(intervals, list) or not all(isinstance(i, str) for i in intervals):
            raise HoursError(f"{day}: expected a list like ['07:30-11:30']")
        parsed = sorted((_interval(i, day), i.strip()) for i in intervals)
        for (previous, _), ((start, _end), text) in zip(parsed, parsed[1:], strict=False):
            if previous[1] is None or previous[1] > start:
                raise HoursError(f"{day}: {text!r} overlaps the interval before it")
        result[day] = [text for _, text in parsed]
    return result


def parse_spec(spec: str) -> dict[str, list[str]]:
    """Hours as an officer types them: ``mon-fri 07:30-11:30,13:30-17:00; sat 07:30-11:30``."""
    hours: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        days_text, _, intervals_text = part.partition(" ")
        days = _days(days_text.strip().lower())
        intervals = [i.strip() for i in intervals_text.split(",") if i.strip()]
        if not intervals:
            raise HoursError(f"{part!r}: give the hours after the days, e.g. 'mon-fri 07:30-17:00'")
        for day in days:
            hours.setdefault(day, []).extend(intervals)
    return validate(hours) or {}


def _days(text: str) -> list[str]:
    days: list[str] = []
    for piece in text.split(","):
        first, _, last = piece.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise HoursError(f"{piece!r}: weekdays are {', '.join(DAYS)} (ranges like mon-fri)")
        start, end = DAYS.index(first), DAYS.index(last or first)
        if end < start:
            raise HoursError(f"{piece!r}: a range goes forward, e.g. mon-fri")
        days.extend(DAYS[start : end + 1])
    return days


def is_open(hours: Mapping[str, list[str]] | None, local: datetime) -> bool:
    """Whether a desk with these hours is open at ``local`` (a time in the desk's zone)."""
    if hours is None:
        return True
    now = local.time().replace(second=0, microsecond=0)
    for text in hours.get(DAYS[local.weekday()], []):
        start, end = _interval(text, DAYS[local.weekday()])
        if start <= now and (end is None or now < end):
            return True
    return False


def runs(hours: Mapping[str, list[str]]) -> list[tuple[list[str], list[str]]]:
    """Consecutive days with the same intervals, in week order: ``[(["mon", …, "fri"], […])]``."""
    groups: list[tuple[list[str], list[str]]] = []
    for day in DAYS:
        intervals = list(hours.get(day, []))
        if not intervals:
            continue
        last = groups[-1] if groups else None
        if last and last[1] == intervals and DAYS.index(last[0][-1]) == DAYS.index(day) - 1:
            last[0].append(day)
        else:
            groups.append(([day], intervals))
    return groups


def describe(hours: Mapping[str, list[str]] | None) -> str:
    """One line for the CLI: ``mon-fri 07:30-11:30,13:30-17:00; sat 07:30-11:30``."""
    if hours is None:
        return "always open"
    groups = runs(hours)
    if not groups:
        return "always closed"
    return "; ".join(
        f"{days[0] if len(days) == 1 else f'{days[0]}-{days[-1]}'} {','.join(intervals)}"
        for days, intervals in groups
    )
