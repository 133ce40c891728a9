"""The OpenAPI 3 document of /api/v1, written by hand so it says exactly what the API does
(tests check every endpoint against it with schemathesis)."""

from __future__ import annotations

from typing import Any

import analysis
import questionnaires
from analysis import LEVELS, OPTIONAL_COLUMNS, SYSTEM_COLUMNS, TIDY_COLUMNS

from . import openapi_onestop

UNIT_PATTERN = "^[A-Z0-9][A-Z0-9-]{0,31}$"
#: Years 2000–2100 as periods.parse accepts them; a month 01–12, a quarter Q1–Q4.
PERIOD_PATTERN = "^(20[0-9]{2}|2100)(-Q[1-4]|-(0[1-9]|1[0-2]))?$"


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "nullable": True, **extra}


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


ERRORS = {
    "400": _error_response("A parameter is missing, unknown or not valid."),
    "401": _error_response("No API token, or an unknown or revoked one."),
    "403": _error_response("The token's scope does not include this unit."),
    "404": _error_response("No unit with this code."),
}


def _parameter(
    name: str, schema: dict[str, Any], description: str, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


#: The /scores rows: the unit and period, then the tidy scores table of SIPAS.md §7 as
#: analysis/ defines it (its columns, then the optional ones).
SCORE_COLUMNS = ("unit_code", "period", *TIDY_COLUMNS, *OPTIONAL_COLUMNS)
#: The /targets rows: analysis' targets table by unit and period (without ``met``, which the
#: gap already says).
TARGET_COLUMNS = ("unit_code", "period", *(c for c in analysis.TARGET_COLUMNS if c != "met"))

#: The JSON type of each score column; a column analysis/ adds without one here fails at import.
SCORE_COLUMN_SCHEMAS: dict[str, dict[str, Any]] = {
    "unit_code": {"type": "string"},
    "period": {"type": "string"},
    "level": {"type": "string", "enum": list(LEVELS)},
    "code": {"type": "string"},
    "label_vi": {"type": "string"},
    "n": _nullable("integer", minimum=0),
    "index": _nullable("number", minimum=0, maximum=100),
    "ci_low": _nullable("number", minimum=0, maximum=100),
    "ci_high": _nullable("number", minimum=0, maximum=100),
    "min_n_flag": _nullable("boolean"),
    "target": _nullable("number", minimum=0, maximum=100),
    "gap": _nullable("number"),
    "rank": _nullable("integer", minimum=1),
    "rank_change": _nullable("integer"),
    "p_change": _nullable("number", minimum=0, maximum=1),
}

#: The JSON type of each /responses column: the wide format's system columns, then answers.
RESPONSE_COLUMN_SCHEMAS: dict[str, dict[str, Any]] = {
    "response_id": {"type": "integer"},
    "submitted_at": {"type": "string", "format": "date-time"},
    "unit_code": {"type": "string"},
    "desk_code": {"type": "string"},
    "service_code": _nullable("string"),
    "channel": {"type": "string", "enum": ["qr", "kiosk", "web", "paper"]},
    "questionnaire": {"type": "string"},
    "questionnaire_version": {"type": "integer"},
    "valid": {
        "type": "boolean",
        "description": "False when invalid by the rule or excluded by an officer.",
    },
    "flags": {"type": "string", "description": "Integrity flags, ';'-separated."},
    "weight": _nullable("number"),
    "answers": {
        "type": "object",
        "additionalProperties": {"type": "integer"},
        "description": "Item code → answer code (0 = cannot judge).",
    },
    "comment": _nullable("string"),
}


def _row(columns: tuple[str, ...], schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The object schema of a row with these columns, all required, in this order."""
    return {
        "type": "object",
        "required": list(columns),
        "properties": {column: schemas[column] for column in columns},
    }


def document(max_page_size: int) -> dict[str, Any]:
    unit = _parameter(
        "unit",
        {"type": "string", "pattern": UNIT_PATTERN},
        "A unit code in the token's scope, e.g. QN-DH.",
        required=True,
    )
    period = _parameter(
        "period",
        {"type": "string", "pattern": PERIOD_PATTERN},
        "A year (2026), a quarter (2026-Q2) or a month (2026-05), in local dates "
        "(Asia/Ho_Chi_Minh). Default: the current year.",
    )
    questionnaire = _parameter(
        "q",
        {"type": "string", "enum": sorted(questionnaires.available())},
        "The questionnaire scored (default sipas-service).",
    )
    score_row = _row(SCORE_COLUMNS, SCORE_COLUMN_SCHEMAS)
    # A target row always has its target.
    target_row = _row(
        TARGET_COLUMNS,
        SCORE_COLUMN_SCHEMAS | {"target": {"type": "number", "minimum": 0, "maximum": 100}},
    )
    response_row = _row((*SYSTEM_COLUMNS, "answers", "comment"), RESPONSE_COLUMN_SCHEMAS)
    view = _parameter(
        "view",
        {"type": "string", "enum": ["today", "as_it_was"]},
        "today (default): today's units, each with the units merged into it, so a trend "
        "crosses a merger; as_it_was: each stored unit alone, as it was then.",
    )
    scored_query = [unit, period, questionnaire, view]

    def ok(schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {
            "200": {
                "description": description,
                "content": {"application/json": {"schema": schema}},
            },
            **ERRORS,
        }

    return {
        "openapi": "3.0.3",
        "info": {
            "title": "SIPAS index-plan feed",
            "version": "1.0.0",
            "description": (
                "Citizen satisfaction scores (SIPAS method, desk exit surveys) by unit and "
                "period, targets and gaps, and raw anonymous responses. Every number comes from "
                "the analysis library; a token sees only the units in its scope."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "description": (
                        "The one JSON error shape of the app (API and kiosk): a stable code, "
                        "a message for the person reading logs, the HTTP status."
                    ),
                    "type": "object",
                    "required": ["error", "message", "status"],
                    "properties": {
                        "error": {"type": "string"},
                        "message": {"type": "string"},
                        "status": {"type": "integer"},
                    },
                },
                "ScoreRow": score_row,
                "TargetRow": target_row,
                "ResponseRow": response_row,
                **openapi_onestop.schemas(),
            },
        },
        "paths": {
            **openapi_onestop.paths(unit, period),
            "/units": {
                "get": {
                    "operationId": "listUnits",
                    "summary": "The units in the token's scope.",
                    "responses": ok(
                        {
                            "type": "object",
                            "required": ["units"],
                            "properties": {
                                "units": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": [
                                            "code",
                                            "name",
                                            "kind",
                                            "parent_code",
                                            "active",
                                        ],
                                        "properties": {
                                            "code": {"type": "string"},
                                            "name": {"type": "string"},
                                            "kind": {"type": "string"},
                                            "parent_code": _nullable("string"),
                                            "active": {"type": "boolean"},
                                            "valid_from": _nullable("string", format="date"),
                                            "valid_to": _nullable("string", format="date"),
                                        },
                                    },
                                }
                            },
                        },
                        "The units.",
                    ),
                }
            },
            "/scores": {
                "get": {
                    "operationId": "getScores",
                    "summary": "Tidy scores (SIPAS.md §7) of a unit and every unit below it.",
                    "parameters": scored_query,
                    "responses": ok(
                        {
                            "type": "object",
                            "required": ["unit_code", "period", "questionnaire", "min_n", "scores"],
                            "properties": {
                                "unit_code": {"type": "string"},
                                "period": {"type": "string"},
                                "questionnaire": {"type": "string"},
                                "min_n": {"type": "integer"},
                                "view": {"type": "string", "enum": ["today", "as_it_was"]},
                                "includes": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                    "description": "Codes of the merged units whose responses "
                                    "are counted for the unit (today's view).",
                                },
                                "scores": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/ScoreRow"},
                                },
                            },
                        },
                        "One row per unit × index, with target, gap, rank and change.",
                    )
                    | {"422": _error_response("The stored responses cannot be scored.")},
                }
            },
            "/targets": {
                "get": {
                    "operationId": "getTargets",
                    "summary": "Targets of the index plan with the actual index and the gap.",
                    "parameters": scored_query,
                    "responses": ok(
                        {
                            "type": "object",
                            "required": ["unit_code", "period", "questionnaire", "targets"],
                            "properties": {
                                "unit_code": {"type": "string"},
                                "period": {"type": "string"},
                                "questionnaire": {"type": "string"},
                                "targets": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/TargetRow"},
                                },
                            },
                        },
                        "Targets and gaps.",
                    )
                    | {"422": _error_response("The stored responses cannot be scored.")},
                }
            },
            "/responses": {
                "get": {
                    "operationId": "listResponses",
                    "summary": "Raw anonymous responses of a unit and below it, oldest first.",
                    "parameters": [
                        unit,
                        _parameter(
                            "period",
                            period["schema"],
                            "Only responses in this period (default: all).",
                        ),
                        view,
                        _parameter(
                            "page",
                            {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
                            "Page number.",
                        ),
                        _parameter(
                            "page_size",
                            {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": max_page_size,
                                "default": 100,
                            },
                            "Responses per page.",
                        ),
                    ],
                    "responses": ok(
                        {
                            "type": "object",
                            "required": [
                                "unit_code",
                                "period",
                                "page",
                                "page_size",
                                "total",
                                "responses",
                            ],
                            "properties": {
                                "unit_code": {"type": "string"},
                                "period": _nullable("string"),
                                "page": {"type": "integer"},
                                "page_size": {"type": "integer"},
                                "total": {"type": "integer"},
                                "responses": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/ResponseRow"},
                                },
                            },
                        },
                        "A page of responses.",
                    ),
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document.",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
    }
