"""How numbers and labels read on officer pages: decimal comma in Vietnamese, a dash for
nothing, labels in the page's language."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from jinja2 import Undefined
from wtforms.fields.choices import SelectChoice

from questionnaires import Questionnaire

from ..i18n import current_language
from . import bp


def is_missing(value: Any) -> bool:
    if value is None or isinstance(value, Undefined):
        return True
    try:
        return bool(value != value) or (isinstance(value, float) and math.isnan(value))
    except (TypeError, ValueError):
        return str(value) in ("<NA>", "nan")


@bp.app_template_filter("num")
def number(value: Any, digits: int = 1) -> str:
    """84.567 → "84,6" (vi) or "84.6" (en); missing → "–"."""
    if is_missing(value):
        return "–"
    text = f"{float(value):,.{digits}f}"
    if current_language() == "vi":
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text


@bp.app_template_filter("signed")
def signed(value: Any, digits: int = 1) -> str:
    if is_missing(value):
        return "–"
    text = number(abs(float(value)), digits)
    return ("+" if float(value) > 0 else "−" if float(value) < 0 else "±") + text


@bp.app_template_filter("pvalue")
def p_value(value: Any) -> str:
    if is_missing(value):
        return "–"
    return (
        "< 0,001"
        if float(value) < 0.001 and current_language() == "vi"
        else ("< 0.001" if float(value) < 0.001 else number(value, 3))
    )


@bp.app_template_filter("count")
def whole(value: Any) -> str:
    if is_missing(value):
        return "–"
    return number(int(value), 0)


def labels(questionnaire: Questionnaire) -> dict[str, str]:
    """Index and item codes → labels in the page's language."""
    lang = current_language()
    out = {node.code: node.label.get(lang) for node in questionnaire.index.walk()}
    for item in questionnaire.items.values():
        out[item.code] = (item.short or item.text).get(lang)
    return out


@bp.context_processor
def workspace_names() -> dict[str, Any]:
    """Names the workspace pages show (roles, quadrants): also given to the reports pages."""
    from flask import current_app
    from flask_babel import gettext as _

    from ..services import display, vocabulary

    return {
        "zone_name": display.zone_label(current_app.config["TIME_ZONE"], current_language()),
        "form_names": vocabulary.form_names(),
        "channel_names": vocabulary.channel_names(),
        "level_names": vocabulary.level_names(),
        "flag_names": vocabulary.flag_names(),
        "event_name": vocabulary.event_name,
        "describe_detail": vocabulary.describe_detail,
        "role_names": {
            "admin": _("Quản trị viên"),
            "officer": _("Cán bộ đơn vị"),
            "viewer": _("Người xem"),
        },
        "quadrant_names": {
            "fix_first": _("Ưu tiên cải thiện"),
            "keep_up": _("Tiếp tục duy trì"),
            "low_priority": _("Cải thiện sau"),
            "possible_overkill": _("Có thể đang đầu tư thừa"),
        },
    }


def options(pairs: Iterable[tuple[str, Any]]) -> list[SelectChoice]:
    """Choices of a select, radio or checkbox field (WTForms 3.3 wants SelectChoice)."""
    return [SelectChoice(value, str(label)) for value, label in pairs]


@bp.app_template_filter("day_before")
def day_before(value: date) -> str:
    """The last day a unit existed, from its ``valid_to`` (the first day it did not)."""
    return (value - timedelta(days=1)).strftime("%d/%m/%Y")
