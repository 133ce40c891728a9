"""Endpoints of /api/v1 for the province's one-stop system: invitations for dossiers (with
their QR codes, optionally sent by SMS or Zalo ZNS), dossier events, and Decision 766 group 5.

Writes need a token with the write scope (``invitations:write``, ``dossiers:write``), only
for desks in the token's units. Every write is idempotent (docs in openapi.py and README
"One-stop system"); a bulk request is all-or-nothing."""

from __future__ import annotations

import base64
import json
from typing import Any, NoReturn

from flask import current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError

from ..citizen.routes import public_survey_url
from ..db import get_session
from ..errors import JsonError
from ..models import Unit
from ..services import (
    accounts,
    decision766,
    idempotency,
    invitation_requests,
    invitation_sender,
    invitations,
    onestop_events,
    periods,
    qr,
)
from . import bp
from .routes import KNOWN_PARAMETERS, _period, _scope, _token, _unit, api_error

KNOWN_PARAMETERS.update(
    {
        "api.create_invitations": {"qr"},
        "api.invitation_qr": set(),
        "api.post_dossier_events": set(),
        "api.decision766_board": {"unit", "period"},
    }
)
IDEMPOTENCY_HEADER = "Idempotency-Key"


def _require_scope(scope: str) -> None:
    if not _token().has_scope(scope):
        api_error(403, "forbidden", f"this token may not write: it lacks the scope {scope}")


def _allowed_units() -> set[int] | None:
    ids = _scope().unit_ids
    return None if ids is None else set(ids)


def _items(name: str) -> tuple[bytes, list[Any]]:
    """The raw body and its list ``name`` (bounded by ONESTOP_MAX_BYTES and _ITEMS)."""
    request.max_content_length = current_app.config["ONESTOP_MAX_BYTES"]
    if not request.is_json:
        api_error(415, "unsupported_media_type", "send JSON (Content-Type: application/json)")
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        api_error(400, "bad_json", "the body is not valid JSON")
    if not isinstance(body, dict) or set(body) != {name} or not isinstance(body[name], list):
        api_error(400, "bad_body", f'the body must be {{"{name}": [ … ]}}')
    items: list[Any] = body[name]
    limit = current_app.config["ONESTOP_MAX_ITEMS"]
    if not 1 <= len(items) <= limit:
        api_error(400, "bad_body", f"{name} must hold 1 to {limit} items, not {len(items)}")
    return raw, items


def _idempotency_key(required: bool) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:
        if required:
            api_error(
                400,
                "idempotency_key_required",
                f"sending messages needs an {IDEMPOTENCY_HEADER} header, so a retry never "
                "sends twice",
            )
        return None
    if len(key) > idempotency.MAX_KEY_LENGTH or not key.isprintable():
        api_error(400, "bad_parameter", f"{IDEMPOTENCY_HEADER} must be 1–200 printable characters")
    return key


def _replayed(key: str | None, raw: bytes) -> ResponseReturnValue | None:
    if key is None:
        return None
    try:
        stored = idempotency.replay(get_session(), _token().id, key, request.path, raw)
    except idempotency.KeyReused:
        api_error(
            422,
            "idempotency_key_reused",
            f"{IDEMPOTENCY_HEADER} {key!r} was used before for another request",
        )
    if stored is None:
        return None
    return current_app.response_class(
        stored.body,
        status=stored.status,
        mimetype="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


def _answer(key: str | None, raw: bytes, payload: dict[str, Any]) -> ResponseReturnValue:
    """Commit the request's writes with its answer (kept for replay when a key was sent)."""
    text = json.dumps(payload, ensure_ascii=False)
    db = get_session()
    if key is not None:
        idempotency.remember(db, _token().id, key, request.path, raw, 200, text)
    db.commit()
    return current_app.response_class(text, status=200, mimetype="application/json")


def _refused(
    error: onestop_events.EventsRefused | invitation_requests.InvitationsRefused, code: str
) -> NoReturn:
    """422 naming every refused item (the first 100) and the rule it breaks."""
    get_session().rollback()
    raise JsonError(
        422,
        code,
        str(error),
        problems=[p.as_dict() for p in error.problems],
        problems_total=error.total,
    )


# -- invitations ------------------------------------------------------------------------------


@bp.post("/invitations")
def create_invitations() -> ResponseReturnValue:
    _require_scope("invitations:write")
    raw, items = _items("dossiers")
    inline = request.args.get("qr", "")
    if inline not in ("", "svg", "png"):
        api_error(400, "bad_parameter", "qr must be svg or png")
    if inline and len(items) > current_app.config["ONESTOP_INLINE_QR_MAX"]:
        api_error(
            400,
            "bad_parameter",
            f"inline QR images for at most {current_app.config['ONESTOP_INLINE_QR_MAX']} "
            "dossiers; fetch the others from their qr_svg/qr_png addresses",
        )
    sending = any(isinstance(i, dict) and i.get("send") is not None for i in items)
    key = _idempotency_key(required=sending)
    replay = _replayed(key, raw)
    if replay is not None:
        return replay
    config = current_app.config
    try:
        made = invitation_requests.issue(
            get_session(),
            items,
            secret=config["SECRET_KEY"],
            days=config["INVITATION_DAYS"],
            time_zone=config["TIME_ZONE"],
            allowed_unit_ids=_allowed_units(),
            send_channels=tuple(config["INVITATION_SEND_CHANNELS"]),
        )
    except invitation_requests.InvitationsRefused as error:
        _refused(error, "invalid_dossiers")
    try:
        sender = invitation_sender.from_settings(config) if sending else None
    except ValueError as error:
        current_app.logger.error("invitation sender misconfigured: %s", error)
        api_error(503, "unavailable", "sending is not configured on this server; ask without send")
    rows = []
    for item in made:
        link = public_survey_url(item.desk_code, item.token)
        row: dict[str, Any] = {
            "index": item.index,
            "key": item.key,
            "desk": item.desk_code,
            "link": link,
            "expires_on": item.expires_on.isoformat(),
            "qr_svg": url_for("api.invitation_qr", token=item.token, fmt="svg", _external=True),
            "qr_png": url_for("api.invitation_qr", token=item.token, fmt="png", _external=True),
        }
        if inline == "svg":
            row["qr"] = qr.qr_svg(link).decode()
        elif inline == "png":
            row["qr"] = base64.b64encode(qr.qr_png(link)).decode()
        if item.send is not None and sender is not None:
            sent = sender.send(
                invitation_sender.Message(
                    item.send.channel,
                    item.send.phone,
                    link,
                    item.desk_code,
                    item.expires_on.strftime("%d/%m/%Y"),
                )
            )
            row["sent"] = {"channel": item.send.channel, **sent.as_dict()}
        rows.append(row)
    accounts.record(
        get_session(),
        "api_invitations",
        actor=f"api:{_token().name}",
        target=str(len(rows)),
        sent=sum(1 for r in rows if r.get("sent", {}).get("ok")) or None,
    )
    return _answer(key, raw, {"invitations": rows})


@bp.get("/invitations/<token>/qr.<any(svg, png):fmt>")
def invitation_qr(token: str, fmt: str) -> ResponseReturnValue:
    try:
        invitation = invitations.verify(current_app.config["SECRET_KEY"], token)
    except invitations.InvitationError as error:
        if error.kind == "expired":
            api_error(410, "expired", "this invitation has expired")
        api_error(404, "not_found", "no such invitation")
    link = public_survey_url(invitation.desk_code, token)
    image = qr.qr_svg(link) if fmt == "svg" else qr.qr_png(link)
    return current_app.response_class(
        image, mimetype="image/svg+xml" if fmt == "svg" else "image/png"
    )


# -- dossier events -----------------------------------------------------------------------------


@bp.post("/dossiers")
def post_dossier_events() -> ResponseReturnValue:
    _require_scope("dossiers:write")
    raw, events = _items("events")
    key = _idempotency_key(required=False)
    replay = _replayed(key, raw)
    if replay is not None:
        return replay
    config = current_app.config
    db = get_session()
    try:
        outcome = onestop_events.apply(
            db,
            events,
            secret=config["ONESTOP_DIGEST_KEY"] or config["SECRET_KEY"],
            token_id=_token().id,
            allowed_unit_ids=_allowed_units(),
        )
        accounts.record(
            db,
            "api_dossier_events",
            actor=f"api:{_token().name}",
            target=str(outcome.stored),
            received=outcome.received,
        )
        return _answer(key, raw, outcome.as_dict())
    except onestop_events.EventsRefused as error:
        _refused(error, "invalid_events")
    except IntegrityError:
        # Another request stored the same events (or key) between our check and our write.
        db.rollback()
        api_error(
            409,
            "conflict",
            "another request is storing the same events; send this one again (nothing of it "
            "was stored)",
        )


# -- Decision 766 group 5 -----------------------------------------------------------------------


@bp.get("/decision766")
def decision766_board() -> ResponseReturnValue:
    unit: Unit = _unit()
    period: periods.Period = _period()
    config = current_app.config
    db = get_session()
    board = decision766.board(
        db,
        accounts.unit_tree(db),
        unit,
        period,
        time_zone=config["TIME_ZONE"],
        settings=decision766.settings_from(config),
    )
    return jsonify(board.as_json())
