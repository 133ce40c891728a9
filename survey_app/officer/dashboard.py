"""Scores at a glance: a unit's SIPAS and elements with n and intervals, the monthly trend,
the ranking of the units below it, targets, drivers, desks and alerts; and a desk's page.

Views pick values out of analysis/ results (via survey_app.services.scorecards); they compute none.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from flask import current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

import analysis
import questionnaires

from ..db import get_session
from ..errors import friendly_abort
from ..services import charts, feedback, field_register, scorecards, unit_history
from ..services.index_codes import headline_codes
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


def headline_rows(card: Scorecard, names: dict[str, str]) -> list[dict[str, Any]]:
    rows = card.headline().reset_index()
    earlier = card.previous_table
    before = earlier[earlier["unit_code"] == card.unit.code].set_index("code")["index"]
    out = []
    for row in records(rows):
        row["label"] = names.get(row["code"], row["label_vi"])
        previous = _value(before.get(row["code"]))
        row["previous"] = previous
        row["change"] = (
            None if previous is None or row["index"] is None else row["index"] - previous
        )
        out.append(row)
    return out


def children_rows(card: Scorecard) -> list[dict[str, Any]]:
    # Today's view lists today's units; "as it was" those that existed in the period.
    kids = [
        u
        for u in tree().children.get(card.unit.id, [])
        if (
            u.valid_to is None
            if card.view == "today"
            else u.exists_during(card.period.start, card.period.end)
        )
    ]
    table = card.table[card.table["code"] == "SIPAS"].set_index("unit_code")
    out = []
    for unit in kids:
        row: dict[str, Any] = dict.fromkeys(
            ("index", "ci_low", "ci_high", "rank", "rank_change", "target", "gap"), None
        )
        row.update(n=0, min_n_flag=True)
        if unit.code in table.index:
            row.update({str(k): _value(v) for k, v in table.loc[unit.code].items()})
        row["unit"] = unit
        out.append(row)
    return sorted(out, key=lambda r: (r.get("rank") is None, r.get("rank") or 0, r["unit"].name))


def trend_rows(card_trend: pd.DataFrame, months: list[str]) -> list[dict[str, Any]]:
    sipas = card_trend[card_trend["code"] == "SIPAS"].set_index("period")
    out = []
    for label in months:
        row: dict[str, Any] = (
            {str(k): _value(v) for k, v in sipas.loc[label].items()} if label in sipas.index else {}
        )
        row["period"] = label
        out.append(row)
    return out


def bar_label(row: dict[str, Any]) -> str:
    """SIPAS alone; an element as "TC · Tiếp cận dịch vụ"."""
    return "SIPAS" if row["code"] == "SIPAS" else f"{row['code']} · {row['label']}"


def short_month(label: str) -> str:
    """2026-05 → 05/26 (chart axes have little room)."""
    year, _sep, month = label.partition("-")
    return f"{month}/{year[2:]}" if month else label


def month_labels(card: Scorecard | DeskCard) -> list[str]:
    return card.months


def sipas_target(card: Scorecard) -> float | None:
    rows = card.unit_rows()
    found = rows.loc[rows["code"] == "SIPAS", "target"] if "target" in rows else pd.Series()
    return None if found.empty or is_missing(found.iloc[0]) else float(found.iloc[0])


def driver_rows(card_drivers: pd.DataFrame, names: dict[str, str]) -> list[dict[str, Any]]:
    rows = records(card_drivers)
    for row in rows:
        row["label"] = names.get(row["item"], row["label_vi"])
    return rows


def charts_for(
    card: Scorecard,
    names: dict[str, str],
    headline: list[dict[str, Any]],
    children: list[dict[str, Any]],
    trend: list[dict[str, Any]],
    drivers: list[dict[str, Any]],
    font: str = charts.WEB_FONT,
) -> dict[str, str]:
    """The dashboard's charts (also drawn in the PDF report, with its font)."""
    out = {
        "elements": charts.index_bars(
            [
                charts.Bar(
                    bar_label(r),
                    r["index"],
                    r["ci_low"],
                    r["ci_high"],
                    bool(r["min_n_flag"]),
                    r.get("target"),
                )
                for r in headline
            ],
            _("Chỉ số SIPAS và 5 yếu tố, khoảng tin cậy 95%"),
            font=font,
        ),
        "trend": charts.trend_line(
            [
                charts.Point(
                    short_month(r["period"]),
                    r.get("index"),
                    r.get("ci_low"),
                    r.get("ci_high"),
                    bool(r.get("min_n_flag")),
                )
                for r in trend
            ],
            _("Chỉ số SIPAS theo tháng"),
            target=sipas_target(card),
            font=font,
        ),
    }
    if children:
        out["ranking"] = charts.index_bars(
            [
                charts.Bar(
                    r["unit"].name,
                    r.get("index"),
                    r.get("ci_low"),
                    r.get("ci_high"),
                    bool(r.get("min_n_flag")),
                    r.get("target"),
                )
                for r in children
            ],
            _("Chỉ số SIPAS của các đơn vị trực thuộc"),
            font=font,
            label_width=230,
        )
    plotted = [d for d in drivers if d.get("quadrant") not in (None, "None")]
    if plotted:
        out["drivers"] = charts.importance_performance(
            [
                charts.Driver(d["item"], d["performance"], d["importance"], d["quadrant"])
                for d in plotted
            ],
            _("Tầm quan trọng và mức độ hài lòng của từng tiêu chí"),
            performance_split=sum(d["performance"] for d in plotted) / len(plotted),
            importance_split=sum(d["importance"] for d in plotted) / len(plotted),
            x_label=_("chỉ số tiêu chí (%)"),
            y_label=_("tầm quan trọng (tương quan với câu HL)"),
            font=font,
        )
    return out


def _successors(card: Scorecard) -> list[Any]:
    """Today's unit the data of a unit that no longer exists counts for (none if it exists)."""
    if card.unit.valid_to is None:
        return []
    today = unit_history.today_unit_id(tree(), card.unit.id)
    return [tree().units[today]] if today != card.unit.id else []


def dashboard_context(card: Scorecard) -> dict[str, Any]:
    names = labels(card.questionnaire)
    headline = headline_rows(card, names)
    children = children_rows(card)
    trend = trend_rows(card.trend, month_labels(card))
    drivers = driver_rows(card.drivers, names)
    unit_rows = card.unit_rows()
    items = records(unit_rows[unit_rows["level"].isin(["element", "item", "overall_question"])])
    for row in items:
        row["label"] = names.get(row["code"], row["label_vi"])
    kept = {r["code"]: r for r in records(card.kept_all)}
    counts = card.counts[card.counts["unit_code"] == card.unit.code]
    stored = unit_history.unit_ids_for(tree(), card.unit.id, card.view)
    desk_names = {d.code: d for d in field_register.desks_of(get_session(), set(stored))}
    desks = card.desks
    desk_rows = records(desks[desks["code"] == "SIPAS"]) if len(desks) else []
    targets = (
        [r for r in records(card.table[card.table["target"].notna()])]
        if "target" in card.table
        else []
    )
    for row in targets:
        row["unit"] = tree().by_code.get(row["unit_code"])
        row["label"] = names.get(row["code"], row["label_vi"])
    unhandled, undecided = feedback.open_counts(get_session(), tree().subtree_ids(card.unit.id))
    return {
        "card": card,
        "unit": card.unit,
        "lineage": tree().ancestors(card.unit),
        "successors": _successors(card),
        "names": names,
        "headline": headline,
        "children": children,
        "trend": trend,
        "drivers": drivers,
        "items": items,
        "kept": kept,
        "counts": records(counts)[0] if len(counts) else {},
        "desk_rows": desk_rows,
        "desk_names": desk_names,
        "targets": targets,
        "drops": card.drops,
        "unhandled": unhandled,
        "undecided": undecided,
        "charts": charts_for(card, names, headline, children, trend, drivers),
        "questionnaires": sorted(questionnaires.available()),
        "scope": current_scope(),
    }


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
        [
            charts.Point(
                short_month(r["period"]),
                r.get("index"),
                r.get("ci_low"),
                r.get("ci_high"),
                bool(r.get("min_n_flag")),
            )
            for r in trend
        ],
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
