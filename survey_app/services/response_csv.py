"""How the responses CSV reads: codes (for analysis, re-scorable by ``sipas score``) or words
(for people: column titles, answers, channels and flags in Vietnamese), and its times in local
time with the offset or the zone named. The CSV writers (reports/csv.py, the background
export) call these; they decide nothing about wording themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import questionnaires
from analysis import SYSTEM_COLUMNS

from . import vocabulary
from .display import zone_label


@dataclass(frozen=True)
class CsvStyle:
    """``labels``: words instead of codes; ``zone``: the local time zone of the times."""

    labels: bool = False
    zone: str = "Asia/Ho_Chi_Minh"
    lang: str = "vi"

    @classmethod
    def from_choice(cls, choice: str | None, zone: str, lang: str = "vi") -> CsvStyle:
        """``?format=labels`` → words; anything else (``codes``, empty) → codes."""
        return cls(
            labels=(choice or "").strip().lower() in ("labels", "nhan", "nhãn"),
            zone=zone,
            lang=lang,
        )


def submitted_text(value: datetime, style: CsvStyle) -> str:
    """A response time: ISO 8601 in local time with its offset for codes
    ("2026-12-02T17:45:03+07:00", which analysis/ reads back exactly), "02/12/2026 17:45:03"
    for words (the header names the zone)."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    local = aware.astimezone(ZoneInfo(style.zone))
    if style.labels:
        return local.strftime("%d/%m/%Y %H:%M:%S")
    return local.isoformat(timespec="seconds")


def _system_titles(style: CsvStyle) -> dict[str, str]:
    from flask_babel import gettext as _

    return {
        "response_id": _("Mã phiếu"),
        "submitted_at": _("Thời điểm gửi – %(zone)s", zone=zone_label(style.zone, style.lang)),
        "unit_code": _("Mã đơn vị"),
        "desk_code": _("Mã quầy"),
        "service_code": _("Mã thủ tục"),
        "channel": _("Kênh"),
        "questionnaire": _("Mẫu phiếu"),
        "questionnaire_version": _("Phiên bản phiếu"),
        "valid": _("Hợp lệ"),
        "flags": _("Cờ kiểm tra"),
        "weight": _("Trọng số"),
        "comment": _("Ý kiến"),
    }


def _items(ids: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for qid in ids:
        for code, item in questionnaires.get(qid).items.items():
            found.setdefault(code, item)
    return found


def header_row(codes: Sequence[str], ids: Sequence[str], style: CsvStyle) -> list[str]:
    """The header: the wide format's codes, or "TC1 – Nơi làm thủ tục có biển hiệu…"."""
    columns = [*SYSTEM_COLUMNS, *codes, "comment"]
    if not style.labels:
        return columns
    titles = _system_titles(style)
    items = _items(ids)
    out = []
    for column in columns:
        if column in titles:
            out.append(titles[column])
        elif column in items:
            item = items[column]
            out.append(f"{column} – {(item.short or item.text).get(style.lang)}")
        else:
            out.append(column)
    return out


def label_row(
    row: Sequence[Any], codes: Sequence[str], ids: Sequence[str], style: CsvStyle
) -> list[Any]:
    """A row written with codes (``header_row`` order) in words: answers as their option
    labels, channel, form, validity and flags in words. Codes rows pass through unchanged."""
    if not style.labels:
        return list(row)
    items = _items(ids)
    channels = vocabulary.channel_names()
    forms = vocabulary.form_names()
    flags = vocabulary.flag_names()
    flags["excluded_by_review"] = _excluded_words()
    n = len(SYSTEM_COLUMNS)
    system = dict(zip(SYSTEM_COLUMNS, row[:n], strict=True))
    system["channel"] = channels.get(str(system["channel"]), system["channel"])
    system["questionnaire"] = forms.get(str(system["questionnaire"]), system["questionnaire"])
    system["valid"] = vocabulary.yes_no(str(system["valid"]) in ("1", "True", "true"))
    raw_flags = str(system["flags"] or "")
    system["flags"] = ", ".join(
        flags.get(f, f) for f in (p.strip() for p in raw_flags.replace(";", ",").split(",")) if f
    )
    answers = []
    for code, value in zip(codes, row[n : n + len(codes)], strict=True):
        answers.append(_answer_text(items.get(code), value, style.lang))
    return [*(system[c] for c in SYSTEM_COLUMNS), *answers, *row[n + len(codes) :]]


def _excluded_words() -> str:
    from flask_babel import gettext as _

    return str(_("bị loại khi rà soát"))


def _answer_text(item: Any, value: Any, lang: str) -> Any:
    if item is None or value in (None, ""):
        return value
    try:
        code = int(value)
    except (TypeError, ValueError):
        return value
    if code == 0 and item.not_applicable is not None:
        return item.not_applicable.get(lang)
    options = item.scale.options if item.scale is not None else ()
    for option in options:
        if option.code == code:
            return option.label.get(lang)
    return value
