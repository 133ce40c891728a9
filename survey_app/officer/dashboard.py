"""Scores at a glance: a unit's SIPAS and elements with n and intervals, the monthly trend,
the ranking of the units below it, targets, drivers, desks and alerts; and a desk's page.

Views pick values out of analysis/ results (via survey_app.services.scorecards); they compute none.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from flask import current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

import analysis
import questionnaires

from ..db import get_session
from ..errors import friendly_abort
from ..services import (
    charts,
    dashboard,
    feedback,
    field_register,
    periods,
    scorecards,
    unit_history,
)
from ..services.index_codes import headline_codes
from ..services.periods import Period
from ..services.scorecards import DeskCard, Scorecard, ScorecardSettings
from . import bp
from .access import (
    current_scope,
    desk_or_abort,
    period_from_args,
    questionnaire_from_args,
    scope_roots,
    tree,
    unit_or_abort,
    view_from_args,
)
from .formatting import is_missing, labels


def _value(value: Any) -> Any:
    return None if is_missing(value) else value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as dicts, pandas' missing values as None (templates test for None)."""
    return [
        {str(key): _value(value) for key, value in row.items()}
        for row in frame.to_dict(orient="records")
    ]


@bp.get("/")
def home() -> ResponseReturnValue:
    roots = scope_roots()
    if not roots:
        friendly_abort(404, _("Chưa có đơn vị"), _("Chưa có đơn vị nào. Hãy nạp dữ liệu."))
    return redirect(url_for("officer.unit_dashboard", code=roots[0].code))


def _config(name: str) -> Any:
    return current_app.config[name]


def scorecard_for(code: str) -> Scorecard:
    """The scorecard of a unit in the officer's scope for the period and questionnaire asked."""
    unit = unit_or_abort(code)
    period = period_from_args()
    q = questionnaire_from_args()
    view = view_from_args()
    try:
        settings = ScorecardSettings.from_config(current_app.config)
        return scorecards.unit_scorecard(get_session(), tree(), unit, period, q, settings, view)
    except analysis.AnalysisError as error:
        current_app.logger.warning("scoring %s failed: %s", unit.code, error)
        friendly_abort(
            422,
            _("Không tính được chỉ số"),
            _("Dữ liệu của đơn vị này chưa tính được chỉ số: %(error)s", error=str(error)[:300]),
        )


def headline_for(card: Scorecard, names: dict[str, str]) -> dashboard.Headline:
    """The headline: every desk form pooled (the default, ``q=all``) or the form asked."""
    asked = request.args.get("q", "").strip() or dashboard.ALL_FORMS
    forms = dashboard.POOLED_FORMS if asked == dashboard.ALL_FORMS else (card.questionnaire.id,)
    result = dashboard.headline(
        get_session(),
        tree(),
        card.unit,
        card.period,
        forms=forms,
        weighting=str(current_app.config["POOLING"]),
        min_n=card.min_n,
        zone=str(current_app.config["TIME_ZONE"]),
        targets=dashboard.unit_targets(card),
        view=card.view,
        score_flagged=str(current_app.config.get("SCORE_FLAGGED", "exclude")),
    )
    for row in result.rows:
        row["label"] = (
            _("Hài lòng chung (câu HL)")
            if row["code"] == "HL"
            else names.get(row["code"], row["label_vi"])
        )
    return result


def children_rows(card: Scorecard) -> list[dict[str, Any]]:
    return dashboard.children_rows(card, tree())


trend_rows = dashboard.trend_rows
driver_rows = dashboard.driver_rows
sipas_target = dashboard.sipas_target


bar_label = dashboard.bar_label
short_month = dashboard.short_month


def month_labels(card: Scorecard | DeskCard) -> list[str]:
    return card.months


def chart_texts() -> dashboard.ChartTexts:
    """The dashboard charts' titles in the page's language."""
    return dashboard.ChartTexts(
        elements=_("Chỉ số SIPAS và 5 yếu tố, khoảng tin cậy 95%"),
        trend=_("Chỉ số SIPAS theo tháng"),
        ranking=_("Chỉ số SIPAS của các đơn vị trực thuộc"),
        drivers=_("Tầm quan trọng và mức độ hài lòng của từng tiêu chí"),
        drivers_x=_("Mức độ hài lòng với tiêu chí (%)"),
        drivers_y=_("Mức độ quan trọng"),
    )


def charts_for(
    card: Scorecard,
    names: dict[str, str],
    headline: list[dict[str, Any]],
    children: list[dict[str, Any]],
    trend: list[dict[str, Any]],
    drivers: list[dict[str, Any]],
    font: str = charts.WEB_FONT,
) -> dict[str, str]:
    """The dashboard's charts (services/dashboard.py draws them; also in the PDF report)."""
    return dashboard.charts_for(card, headline, children, trend, drivers, chart_texts(), font)


def _successors(card: Scorecard) -> list[Any]:
    """Today's unit the data of a unit that no longer exists counts for (none if it exists)."""
    if card.unit.valid_to is None:
        return []
    today = unit_history.today_unit_id(tree(), card.unit.id)
    return [tree().units[today]] if today != card.unit.id else []


def dashboard_context(card: Scorecard) -> dict[str, Any]:
    names = labels(card.questionnaire)
    head = headline_for(card, names)
    headline = [r for r in head.rows if r["code"] != "HL"] or [
        {
            "code": c,
            "label": names.get(c, c),
            "index": None,
            "ci_low": None,
            "ci_high": None,
            "min_n_flag": True,
            "n": 0,
            "target": None,
        }
        for c in card.headline_codes
    ]
    children = children_rows(card)
    trend = trend_rows(card.trend, month_labels(card))
    drivers = driver_rows(card.drivers, names)
    kept = {r["code"]: r for r in records(card.kept_all)}
    counts = card.counts[card.counts["unit_code"] == card.unit.code]
    stored = unit_history.unit_ids_for(tree(), card.unit.id, card.view)
    desk_names = {d.code: d for d in field_register.desks_of(get_session(), set(stored))}
    targets = dashboard.target_rows(card, tree(), names)
    unhandled, undecided = feedback.open_counts(get_session(), tree().subtree_ids(card.unit.id))
    return {
        "card": card,
        "unit": card.unit,
        "lineage": tree().ancestors(card.unit),
        "successors": _successors(card),
        "names": names,
        "head": head,
        "headline": headline,
        "all_forms": request.args.get("q", "").strip() in ("", dashboard.ALL_FORMS),
        "children": children,
        "trend": trend,
        "drivers": drivers,
        "items": dashboard.item_rows(card, names),
        "kept": kept,
        "counts": records(counts)[0] if len(counts) else {},
        "desk_rows": dashboard.desk_rows(card),
        "desk_names": desk_names,
        "targets": targets,
        "drops": card.drops,
        "unhandled": unhandled,
        "undecided": undecided,
        "charts": charts_for(card, names, headline, children, trend, drivers),
        "questionnaires": sorted(questionnaires.available()),
        "scope": current_scope(),
        "recent_periods": recent_periods(card.period),
    }


def recent_periods(period: Period) -> list[Period]:
    """The picker's choices: this year and last, their quarters and the last 12 months."""
    zone = current_app.config["TIME_ZONE"]
    this = periods.current_year(zone)
    today = dashboard.zone_today(zone)
    months = periods.last_months(today, 12)[::-1]
    quarters = [periods.quarter(this.start.year, q) for q in range(4, 0, -1)]
    out = [this, this.previous(), *[q for q in quarters if q.start <= today], *months]
    return out if period in out else [period, *out]


@bp.get("/units/<code>")
def unit_dashboard(code: str) -> ResponseReturnValue:
    card = scorecard_for(code)
    return render_template("officer/dashboard.html", **dashboard_context(card))


@bp.get("/desks/<code>")
def desk_page(code: str) -> ResponseReturnValue:
    desk = desk_or_abort(code)
    period = period_from_args()
    try:
        card = scorecards.desk_scorecard(
            get_session(), desk, period, ScorecardSettings.from_config(current_app.config)
        )
    except analysis.AnalysisError as error:
        friendly_abort(
            422,
            _("Không tính được chỉ số"),
            _("Dữ liệu của quầy này chưa tính được chỉ số: %(error)s", error=str(error)[:300]),
        )
    names = labels(card.questionnaire)
    table = records(
        card.table[card.table["level"].isin(["overall", "element", "item", "overall_question"])]
    )
    for row in table:
        row["label"] = names.get(row["code"], row["label_vi"])
    trend = trend_rows(card.trend, month_labels(card))
    chart = charts.trend_line(
        dashboard.trend_points(trend),
        _("Chỉ số SIPAS theo tháng"),
    )
    headline = [r for r in table if r["code"] in headline_codes(card.questionnaire)]
    bars = charts.index_bars(
        [
            charts.Bar(bar_label(r), r["index"], r["ci_low"], r["ci_high"], bool(r["min_n_flag"]))
            for r in headline
        ],
        _("Chỉ số SIPAS và 5 yếu tố, khoảng tin cậy 95%"),
    )
    return render_template(
        "officer/desk.html",
        desk=desk,
        card=card,
        table=table,
        trend=trend,
        trend_chart=chart,
        bars=bars,
        lineage=[*tree().ancestors(desk.unit), desk.unit],
    )
