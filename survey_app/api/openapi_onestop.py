"""The one-stop system's part of the OpenAPI document: invitations, dossier events, Decision
766 group 5 (merged into openapi.document)."""

from __future__ import annotations

from typing import Any

from analysis import decision766 as d766

from ..services.invitation_requests import CHANNELS
from ..services.onestop_events import EVENT_TYPES, RULES

TIME = {"type": "string", "format": "date-time", "description": "ISO 8601 with its offset."}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _refused(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Refused"}}},
    }


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": (
        "Your key for this request: sent again with the same body, the first answer is "
        "replayed (header Idempotent-Replayed: true) and nothing is done twice; with another "
        "body, 422 idempotency_key_reused. Required when an item asks to send a message."
    ),
}

WRITE_ERRORS = {
    "400": _error("The body is not JSON of the documented shape, or too many items."),
    "401": _error("No API token, or an unknown or revoked one."),
    "403": _error("The token lacks the write scope."),
    "413": _error("The body is larger than ONESTOP_MAX_BYTES."),
    "415": _error("The body is not application/json."),
}


def schemas() -> dict[str, Any]:
    nullable_number = {"type": "number", "nullable": True}
    return {
        "Refused": {
            "description": (
                "The Error shape with every refused item: nothing was stored (all-or-nothing)."
            ),
            "type": "object",
            "required": ["error", "message", "status", "problems", "problems_total"],
            "properties": {
                "error": {"type": "string"},
                "message": {"type": "string"},
                "status": {"type": "integer"},
                "problems_total": {"type": "integer"},
                "problems": {
                    "type": "array",
                    "maxItems": 100,
                    "items": {
                        "type": "object",
                        "required": ["index", "key", "record", "rule", "message"],
                        "properties": {
                            "index": {"type": "integer", "description": "Place in the request."},
                            "key": {"type": "string", "nullable": True},
                            "record": {"type": "string", "nullable": True},
                            "rule": {
                                "type": "string",
                                "enum": [*RULES, "expired", "consent_required"],
                            },
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        },
        "InvitationRequest": {
            "type": "object",
            "required": ["dossier", "desk", "returned_at"],
            "additionalProperties": False,
            "properties": {
                "dossier": {"type": "string", "minLength": 1, "maxLength": 64},
                "desk": {"type": "string", "minLength": 1, "maxLength": 16},
                "procedure": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,32}$"},
                "returned_at": TIME,
                "key": {"type": "string", "maxLength": 100, "description": "Echoed back."},
                "send": {
                    "type": "object",
                    "required": ["channel", "phone", "consent"],
                    "additionalProperties": False,
                    "description": (
                        "Send the link by SMS or Zalo ZNS with the template fixed by the "
                        "settings; the phone is used once and never stored."
                    ),
                    "properties": {
                        "channel": {"type": "string", "enum": list(CHANNELS)},
                        "phone": {"type": "string"},
                        "consent": {
                            "type": "boolean",
                            "enum": [True],
                            "description": "The citizen agreed (explicit; never a default).",
                        },
                    },
                },
            },
        },
        "Invitation": {
            "type": "object",
            "required": ["index", "key", "desk", "link", "expires_on", "qr_svg", "qr_png"],
            "properties": {
                "index": {"type": "integer"},
                "key": {"type": "string", "nullable": True},
                "desk": {"type": "string"},
                "link": {"type": "string", "format": "uri"},
                "expires_on": {"type": "string", "format": "date"},
                "qr_svg": {"type": "string", "format": "uri"},
                "qr_png": {"type": "string", "format": "uri"},
                "qr": {"type": "string", "description": "With ?qr=svg (SVG) or png (base64)."},
                "sent": {
                    "type": "object",
                    "properties": {
                        "channel": {"type": "string"},
                        "ok": {"type": "boolean"},
                        "provider_id": {"type": "string", "nullable": True},
                        "error": {"type": "string", "nullable": True},
                    },
                },
            },
        },
        "DossierEvent": {
            "type": "object",
            "required": ["key", "type", "at"],
            "additionalProperties": False,
            "description": (
                "received: dossier, desk, procedure?, due_at?; due: dossier, due_at; returned, "
                "overdue: dossier; rated: dossier, rating; petition: petition, desk, dossier?, "
                "due_at?, repeated?; petition_handled: petition; petition_rated: petition, "
                "rating. Numbers are kept only as keyed digests."
            ),
            "properties": {
                "key": {"type": "string", "minLength": 1, "maxLength": 100},
                "type": {"type": "string", "enum": list(EVENT_TYPES)},
                "at": TIME,
                "dossier": {"type": "string", "minLength": 1, "maxLength": 64},
                "petition": {"type": "string", "minLength": 1, "maxLength": 64},
                "desk": {"type": "string", "minLength": 1, "maxLength": 16},
                "procedure": {"type": "string", "maxLength": 32},
                "due_at": TIME,
                "rating": {"type": "string", "enum": ["satisfied", "not_satisfied"]},
                "repeated": {"type": "boolean"},
            },
        },
        "Group5Row": {
            "type": "object",
            "required": [
                "unit_code",
                "unit_name",
                "level",
                *d766.COUNT_COLUMNS,
                *d766.SCORE_COLUMNS,
                "rank",
                "target",
                "gap",
            ],
            "properties": {
                "unit_code": {"type": "string"},
                "unit_name": {"type": "string"},
                "level": {"type": "string", "enum": ["unit", "commune"]},
                **{c: {"type": "integer", "minimum": 0} for c in d766.COUNT_COLUMNS},
                **{
                    c: {"type": "number", "minimum": 0, "maximum": 100, "nullable": True}
                    for c in d766.SCORE_COLUMNS
                    if c.startswith("rate")
                },
                **{
                    c: {"type": "number", "minimum": 0}
                    for c in d766.SCORE_COLUMNS
                    if c.startswith("points")
                },
                "rank": {"type": "integer", "minimum": 1, "nullable": True},
                "target": nullable_number,
                "gap": nullable_number,
            },
        },
    }


def paths(unit: dict[str, Any], period: dict[str, Any]) -> dict[str, Any]:
    def ok(schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    def body(name: str, item: str, description: str) -> dict[str, Any]:
        return {
            "required": True,
            "description": description,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": [name],
                        "additionalProperties": False,
                        "properties": {
                            name: {
                                "type": "array",
                                "minItems": 1,
                                "items": {"$ref": f"#/components/schemas/{item}"},
                            }
                        },
                    }
                }
            },
        }

    return {
        "/invitations": {
            "post": {
                "operationId": "createInvitations",
                "summary": "Invitation links (and QR codes) for dossiers; optionally sent.",
                "description": (
                    "Needs the scope invitations:write; desks in the token's units. All or "
                    "nothing: one bad item refuses the request (422, every problem listed). "
                    "Idempotent: the same dossier always gets the same link (nothing stored)."
                ),
                "parameters": [
                    IDEMPOTENCY_KEY,
                    {
                        "name": "qr",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["svg", "png"]},
                        "description": "Also put each QR image in the answer (≤ 100 items).",
                    },
                ],
                "requestBody": body("dossiers", "InvitationRequest", "The dossiers."),
                "responses": {
                    "200": ok(
                        {
                            "type": "object",
                            "required": ["invitations"],
                            "properties": {
                                "invitations": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Invitation"},
                                }
                            },
                        },
                        "One invitation per dossier, in the order sent.",
                    ),
                    **WRITE_ERRORS,
                    "422": _refused("An item breaks a rule (none made), or a reused key."),
                },
            }
        },
        "/invitations/{token}/qr.{fmt}": {
            "get": {
                "operationId": "invitationQr",
                "summary": "The QR image of an invitation link.",
                "parameters": [
                    {
                        "name": "token",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "maxLength": 1000},
                    },
                    {
                        "name": "fmt",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": ["svg", "png"]},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "The image.",
                        "content": {
                            "image/svg+xml": {"schema": {"type": "string"}},
                            "image/png": {"schema": {"type": "string", "format": "binary"}},
                        },
                    },
                    "401": _error("No API token, or an unknown or revoked one."),
                    "404": _error("Not an invitation."),
                    "410": _error("The invitation has expired."),
                },
            }
        },
        "/dossiers": {
            "post": {
                "operationId": "postDossierEvents",
                "summary": "Dossier and petition events from the one-stop system.",
                "description": (
                    "Needs the scope dossiers:write; desks in the token's units. All or "
                    "nothing: events are checked against what is stored and the events before "
                    "them; one bad event refuses the request (422, every problem named with "
                    "its index, key, record and rule). An event whose key this token sent "
                    "before is not applied again (already_stored)."
                ),
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": body("events", "DossierEvent", "The events, oldest first."),
                "responses": {
                    "200": ok(
                        {
                            "type": "object",
                            "required": [
                                "received",
                                "stored",
                                "already_stored",
                                "already_stored_keys",
                            ],
                            "properties": {
                                "received": {"type": "integer"},
                                "stored": {"type": "integer"},
                                "already_stored": {"type": "integer"},
                                "already_stored_keys": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                },
                            },
                        },
                        "Stored (all of them, or those not stored before).",
                    ),
                    **WRITE_ERRORS,
                    "422": _refused("An event breaks a rule (none stored), or a reused key."),
                },
            }
        },
        "/decision766": {
            "get": {
                "operationId": "getDecision766",
                "summary": "Decision 766 group 5 (reference calculation) of a unit and its "
                "communes, ranked, with targets; and each desk's response rate.",
                "parameters": [unit, period],
                "responses": {
                    "200": ok(
                        {
                            "type": "object",
                            "required": [
                                "unit_code",
                                "period",
                                "reference_calculation",
                                "label",
                                "settings",
                                "rows",
                                "desks",
                            ],
                            "properties": {
                                "unit_code": {"type": "string"},
                                "period": {"type": "string"},
                                "reference_calculation": {"type": "boolean", "enum": [True]},
                                "label": {"type": "string"},
                                "settings": {"type": "object"},
                                "rows": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Group5Row"},
                                },
                                "desks": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": [
                                            "desk_code",
                                            "unit_code",
                                            "dossiers",
                                            "responses",
                                            "response_rate",
                                        ],
                                        "properties": {
                                            "desk_code": {"type": "string"},
                                            "unit_code": {"type": "string"},
                                            "dossiers": {"type": "integer"},
                                            "responses": {"type": "integer"},
                                            "response_rate": {
                                                "type": "number",
                                                "nullable": True,
                                                "description": "Responses per 100 dossiers.",
                                            },
                                        },
                                    },
                                },
                            },
                        },
                        "Rows: the unit (pooled), then each commune under it.",
                    ),
                    "400": _error("A parameter is missing, unknown or not valid."),
                    "401": _error("No API token, or an unknown or revoked one."),
                    "403": _error("The token's scope does not include this unit."),
                    "404": _error("No unit with this code."),
                },
            }
        },
    }
