"""Endpoints of /api/v1: units, scores (tidy, SIPAS.md §7), targets and gaps, raw anonymous
responses (paged), and the OpenAPI document that describes them."""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

import pandas as pd
from flask import current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

import analysis
import questionnaires

from ..db import get_session
from ..errors import JsonError
from ..models import ApiToken, Unit, utcnow
from ..services import accounts, periods, scorecards, unit_history, wide_export
from ..services.accounts import Scope
from . import bp
from . import openapi as openapi_document
from .openapi import SCORE_COLUMNS, TARGET_COLUMNS

UNIT_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}$")
KNOWN_PARAMETERS = {
    "api.units": set(),
    "api.scores": {"unit", "period", "q", "view"},
    "api.targets": {"unit", "period", "q", "view"},
    "api.responses": {"unit", "period", "page", "page_size", "view"},
}


def api_error(status: int, error: str, message: str) -> NoReturn:
    raise JsonError(status, error, message, realm="sipas")


@bp.before_request
def _authenticate() -> None:
    if request.endpoint in (None, "api.openapi"):
        return
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        api_error(401, "unauthorized", "send an API token: Authorization: Bearer <token>")
    db = get_session()
    token = accounts.find_token(db, secret.strip())
    if token is None:
        current_app.logger.warning("API: unknown or revoked token from %s", request.remote_addr)
        api_error(401, "unauthorized", "the API token is unknown or revoked")
    token.last_used_at = utcnow()
    db.commit()
    g.api_token = token
    unknown = set(request.args) - KNOWN_PARAMETERS.get(request.endpoint, set())
    if unknown:
        api_error(400, "bad_parameter", f"unknown parameter(s): {', '.join(sorted(unknown))}")


@bp.after_request
def _headers(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    return response


def _token() -> ApiToken:
    token: ApiToken = g.api_token
    return token


def _scope() -> Scope:
    return accounts.scope_of(accounts.unit_tree(get_session()), _token().unit_id)


def _unit() -> Unit:
    raw = request.args.get("unit", "")
    if not raw:
        api_error(400, "bad_parameter", "unit is required (a unit code such as QN-DH)")
    code = raw.strip().upper()
    tree = accounts.unit_tree(get_session())
    unit = tree.by_code.get(code) if UNIT_CODE.match(code) else None
    if unit is None:
        api_error(404, "unknown_unit", f"no unit with code {raw[:40]!r}")
    if not _scope().allows(unit.id):
        db = get_session()
        accounts.record(
            db, "access_denied", actor=f"api:{_token().name}", target=unit.code, path=request.path
        )
        db.commit()
        api_error(403, "forbidden", f"this token may not read unit {unit.code}")
    return unit


def _period() -> periods.Period:
    raw = request.args.get("period", "")
    if not raw:
        return periods.current_year(current_app.config["TIME_ZONE"])
    try:
        return periods.parse_label(raw)
    except periods.PeriodError as error:
        api_error(400, "bad_parameter", str(error))


def _view() -> str:
    chosen = request.args.get("view", "") or "today"
    if chosen not in unit_history.VIEWS:
        api_error(400, "bad_parameter", f"view must be one of {', '.join(unit_history.VIEWS)}")
    return chosen


def _questionnaire() -> str:
    chosen = request.args.get("q", "") or current_app.config["DEFAULT_QUESTIONNAIRE"]
    if chosen not in questionnaires.available():
        api_error(
            400,
            "bad_parameter",
            f"q must be one of {', '.join(sorted(questionnaires.available()))}",
        )
    return chosen


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, "")
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18 or not low <= int(raw) <= high:
        api_error(400, "bad_parameter", f"{name} must be a whole number from {low} to {high}")
    return int(raw)


#: Columns the OpenAPI document declares integer (or null): pandas holds them as floats when a
#: value is missing, and would write 0.0.
INTEGER_COLUMNS = ("n", "rank", "rank_change")


def _records(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    present = [c for c in columns if c in frame.columns]
    chosen = frame[present].astype({c: "Int64" for c in INTEGER_COLUMNS if c in present})
    out: list[dict[str, Any]] = json.loads(chosen.to_json(orient="records"))
    for row in out:
        for column in columns:
            row.setdefault(column, None)
    return out


def _scorecard() -> scorecards.Scorecard:
    unit, period, qid = _unit(), _period(), _questionnaire()
    try:
        # The same settings as the dashboard's, so both show the same numbers.
        return scorecards.unit_scorecard(
            get_session(),
            accounts.unit_tree(get_session()),
            unit,
            period,
            questionnaires.get(qid),
            scorecards.ScorecardSettings.from_config(current_app.config),
            _view(),
        )
    except analysis.AnalysisError as error:
        api_error(422, "cannot_score", str(error)[:300])


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document.document(current_app.config["API_MAX_PAGE_SIZE"]))


@bp.get("/units")
def units() -> ResponseReturnValue:
    tree = accounts.unit_tree(get_session())
    scope = _scope()
    rows = [
        {
            "code": u.code,
            "name": u.name,
            "kind": u.kind,
            "parent_code": tree.units[u.parent_id].code if u.parent_id in tree.units else None,
            "active": u.active,
            "valid_from": u.valid_from.isoformat() if u.valid_from else None,
            "valid_to": u.valid_to.isoformat() if u.valid_to else None,
        }
        for u in tree.units.values()
        if scope.allows(u.id)
    ]
    return jsonify(units=sorted(rows, key=lambda r: r["code"]))


@bp.get("/scores")
def scores() -> ResponseReturnValue:
    card = _scorecard()
    return jsonify(
        unit_code=card.unit.code,
        period=card.period.label,
        questionnaire=card.questionnaire.key,
        min_n=card.min_n,
        view=card.view,
        includes=[u.code for u in (*card.rolled_in.units, *card.rolled_in.service_points)],
        scores=_records(card.table, SCORE_COLUMNS),
    )


@bp.get("/targets")
def targets() -> ResponseReturnValue:
    card = _scorecard()
    table = card.table[card.table["target"].notna()] if "target" in card.table else card.table[:0]
    return jsonify(
        unit_code=card.unit.code,
        period=card.period.label,
        questionnaire=card.questionnaire.key,
        targets=_records(table, TARGET_COLUMNS),
    )


@bp.get("/responses")
def responses() -> ResponseReturnValue:
    unit = _unit()
    page = _int("page", 1, 1, 1_000_000)
    size = _int("page_size", 100, 1, current_app.config["API_MAX_PAGE_SIZE"])
    db = get_session()
    # Responses keep the unit they were given at; today's view adds the merged units' rows.
    ids = set(unit_history.unit_ids_for(accounts.unit_tree(db), unit.id, _view()))
    start = end = None
    label = None
    if request.args.get("period"):
        period = _period()
        start, end = period.utc_bounds(current_app.config["TIME_ZONE"])
        label = period.label
    total, rows = wide_export.responses_page(
        db, unit_ids=ids, start=start, end=end, page=page, size=size
    )
    return jsonify(
        unit_code=unit.code,
        period=label,
        page=page,
        page_size=size,
        total=total,
        responses=rows,
    )
